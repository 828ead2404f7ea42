"""Contacts: people, lists, do-not-contact numbers, CSV import and export."""
from flask import Blueprint

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.record_once
def _register_jobs(_state):
    from webapp.contacts.importer import fail_stale_jobs
    from webapp.scheduler import register_job

    register_job("contacts-stale-imports", lambda _app: fail_stale_jobs(), seconds=300)


from webapp.contacts import views  # noqa: E402,F401  (routes register on import)
