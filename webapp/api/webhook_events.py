"""Where webhook events come from, without touching the areas that cause them.

Sends reaching a final state are many (a blast), so they are caught by the dispatcher's update hook, which
adds one delivery row only when an endpoint listens (the answer is cached for a few seconds, so a console
with no webhooks pays nothing per send). The rest are few and are collected by a worker job that scans the
rows changed since its last run (with an overlap, since a transaction may commit a little after the time it
wrote); the delivery's unique event key makes an event scanned twice a no-op.
"""
import logging
import time
from datetime import timedelta

from webapp.api import webhooks
from webapp.db import db
from webapp.dispatch import states
from webapp.models import (
    Call,
    Campaign,
    InboxMessage,
    OptOut,
    OtpRequest,
    WebhookEndpoint,
    WebhookScan,
    utcnow,
)

log = logging.getLogger(__name__)
SUBSCRIPTION_CACHE_SECONDS = 10
OVERLAP = timedelta(seconds=60)
# OTP codes and click-to-calls live minutes, not days: bounds the scans to their created_at index.
LIFETIME = timedelta(days=1)
CURSOR = "collector"
_cache = {}


def forget_subscriptions():
    _cache.clear()


def _listening(event):
    cached = _cache.get(event)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    listening = bool(webhooks.subscribers(event))
    _cache[event] = (time.monotonic() + SUBSCRIPTION_CACHE_SECONDS, listening)
    return listening


def on_send_update(send, _update):
    """The dispatcher's hook, for every send kind. A failure here is logged, never raised into the send's
    own processing: a webhook must not cost a send its state."""
    if send.state not in states.FINAL:
        return
    try:
        if _listening("send.final"):
            # A savepoint: the hook runs inside the send's own transaction, which a failed INSERT would
            # otherwise leave aborted on PostgreSQL, losing the send's state after all.
            with db.atomic():
                webhooks.record("send.final", f"send:{send.id}", send)
    except Exception:
        log.exception("send %s: its send.final webhook event was not recorded", send.id)


# --- the collector -------------------------------------------------------------------------------------------

def _campaigns(since):
    from webapp.api.v1_campaigns import campaign_json

    for c in Campaign.select().where((Campaign.status == "completed") & (Campaign.completed_at > since)):
        yield "campaign.finished", f"campaign-finished:{c.id}:{c.completed_at.isoformat()}", campaign_json(c)
    for c in Campaign.select().where((Campaign.status == "paused") & (Campaign.paused_at > since)):
        yield "campaign.paused", f"campaign-paused:{c.id}:{c.paused_at.isoformat()}", campaign_json(c)


def _calls(since):
    from webapp.api.v1_messaging import call_json

    # Ended for good: Airtel's CDR (status, recording) arrived, or the request itself failed.
    query = Call.select().where((Call.created_at > since - LIFETIME) & (Call.updated_at > since)
                               & Call.state.in_(["ended", "failed"]) & ((Call.status != "") | (Call.error_code != "")))
    for call in query:
        yield "call.ended", f"call:{call.id}", call_json(call)


def _otps(since):
    from webapp.api.v1_messaging import otp_json

    query = OtpRequest.select().where((OtpRequest.purpose == "contact") & (OtpRequest.created_at > since - LIFETIME)
                                      & (OtpRequest.verified_at > since))
    for otp in query:
        yield "otp.verified", f"otp:{otp.id}", otp_json(otp)


def _inbox(since):
    for m in InboxMessage.select().where((InboxMessage.fetched_at > since) & InboxMessage.understood):
        yield "sms.inbound", f"inbox:{m.id}", m


def _optouts(since):
    for o in OptOut.select().where(OptOut.created_at > since):
        yield "contact.opted_out", f"optout:{o.id}", o


SOURCES = {"campaign.finished": _campaigns, "campaign.paused": _campaigns, "call.ended": _calls,
           "otp.verified": _otps, "sms.inbound": _inbox, "contact.opted_out": _optouts}


def collect(now=None):
    """Record the events since the last run for the events someone listens to. Returns how many were seen
    (an event already recorded is seen again within the overlap, and ignored by the unique key)."""
    now = now or utcnow()
    cursor = WebhookScan.get_or_none(WebhookScan.source == CURSOR)
    since = (cursor.scanned_to if cursor else now) - OVERLAP
    listened = {e for endpoint in WebhookEndpoint.select().where(WebhookEndpoint.active)
                for e in endpoint.event_list}
    seen = 0
    for source in {SOURCES[e] for e in listened if e in SOURCES}:
        for event, key, data in source(since):
            if event in listened:
                seen += webhooks.record(event, key, data, now)
    (WebhookScan.insert(source=CURSOR, scanned_to=now)
     .on_conflict(conflict_target=[WebhookScan.source], update={WebhookScan.scanned_to: now}).execute())
    return seen


def init_app(app):
    from webapp.dispatch.registry import SENDERS, on_update
    from webapp.scheduler import register_job

    for kind in SENDERS:
        on_update(kind, on_send_update)
    register_job("webhooks-collect", lambda _app: collect(), seconds=5)
    register_job("webhooks-deliver", lambda _app: webhooks.deliver_due(), seconds=5)
