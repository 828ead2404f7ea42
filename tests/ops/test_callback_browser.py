from datetime import datetime

import pytest

from webapp.callbacks import ingest
from webapp.models import AuditLog, CallbackEvent, Send
from webapp.ops import callback_browser

TOKEN = "test-callback-token"


def _event(**fields):
    values = {"provider": "masking", "kind": "dlr", "method": "GET", "status": "applied", **fields}
    values.setdefault("dedupe_key", f"k{CallbackEvent.select().count()}")
    return CallbackEvent.create(**values)


def _found(**args):
    return [e.id for e in callback_browser.events(callback_browser.CallbackFilters.from_args(args))
            .order_by(CallbackEvent.id.desc())]


def test_filters_by_provider_status_send_campaign_reference_and_day(ctx):
    send = Send.create(kind="sms", provider="masking", to_number="+6281200000000", campaign_id=3, provider_ref="77")
    Send.create(kind="sms", provider="masking", to_number="+6281200000001", campaign_id=3)
    a = _event(reference="77", received_at=datetime(2026, 3, 1, 9))
    b = _event(reference="78", status="orphan", received_at=datetime(2026, 3, 2, 9))
    c = _event(provider="citcall", reference="77", status="failed", error="boom", received_at=datetime(2026, 3, 3))
    assert _found() == [c.id, b.id, a.id]
    assert _found(provider="masking") == [b.id, a.id]
    assert _found(status="failed") == [c.id]
    assert _found(send=str(send.id)) == [a.id]
    assert _found(campaign="3") == [c.id, a.id]
    assert _found(reference="78") == [b.id]
    assert _found(**{"from": "2026-03-03"}) == [c.id]
    assert _found(send="999") == []
    assert _found(status="nonsense", send="x") == _found()
    assert callback_browser.sends_for([a, b, c]) == {("masking", "77"): send.id}


def _failed_callback(client):
    def broken(event, payload):
        raise RuntimeError("bug")

    original = ingest.HANDLERS["masking"]
    ingest.register("masking", broken)
    try:
        client.get(f"/callbacks/masking/{TOKEN}?session_id=1&error_code=22")
    finally:
        ingest.register("masking", original)
    return CallbackEvent.get()


def test_admin_replays_a_failed_callback_through_the_apply_path(client, auth):
    auth.login("admin")
    event = _failed_callback(client)
    page = client.get("/ops/callbacks?status=failed").get_data(as_text=True)
    assert "RuntimeError: bug" in page and f"/ops/callbacks/{event.id}/replay" in page
    response = auth.post(f"/ops/callbacks/{event.id}/replay")
    assert response.status_code == 303
    # No send has that id yet: once the handler works, the callback waits as an orphan.
    assert CallbackEvent.get().status == "orphan"
    assert AuditLog.get(AuditLog.action == "callback.replay").target == f"callback:{event.id}"
    assert auth.post(f"/ops/callbacks/{event.id}/replay").status_code == 409


def test_replay_is_for_admins_and_needs_the_csrf_token(client, auth):
    event = _failed_callback(client)
    auth.login("supervisor")
    assert "/replay" not in client.get("/ops/callbacks").get_data(as_text=True)
    assert auth.post(f"/ops/callbacks/{event.id}/replay").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.post(f"/ops/callbacks/{event.id}/replay").status_code == 400
    assert CallbackEvent.get().status == "failed"


@pytest.mark.parametrize("role,status", [("agent", 403), ("supervisor", 200)])
def test_callback_browser_is_for_supervisors(client, auth, role, status):
    auth.login(role)
    assert client.get("/ops/callbacks").status_code == status
