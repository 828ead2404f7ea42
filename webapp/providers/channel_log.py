import json
import logging
import threading
from collections import deque

from webapp.extensions import db
from webapp.models import utcnow
from webapp.outage import is_outage

COLUMNS = ("provider", "send_id", "operation", "method", "url", "request_headers", "request_body", "status_code",
           "response_body", "duration_ms", "error", "created_at")
# One row per provider request, on the dispatcher's hot path: plain SQL spares building it through the ORM
# each time (tests/test_channel_log.py keeps it in step with the ChannelLog model).
INSERT = "INSERT INTO channel_log ({}) VALUES ({{params}})".format(", ".join(COLUMNS))


# Exchanges whose row could not be written while the database was unreachable, oldest first. The request
# they log already happened: failing it over its log would lose the provider's answer.
UNWRITTEN = deque(maxlen=10000)
_flush_lock = threading.Lock()
log = logging.getLogger(__name__)


def db_sink(exchange):
    """Write one redacted exchange as a ChannelLog row (the caller holds a DB connection); kept in memory and
    written with a later one when the database is unreachable."""
    values = _values(exchange)
    try:
        _insert(values)
    except Exception as exc:
        if not is_outage(exc):
            raise
        UNWRITTEN.append(values)
        return
    if UNWRITTEN and _flush_lock.acquire(blocking=False):
        try:
            _flush()
        finally:
            _flush_lock.release()


def _flush():
    while UNWRITTEN:
        kept = UNWRITTEN.popleft()
        try:
            _insert(kept)
        except Exception as exc:
            if is_outage(exc):
                UNWRITTEN.appendleft(kept)
                return
            log.warning("a channel log row kept over an outage could not be written: %s", exc)


def _insert(values):
    db.execute_sql(INSERT.format(params=", ".join([db.param] * len(COLUMNS))), values)


def _values(exchange):
    return (
        exchange.provider, exchange.send_id, exchange.operation, exchange.method, exchange.url,
        json.dumps(exchange.request_headers), exchange.request_body[:20000], exchange.status_code,
        exchange.response_body[:20000], exchange.duration_ms, exchange.error, utcnow(),
    )
