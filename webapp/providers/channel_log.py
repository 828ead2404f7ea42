import json

from webapp.models import ChannelLog


def db_sink(exchange):
    """Write one redacted exchange as a ChannelLog row (the caller holds a DB connection)."""
    ChannelLog.create(
        provider=exchange.provider, send_id=exchange.send_id, operation=exchange.operation,
        method=exchange.method, url=exchange.url, request_headers=json.dumps(exchange.request_headers),
        request_body=exchange.request_body[:20000], status_code=exchange.status_code,
        response_body=exchange.response_body[:20000], duration_ms=exchange.duration_ms, error=exchange.error,
    )
