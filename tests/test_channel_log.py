from webapp.models import ChannelLog
from webapp.providers.base import Exchange
from webapp.providers.channel_log import COLUMNS, db_sink


def test_sink_columns_are_the_model_columns():
    assert set(COLUMNS) == {f.column_name for f in ChannelLog._meta.sorted_fields} - {"id"}


def test_sink_writes_a_row(ctx):
    db_sink(Exchange(provider="masking", operation="send", method="POST", url="http://x/send_post.php",
                     request_headers={"Content-Type": "form"}, request_body="hp=628", status_code=200,
                     response_body="123", duration_ms=4, send_id=7))
    row = ChannelLog.get()
    assert (row.provider, row.send_id, row.status_code, row.response_body) == ("masking", 7, 200, "123")
    assert row.created_at is not None and '"Content-Type"' in row.request_headers
