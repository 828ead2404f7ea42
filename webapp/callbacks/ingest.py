"""Store raw, dedupe, apply. Handlers register per provider and turn a stored event into state changes.

The web side only stores: it reads at most CALLBACK_MAX_BYTES, checks the body can be read (bounded JSON,
the provider module's own parse, no database), and writes one row whose status is already known:
received (to apply), invalid (answered 400) or failed (a limit was hit). Applying touches sends, calls and
campaigns, so it runs in the worker (CALLBACK_APPLY=worker: apply_received every second) where a slow or
broken event delays nobody's HTTP answer; CALLBACK_APPLY=inline applies right after storing.

Event statuses: received > applied | orphan (reference not known yet; applied when it appears) | ignored |
invalid | failed (applying raised, or a parsing limit was hit; error says why; retried MAX_ATTEMPTS times).
"""
import base64
import hashlib
import json
import logging
import re
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, quote

from flask import current_app, jsonify, request
from peewee import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.extensions import db
from webapp.models import CallbackEvent, utcnow
from webapp.providers.base import CallbackInvalid, redact_json_values

log = logging.getLogger(__name__)

# provider -> handler(event, payload) returning the new status: applied | orphan | ignored.
# The handler raises CallbackInvalid (webapp.providers.base) for input it cannot use.
HANDLERS = {}
# provider -> check(kind, payload) raising CallbackInvalid; pure (no database), run by the web before storing.
CHECKS = {}
# Body fields never stored, even in the raw copy: CitCALL's `token` is the one-time code (the missed
# call's caller number, or the SMS OTP). The dedupe key is computed before they are removed.
SECRET_FIELDS = {"citcall": ("token", "token_verify")}
# Headers worth keeping with the raw body (never cookies or authorization).
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "Content-Length")
# No provider nests its callbacks more than three levels; far beyond that is an attack on the parser.
MAX_JSON_DEPTH = 32
# Tries of an event whose handler raised: a database hiccup or a bug since fixed gets a second chance.
MAX_ATTEMPTS = 3
APPLY_BATCH = 200
# Events applied per transaction by the job; few enough that SQLite's single writer is not held for long.
COMMIT_EVERY = 25
# The apply job runs every second: it stops taking events before the next run is due, so the scheduler never
# has to skip (and warn about) a run still going; the next run carries on where it stopped.
APPLY_BUDGET_SECONDS = 0.9
# Inline mode applies in the web; the worker only picks up what a web process stored and then died before applying.
INLINE_GRACE_SECONDS = 60
# Query strings keep printable ASCII as is; any other byte is percent-encoded (same meaning, storable text).
QUERY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


class ParseLimit(ValueError):
    """A body beyond what the parser accepts (depth): stored as failed, answered 400, never retried."""


def register(provider, handler, check=None):
    HANDLERS[provider] = handler
    if check is not None:
        CHECKS[provider] = check


def safe_text(text):
    """Text any database stores: NUL and lone surrogates (from a JSON \\u0000 or \\ud800) replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _safe_values(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): _safe_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_values(v) for v in value]
    return value


_ESCAPES = re.compile(rb"\\.", re.S)
_STRINGS = re.compile(rb'"[^"]*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(raw, limit=MAX_JSON_DEPTH):
    """True when brackets outside strings nest deeper than ``limit``. Linear: escapes go first, so a string is
    then simply quote to quote, and the scan stops at the first level too deep."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", _ESCAPES.sub(b"", raw))):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _first_values(pairs):
    values = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def parse_payload(method, query, content_type, raw):
    """The payload a handler receives, from the stored request (the web and the worker read it alike)."""
    if method == "GET":
        return _safe_values(_first_values(parse_qsl(query, keep_blank_values=True, errors="replace")))
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype == "application/json" or raw[:1] in (b"{", b"["):
        if json_depth_exceeds(raw):
            raise ParseLimit(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return _safe_values(json.loads((raw or b"null").decode("utf-8")))
        except UnicodeDecodeError:
            raise ValueError("body is not UTF-8 JSON") from None
        except ValueError:
            raise ValueError("body is not valid JSON") from None
    form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True) if raw else []
    return _safe_values(_first_values(form or parse_qsl(query, keep_blank_values=True, errors="replace")))


def encode_body(raw):
    """(text, encoding) storable in a TEXT column without loss: NUL bytes and invalid UTF-8 go as base64."""
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8"), "utf8"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), "base64"


def raw_body(event):
    if event.body_encoding == "base64":
        return base64.b64decode(event.body)
    return (event.body or "").encode("utf-8")


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
            _record(event, status, "")
        return status, ""
    except (CallbackInvalid, ValueError) as exc:
        status, error = "invalid", safe_text(str(exc))
    except Exception as exc:  # a handler bug must not lose the event, answer 5xx or stop the worker's job
        log.exception("callback %s could not be applied", event.id)
        status, error = "failed", safe_text(f"{type(exc).__name__}: {exc}")[:2000]
    try:
        with db.atomic():
            _record(event, status, error)
    except Exception as exc:
        # Something in the outcome the database refuses: record that alone, so this event cannot come back.
        log.exception("callback %s: outcome could not be recorded", event.id)
        status, error = "failed", f"outcome could not be recorded: {type(exc).__name__}"
        with db.atomic():
            _record(event, status, error, attempts=MAX_ATTEMPTS)
    return status, error


def _record(event, status, error, attempts=None):
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


def stored_payload(event):
    """Rebuild the payload of a stored event (the worker's apply, orphans applied later)."""
    try:
        content_type = json.loads(event.headers or "{}").get("Content-Type", "")
    except ValueError:
        content_type = ""
    return parse_payload(event.method, event.query or "", content_type, raw_body(event))


def _pending(condition):
    return (CallbackEvent.select().where(condition & CallbackEvent.provider.in_(list(HANDLERS)))
            .order_by(CallbackEvent.id).limit(APPLY_BATCH))


def apply_received(app=None, older_than_seconds=None, budget=APPLY_BUDGET_SECONDS):
    """The worker's job: stored callbacks in arrival order, each in isolation. Returns how many it took.

    In inline mode the web applies them itself; only those left behind for INLINE_GRACE_SECONDS are taken."""
    if older_than_seconds is None:
        inline = (app or current_app).config["CALLBACK_APPLY"] == "inline"
        older_than_seconds = INLINE_GRACE_SECONDS if inline else 0
    condition = CallbackEvent.status == "received"
    if older_than_seconds:
        condition &= CallbackEvent.received_at < utcnow() - timedelta(seconds=older_than_seconds)
    deadline = time.monotonic() + budget
    done, last_id = 0, 0
    while True:
        # Past the last id seen: an event a handler left "received" is not taken again in this run.
        batch = list(_pending(condition & (CallbackEvent.id > last_id)))
        for start in range(0, len(batch), COMMIT_EVERY):
            chunk = batch[start:start + COMMIT_EVERY]
            taken = _apply_chunk(chunk, deadline)
            done += taken
            last_id = chunk[taken - 1].id
            if time.monotonic() > deadline:
                return done
        if len(batch) < APPLY_BATCH:
            return done


def _apply_chunk(events, deadline):
    """Apply events in one transaction (a commit waits for the disk); returns how many were taken.

    Handlers almost never raise, so the chunk first goes without a savepoint per event. If one raises, the
    whole chunk is rolled back and done again with each event in its own savepoint (apply), where the one
    that raises ends failed and the others are applied."""
    taken = 0
    try:
        with db.atomic():
            for event in events:
                handler = HANDLERS[event.provider]
                try:
                    payload = stored_payload(event)
                except ValueError as exc:
                    _record(event, "invalid", safe_text(str(exc)))
                else:
                    _record(event, handler(event, payload), "")
                taken += 1
                if time.monotonic() > deadline:
                    break
        return taken
    except Exception:
        log.info("a callback in events %s..%s raised: applying them one by one", events[0].id, events[-1].id)
    taken = 0
    with db.atomic():
        for event in events:
            apply(event)
            taken += 1
            if time.monotonic() > deadline:
                break
    return taken


def replay_failed(app=None, older_than_seconds=60):
    """Apply again, each in isolation, the events a handler raised on fewer than MAX_ATTEMPTS times."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    retry = ((CallbackEvent.status == "failed") & (CallbackEvent.attempts < MAX_ATTEMPTS)
             & (CallbackEvent.received_at < cutoff))
    return sum(1 for event in list(_pending(retry)) if apply(event)[0] != "failed")
