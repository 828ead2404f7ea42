"""Store raw, dedupe, apply. Handlers register per provider and turn a stored event into state changes."""
import hashlib
import json
import logging

from flask import jsonify, request
from peewee import IntegrityError

from webapp.extensions import db
from webapp.models import CallbackEvent, utcnow
from webapp.providers.base import CallbackInvalid, redact_json_values

log = logging.getLogger(__name__)

# provider -> handler(event, payload) returning the new status: applied | orphan | ignored | stale.
# The handler raises CallbackInvalid (webapp.providers.base) for input it cannot use.
HANDLERS = {}
# Body fields never stored, even in the raw copy: CitCALL's `token` is the one-time code (the missed
# call's caller number, or the SMS OTP). The dedupe key is computed before they are removed.
SECRET_FIELDS = {"citcall": ("token", "token_verify")}
# Headers worth keeping with the raw body (never cookies or authorization).
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "Content-Length")


def register(provider, handler):
    HANDLERS[provider] = handler


def _payload(provider):
    if request.method == "GET":
        return request.args.to_dict()
    if request.mimetype == "application/json" or request.get_data(cache=True)[:1] in (b"{", b"["):
        return json.loads(request.get_data(cache=True) or b"null")
    return request.form.to_dict() or request.args.to_dict()


def dedupe_key(provider, kind, method, query, body):
    digest = hashlib.sha256("\x1f".join((provider, kind, method, query, body)).encode()).hexdigest()
    return f"{provider}:{digest}"


def receive(provider, kind):
    body = request.get_data(cache=True, as_text=True)[:200_000]
    query = request.query_string.decode("latin-1")
    headers = json.dumps({h: request.headers[h] for h in KEPT_HEADERS if h in request.headers})
    key = dedupe_key(provider, kind, request.method, query, body)
    try:
        with db.atomic():
            event = CallbackEvent.create(
                provider=provider, kind=kind, dedupe_key=key, method=request.method, query=query,
                headers=headers, body=redact_json_values(body, SECRET_FIELDS.get(provider, ())),
                remote_addr=request.remote_addr or "",
            )
    except IntegrityError:
        # The same callback delivered again: already stored and applied once.
        return jsonify(status="duplicate"), 200
    try:
        payload = _payload(provider)
    except ValueError:
        _finish(event, "invalid", "body is not valid JSON")
        return jsonify(status="invalid", error="body is not valid JSON"), 400
    outcome, error = apply(event, payload)
    if outcome == "invalid":
        return jsonify(status="invalid", error=error), 400
    return jsonify(status=outcome), 200


def apply(event, payload):
    """Apply one stored event; returns (status, error). Safe to call again for orphans."""
    handler = HANDLERS.get(event.provider)
    if handler is None:
        return event.status, ""
    try:
        # The verdict is written in the handler's own transaction: an "orphan" committed apart from the lookup
        # that found no send could land just after the send's id was stored and its orphans were looked for.
        with db.atomic():
            status = handler(event, payload)
            _finish(event, status, "")
    except CallbackInvalid as exc:
        _finish(event, "invalid", str(exc))
        return "invalid", str(exc)
    except Exception:  # a handler bug must not lose the event or answer 5xx: it stays stored for replay
        log.exception("callback %s could not be applied", event.id)
        _finish(event, "received", "handler error; kept for replay")
        return "received", ""
    return status, ""


def _finish(event, status, error):
    event.status = status
    event.error = error
    if status == "applied":
        event.applied_at = utcnow()
    event.save()


def stored_payload(event):
    """Rebuild the payload of a stored event (for orphans applied later)."""
    if event.method == "GET":
        from urllib.parse import parse_qsl

        return dict(parse_qsl(event.query))
    try:
        return json.loads(event.body or "null")
    except ValueError:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(event.body))


REPLAY_BATCH = 200


def replay_received(app=None, older_than_seconds=60):
    """Apply again the callbacks a handler failed on (a bug since fixed, a database hiccup)."""
    from datetime import timedelta

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    stuck = (CallbackEvent.select()
             .where((CallbackEvent.status == "received") & (CallbackEvent.received_at < cutoff)
                    & CallbackEvent.provider.in_(list(HANDLERS)))
             .order_by(CallbackEvent.id).limit(REPLAY_BATCH))
    return sum(1 for event in stuck if apply(event, stored_payload(event))[0] != "received")
