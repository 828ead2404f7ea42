from datetime import timedelta

from flask import Blueprint
from peewee import fn

from webapp.dashboard import feed
from webapp.dispatch import states
from webapp.live import render_live
from webapp.models import Campaign, ProviderStatus, Send, utcnow

bp = Blueprint("dashboard", __name__)

FAST_POLL, SLOW_POLL = "3s", "30s"
KIND_LABELS = {"sms": "SMS", "ivr": "Robocalls", "c2c": "Click-to-call", "otp": "OTP"}


def live_status(now=None):
    """What the dashboard shows: the last 24 hours of sends by kind and state, running campaigns, callbacks."""
    since = (now or utcnow()) - timedelta(hours=24)
    counts = {}
    rows = (Send.select(Send.kind, Send.state, fn.COUNT(Send.id)).where(Send.created_at >= since)
            .group_by(Send.kind, Send.state).tuples())
    for kind, state, n in rows:
        family = KIND_LABELS.get(kind.split(".")[0], kind)
        counts.setdefault(family, dict.fromkeys(states.ALL, 0))[state] += n
    return {
        "counts": counts,
        "states": states.ALL,
        "campaigns": list(Campaign.select().where(Campaign.status.in_(["running", "scheduled", "paused"]))
                          .order_by(Campaign.id.desc()).limit(10)),
        "callbacks": feed.latest(),
        "provider_status": list(ProviderStatus.select()),
    }


@bp.route("/")
def index():
    from webapp.campaigns import service

    data = live_status()
    data["progress"] = {c.id: service.progress(c) for c in data["campaigns"]}
    # The dashboard is never final: callbacks, OTPs and calls arrive at any time, so it keeps polling; quickly
    # while a campaign sends (its progress moves every second), slowly otherwise (only the counts and the feed).
    sending = any(c.status in ("running", "scheduled") for c in data["campaigns"])
    return render_live("dashboard/index.html", "dashboard/_panels.html", True,
                       poll_every=FAST_POLL if sending else SLOW_POLL, **data)
