"""Operations pages: the audit trail, and the browsers of provider exchanges and raw callbacks."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("ops", __name__, url_prefix="/ops")


@bp.before_request
@login_required
def _signed_in():
    return None


def init_app(app):
    from webapp.ops.retention import purge_expired
    from webapp.scheduler import register_job

    register_job("purge-provider-log-and-callbacks", purge_expired, seconds=600)


from webapp.ops import views  # noqa: E402,F401  (routes register on import)
