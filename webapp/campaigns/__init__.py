"""SMS blasts and IVR campaigns: compose, launch, schedule, track."""
from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
inbox_bp = Blueprint("inbox", __name__, url_prefix="/inbox")


def init_app(app):
    from webapp.campaigns import service, sms
    from webapp.contacts.timeline import TIMELINE_SOURCES
    from webapp.dispatch.registry import register_claim_filter
    from webapp.scheduler import register_job

    register_claim_filter(service.claim_filter)
    register_job("campaign-tick", lambda _app: service.tick(), seconds=5)
    register_job("masking-reports", sms.poll_masking_reports, seconds=30)
    register_job("masking-balance", sms.poll_masking_balance, seconds=300)
    register_job("masking-balance-after-sends", sms.refresh_masking_balance, seconds=30)
    register_job("masking-inbox", sms.poll_masking_inbox, seconds=60)
    if sms.sms_timeline not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(sms.sms_timeline)


from webapp.campaigns import (  # noqa: E402,F401  (routes register on import)
    inbox_views,
    ivr_views,
    views,
)
