"""Outgoing webhooks: endpoints, signed deliveries, retries with backoff. Runs only in the worker.

Every event becomes a delivery row per subscribed endpoint (webapp.api.webhook_events); the worker's job
POSTs due rows and records each answer. Nothing here runs in a web request or in a send's path.

Signature (docs/api.md): the headers ``Webhook-Timestamp`` (Unix seconds) and ``Webhook-Signature``
(``v1=`` + hex HMAC-SHA256 with the endpoint's secret over ``<timestamp>.<raw body>``). Receivers recompute
it over the bytes they received and refuse timestamps more than a few minutes old (replays).
"""
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests

from webapp.api import schemas
from webapp.models import WebhookDelivery, WebhookEndpoint, utcnow

EVENTS = {
    "send.final": "A send (SMS, OTP, robocall, click-to-call) was delivered, failed or undeliverable",
    "campaign.finished": "A campaign has no send left to make",
    "campaign.paused": "A campaign was paused (by someone, or by the safety brake with its reason)",
    "call.ended": "A click-to-call ended, with its outcome and recording",
    "otp.verified": "A one-time code was verified",
    "sms.inbound": "An SMS arrived in the masking inbox",
    "contact.opted_out": "A number went on the do-not-contact list",
}
# The shape of each event's `data`: the same schemas as the API's answers, also in /api/openapi.json's webhooks.
EVENT_SCHEMAS = {
    "send.final": schemas.SendEvent,
    "campaign.finished": schemas.Campaign,
    "campaign.paused": schemas.Campaign,
    "call.ended": schemas.Call,
    "otp.verified": schemas.Otp,
    "sms.inbound": schemas.InboundSms,
    "contact.opted_out": schemas.OptOutEvent,
}
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# One run's batch; each POST may take up to TIMEOUT, and the next run picks up the rest.
BATCH = 20
TIMEOUT = (3, 10)
# Of each answer, what the deliveries page shows.
ANSWER_CHARS = 2000
USER_AGENT = "CampaignConsole-Webhooks/1"


class WebhookError(ValueError):
    """A refused endpoint, with a message for the page."""


def sign(secret, timestamp, body):
    """The Webhook-Signature value for ``body`` (bytes) sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def create_endpoint(url, events, user_id=None):
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise WebhookError("Enter an http:// or https:// URL (at most 500 characters).")
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen:
        raise WebhookError("Choose at least one event.")
    return WebhookEndpoint.create(url=url, events=",".join(chosen), secret=secrets.token_hex(32), created_by=user_id)


def subscribers(event):
    return [e for e in WebhookEndpoint.select().where(WebhookEndpoint.active) if event in e.event_list]


def record(event, key, data, now=None):
    """One delivery row per endpoint subscribed to ``event``; an event already recorded is not added again.
    Returns the number of subscribers."""
    now = now or utcnow()
    body = json.dumps({"event": event, "occurred_at": schemas.utc_iso(now),
                       "data": EVENT_SCHEMAS[event]().dump(data)})
    rows = [{"endpoint_id": e.id, "event": event, "event_key": key[:80], "payload": body, "created_at": now,
             "next_attempt_at": now, "state": "pending", "attempts": 0, "last_answer": ""}
            for e in subscribers(event)]
    if rows:
        WebhookDelivery.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def backoff(attempts):
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), MAX_RETRY)


def _claim(delivery, now):
    # Pushing next_attempt_at out first claims the row: a second runner's UPDATE matches nothing.
    return WebhookDelivery.update(next_attempt_at=now + MAX_RETRY).where(
        (WebhookDelivery.id == delivery.id) & (WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
        & (WebhookDelivery.state == "pending")).execute() == 1


def deliver(delivery, endpoint, now=None):
    """POST one delivery and record the answer; returns the new state."""
    now = now or utcnow()
    body = delivery.payload.encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Webhook-Id": str(delivery.id),
               "Webhook-Event": delivery.event, "Webhook-Timestamp": str(timestamp),
               "Webhook-Signature": sign(endpoint.secret, timestamp, body)}
    status, answer = None, ""
    try:
        response = requests.post(endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False)
        status, answer = response.status_code, response.text[:ANSWER_CHARS]
    except requests.RequestException as exc:
        answer = f"{type(exc).__name__}: {exc}"[:ANSWER_CHARS]
    attempts = delivery.attempts + 1
    if status is not None and 200 <= status < 300:
        state, fields = "delivered", {WebhookDelivery.delivered_at: utcnow()}
    elif attempts >= MAX_ATTEMPTS or not endpoint.active:
        state, fields = "failed", {}
    else:
        state, fields = "pending", {WebhookDelivery.next_attempt_at: now + backoff(attempts)}
    WebhookDelivery.update({WebhookDelivery.state: state, WebhookDelivery.attempts: attempts,
                            WebhookDelivery.last_status: status, WebhookDelivery.last_answer: answer, **fields}
                           ).where(WebhookDelivery.id == delivery.id).execute()
    return state


def deliver_due(now=None):
    """The worker's job: POST every due delivery (a batch per run). Returns how many were attempted."""
    now = now or utcnow()
    due = list(WebhookDelivery.select().where((WebhookDelivery.state == "pending")
                                              & (WebhookDelivery.next_attempt_at <= now))
               .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(BATCH))
    endpoints = {e.id: e for e in WebhookEndpoint.select().where(WebhookEndpoint.id.in_([d.endpoint_id for d in due]))}
    attempted = 0
    for delivery in due:
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None or not _claim(delivery, now):
            continue
        deliver(delivery, endpoint, now)
        attempted += 1
    return attempted


def retry_now(delivery_id):
    """An admin's "retry now": a failed or waiting delivery is due again, with its attempts counted afresh."""
    return WebhookDelivery.update(state="pending", attempts=0, next_attempt_at=utcnow()).where(
        (WebhookDelivery.id == delivery_id) & (WebhookDelivery.state != "delivered")).execute()
