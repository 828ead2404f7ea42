"""Contacts: people, lists, do-not-contact numbers, CSV import and export."""
from flask import Blueprint

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.record_once
def _register_jobs(_state):
    from webapp import long_jobs
    from webapp.contacts import import_run
    from webapp.contacts.importer import expire_abandoned
    from webapp.scheduler import register_job

    register_job("contacts-stale-imports", lambda _app: expire_abandoned(), seconds=300)
    long_jobs.register("contacts-import", import_run.run_next)


from webapp.contacts import views  # noqa: E402,F401  (routes register on import)
