"""Store raw, dedupe, apply. Handlers register per provider and turn a stored event into state changes.

The web side only stores: it reads at most CALLBACK_MAX_BYTES, checks the body can be read (bounded JSON,
the provider module's own parse, no database), and writes one row whose status is already known:
received (to apply), invalid (answered 400) or failed (a limit was hit). Applying touches sends, calls and
campaigns, so it runs in the worker (CALLBACK_APPLY=worker: webapp.callbacks.jobs) where a slow or
broken event delays nobody's HTTP answer; CALLBACK_APPLY=inline applies right after storing.

Event statuses: received > applied | orphan (reference not known yet; applied when it appears) | ignored |
invalid | failed (applying raised, or a parsing limit was hit; error says why; retried MAX_ATTEMPTS times).
"""
import hashlib
import json
import logging
import uuid
from urllib.parse import quote

from flask import current_app, jsonify, request
from peewee import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.callbacks.bodies import ParseLimit, encode_body, parse_payload, safe_text, stored_payload
from webapp.extensions import db
from webapp.models import CallbackEvent, utcnow
from webapp.providers.base import CallbackInvalid, redact_json_values

log = logging.getLogger(__name__)

# provider -> handler(event, payload) returning the new status: applied | orphan | ignored | stale.
# The handler raises CallbackInvalid (webapp.providers.base) for input it cannot use.
HANDLERS = {}
# provider -> check(kind, payload) raising CallbackInvalid; pure (no database), run by the web before storing.
CHECKS = {}
# Body fields never stored, even in the raw copy: CitCALL's `token` is the one-time code (the missed
# call's caller number, or the SMS OTP). The dedupe key is computed before they are removed.
SECRET_FIELDS = {"citcall": ("token", "token_verify")}
# Headers worth keeping with the raw body (never cookies or authorization).
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "Content-Length")
# Tries of an event whose handler raised: a database hiccup or a bug since fixed gets a second chance.
MAX_ATTEMPTS = 3
# Query strings keep printable ASCII as is; any other byte is percent-encoded (same meaning, storable text).
QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


def register(provider, handler, check=None):
    HANDLERS[provider] = handler
    if check is not None:
        CHECKS[provider] = check


def dedupe_key(provider, kind, method, query, body):
    head = "\x1f".join((provider, kind, method, query, "")).encode()
    digest = hashlib.sha256(head + (body if isinstance(body, bytes) else body.encode())).hexdigest()
    return f"{provider}:{digest}"


def _redacted(provider, raw):
    keys = SECRET_FIELDS.get(provider, ())
    if not keys or not raw:
        return raw
    # latin-1 maps each byte to one character and back: the ASCII-only pattern redacts any bytes losslessly.
    return redact_json_values(raw.decode("latin-1"), keys).encode("latin-1")


def _read_body(cap):
    """The body, or None when it is over ``cap`` bytes (never read past cap + 1)."""
    if request.content_length is not None and request.content_length > cap:
        return None
    try:
        raw = request.stream.read(cap + 1)
    except RequestEntityTooLarge:
        return None
    return None if len(raw) > cap else raw


# Columns the web writes (all but id and applied_at).
STORED_COLUMNS = ("provider", "kind", "dedupe_key", "reference", "method", "query", "headers", "body",
                  "body_encoding", "remote_addr", "status", "error", "attempts", "received_at")


def _store(**fields):
    """INSERT the event; None when its dedupe key is already there. Plain SQL, autocommitted: this is the whole
    cost of a callback in the web, and building the ORM's INSERT or wrapping it in BEGIN/COMMIT costs more than
    the statement itself. Inside a caller's transaction a savepoint keeps a duplicate from aborting it."""
    row = {"reference": "", "body": "", "body_encoding": "utf8", "error": "", "attempts": 0, **fields,
           "received_at": utcnow()}
    columns = ", ".join(f'"{name}"' for name in STORED_COLUMNS)
    sql = (f"INSERT INTO callback_event ({columns}) VALUES ({', '.join([db.param] * len(STORED_COLUMNS))}) "
           "RETURNING id")
    params = [row[name] for name in STORED_COLUMNS]
    try:
        if db.in_transaction():
            with db.atomic():
                event_id = db.execute_sql(sql, params).fetchone()[0]
        else:
            event_id = db.execute_sql(sql, params).fetchone()[0]
    except IntegrityError:
        # The same callback delivered again: already stored (and applied, or about to be) once. Anything else
        # refused is a bug that must not pass for a duplicate.
        if not CallbackEvent.select().where(CallbackEvent.dedupe_key == row["dedupe_key"]).exists():
            raise
        return None
    return CallbackEvent(id=event_id, **row)


def _checked(provider, kind, query, raw):
    """(status, error, attempts, payload) of a body read by the web: received, invalid or failed (a limit)."""
    try:
        payload = parse_payload(request.method, query, request.content_type or "", raw)
        check = CHECKS.get(provider)
        if check is not None:
            check(kind, payload)
    except ParseLimit as exc:
        return "failed", str(exc), MAX_ATTEMPTS, None
    except (CallbackInvalid, ValueError) as exc:
        return "invalid", safe_text(str(exc)), 0, None
    except Exception:  # a parser bug: stored for the worker, whose failure will say what it was
        log.exception("%s callback could not be checked", provider)
        return "received", "", 0, None
    return "received", "", 0, payload


def receive(provider, kind):
    config = current_app.config
    kind = safe_text(kind)
    query_bytes = request.query_string
    query = query_bytes.decode("latin-1")
    stored_query = query if query.isascii() and query.isprintable() else quote(query_bytes, safe=QUERY_SAFE)
    headers = json.dumps({h: request.headers[h] for h in KEPT_HEADERS if h in request.headers})
    common = {"provider": provider, "kind": kind, "method": request.method, "query": stored_query,
              "headers": headers, "remote_addr": safe_text(request.remote_addr or "")}
    cap = int(config["CALLBACK_MAX_BYTES"])
    raw = _read_body(cap)
    if raw is None:
        size = f"of {request.content_length} bytes " if request.content_length else ""
        error = f"body {size}over CALLBACK_MAX_BYTES ({cap}): not kept"
        _store(**common, dedupe_key=f"{provider}:too-large:{uuid.uuid4().hex}", status="failed", error=error,
               attempts=MAX_ATTEMPTS)
        return jsonify(status="too_large", error=error), 413
    status, error, attempts, payload = _checked(provider, kind, stored_query, raw)
    body, encoding = encode_body(_redacted(provider, raw))
    event = _store(**common, dedupe_key=dedupe_key(provider, kind, request.method, query, raw), body=body,
                   body_encoding=encoding, status=status, error=error, attempts=attempts)
    if event is None:
        return jsonify(status="duplicate"), 200
    if status != "received":
        return jsonify(status=status, error=error), 400
    if config["CALLBACK_APPLY"] != "inline":
        return jsonify(status="received"), 200
    outcome, error = apply(event, payload)
    if outcome == "invalid":
        return jsonify(status="invalid", error=error), 400
    return jsonify(status=outcome), 200


def apply(event, payload=None):
    """Apply one stored event in isolation; returns (status, error). Never raises for the event's content:
    whatever goes wrong marks this event failed, so the next one is applied all the same."""
    handler = HANDLERS.get(event.provider)
    if handler is None:
        return event.status, ""
    try:
        if payload is None:
            payload = stored_payload(event)
        # The outcome is recorded in the handler's own savepoint: one savepoint per event, and a refused
        # record undoes the handler's changes too.
        with db.atomic():
            status = handler(event, payload)
            record(event, status, "")
        return status, ""
    except (CallbackInvalid, ValueError) as exc:
        status, error = "invalid", safe_text(str(exc))
    except Exception as exc:  # a handler bug must not lose the event, answer 5xx or stop the worker's job
        log.exception("callback %s could not be applied", event.id)
        status, error = "failed", safe_text(f"{type(exc).__name__}: {exc}")[:2000]
    try:
        with db.atomic():
            record(event, status, error)
    except Exception as exc:
        # Something in the outcome the database refuses: record that alone, so this event cannot come back.
        log.exception("callback %s: outcome could not be recorded", event.id)
        status, error = "failed", f"outcome could not be recorded: {type(exc).__name__}"
        with db.atomic():
            record(event, status, error, attempts=MAX_ATTEMPTS)
    return status, error


def record(event, status, error, attempts=None):
    """UPDATE the event's outcome (plain SQL: once per callback on the worker's hot path)."""
    p = db.param
    values = {"status": status, "error": error, "reference": safe_text(str(event.reference or ""))[:128]}
    if status == "applied":
        values["applied_at"] = utcnow()
    assignments = [f'"{column}" = {p}' for column in values]
    if attempts is not None:
        assignments.append(f'"attempts" = {int(attempts)}')
    elif status == "failed":
        assignments.append('"attempts" = "attempts" + 1')
    db.execute_sql(f"UPDATE callback_event SET {', '.join(assignments)} WHERE id = {p}", (*values.values(), event.id))
    event.status, event.error = status, error
