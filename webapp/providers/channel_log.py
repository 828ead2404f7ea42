import json

from webapp.extensions import db
from webapp.models import utcnow

COLUMNS = ("provider", "send_id", "operation", "method", "url", "request_headers", "request_body", "status_code",
           "response_body", "duration_ms", "error", "created_at")
# One row per provider request, on the dispatcher's hot path: plain SQL spares building it through the ORM
# each time (tests/test_channel_log.py keeps it in step with the ChannelLog model).
INSERT = "INSERT INTO channel_log ({}) VALUES ({{params}})".format(", ".join(COLUMNS))


def db_sink(exchange):
    """Write one redacted exchange as a ChannelLog row (the caller holds a DB connection)."""
    values = (
        exchange.provider, exchange.send_id, exchange.operation, exchange.method, exchange.url,
        json.dumps(exchange.request_headers), exchange.request_body[:20000], exchange.status_code,
        exchange.response_body[:20000], exchange.duration_ms, exchange.error, utcnow(),
    )
    db.execute_sql(INSERT.format(params=", ".join([db.param] * len(COLUMNS))), values)
