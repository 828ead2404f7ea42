"""The sender of every send (see dispatcher.py) and its recovery job."""


def init_app(app):
    from webapp.callbacks.ingest import replay_received
    from webapp.dispatch.adoption import retry_orphans
    from webapp.dispatch.claim import expire_leases
    from webapp.scheduler import register_job

    register_job("expire-send-leases", lambda _app: expire_leases(), seconds=30)
    register_job("replay-callbacks", replay_received, seconds=60)
    register_job("adopt-unknown-sends", retry_orphans, seconds=60)
