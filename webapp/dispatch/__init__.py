"""The sender of every send (see dispatcher.py), its recovery job, and the jobs applying stored callbacks."""


def init_app(app):
    from webapp.callbacks.jobs import apply_received, replay_failed
    from webapp.dispatch.adoption import retry_orphans
    from webapp.dispatch.claim import expire_leases
    from webapp.scheduler import register_job

    register_job("expire-send-leases", lambda _app: expire_leases(), seconds=30)
    register_job("apply-callbacks", apply_received, seconds=1)
    register_job("replay-callbacks", replay_failed, seconds=60)
    register_job("adopt-unknown-sends", retry_orphans, seconds=60)
