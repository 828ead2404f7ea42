from datetime import datetime

import pytest

from webapp.models import ChannelLog, Send
from webapp.ops import keyset, provider_log


def _exchange(**fields):
    values = {"provider": "masking", "operation": "send", "method": "GET", "url": "http://x/send.php",
              "status_code": 200, "response_body": "ok", **fields}
    return ChannelLog.create(**values)


def _found(**args):
    return [row.id for row in provider_log.exchanges(provider_log.LogFilters.from_args(args))
            .order_by(ChannelLog.id.desc())]


def test_filters_by_provider_operation_outcome_send_campaign_and_day(ctx):
    send = Send.create(kind="sms", provider="masking", to_number="+6281200000000", campaign_id=7)
    a = _exchange(send_id=send.id, created_at=datetime(2026, 3, 1, 10))
    b = _exchange(operation="report", status_code=500, created_at=datetime(2026, 3, 2, 10))
    c = _exchange(provider="citcall", status_code=None, error="connection failed: ConnectTimeout",
                  created_at=datetime(2026, 3, 3, 10))
    d = _exchange(provider="citcall", status_code=200, error="unparseable answer", created_at=datetime(2026, 3, 3))
    assert _found() == [d.id, c.id, b.id, a.id]
    assert _found(provider="citcall") == [d.id, c.id]
    assert _found(operation="report") == [b.id]
    assert _found(status="ok") == [a.id]
    assert _found(status="error") == [d.id, c.id, b.id]
    assert _found(send=str(send.id)) == [a.id]
    assert _found(campaign="7") == [a.id]
    assert _found(**{"from": "2026-03-02", "to": "2026-03-02"}) == [b.id]
    assert _found(status="bogus", send="-1", campaign="x") == _found()


def test_keyset_pages_continue_below_the_last_row(ctx):
    ids = [_exchange().id for _ in range(5)]
    rows, before = keyset.page(ChannelLog.select(), ChannelLog.id, {}, per_page=2)
    assert [r.id for r in rows] == [ids[4], ids[3]] and before == ids[3]
    rows, before = keyset.page(ChannelLog.select(), ChannelLog.id, {"before": str(before)}, per_page=2)
    assert [r.id for r in rows] == [ids[2], ids[1]]
    rows, before = keyset.page(ChannelLog.select(), ChannelLog.id, {"before": str(before)}, per_page=2)
    assert [r.id for r in rows] == [ids[0]] and before is None


def test_agents_may_not_browse_provider_exchanges(client, auth):
    auth.login("agent")
    assert client.get("/ops/provider-log").status_code == 403


def test_page_shows_request_and_response_of_each_exchange(app, client, auth):
    auth.login("supervisor")
    with app.app_context():
        row = _exchange(request_body="msg=Halo <b>", response_body="0|ok|12345", send_id=42)
    html = client.get("/ops/provider-log?provider=masking&status=ok").get_data(as_text=True)
    assert f'id="exchange-{row.id}"' in html
    assert "msg=Halo &lt;b&gt;" in html and "0|ok|12345" in html and "/ops/sends/42" in html


@pytest.mark.parametrize("query", ["before=99999999999999", "send=abc&campaign=0", "from=2026-13-45"])
def test_nonsense_filters_are_ignored_not_errors(client, auth, query):
    auth.login("admin")
    assert client.get(f"/ops/provider-log?{query}").status_code == 200
