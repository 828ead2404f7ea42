"""Sender ids kept in Settings by admins: compose offers only those, the server refuses others, and a test
send proves whether the provider accepts one."""
from tests.campaigns.helpers import make_list
from webapp.dispatch.dispatcher import drain
from webapp.models import Campaign, Send, SenderId


def add(auth, provider, value, note=""):
    return auth.post("/settings/sender-ids", data={"provider": provider, "value": value, "note": note})


def test_admins_keep_the_list_and_others_cannot(app, auth, client):
    auth.login("supervisor")
    assert add(auth, "citcall", "SHOP").status_code == 403
    assert client.get("/settings/sender-ids").status_code == 403
    auth.logout()
    auth.login("admin")
    assert add(auth, "citcall", "SHOP", "registered in November").status_code == 302
    for value, message in [("SHOP", "already listed"), ("WAY-TOO-LONG-ID", "1 to 11 letters"),
                           ("CITCALL", "always available")]:
        response = add(auth, "citcall", value)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    page = client.get("/settings/sender-ids").get_data(as_text=True)
    assert '<tr data-sender="SHOP">' in page and "registered in November" in page and "not checked yet" in page
    row = SenderId.get(SenderId.value == "SHOP")
    assert auth.post(f"/settings/sender-ids/{row.id}/delete").status_code == 302
    assert not SenderId.select().exists()


def test_compose_offers_the_list_and_the_server_refuses_others(app, auth, client, users):
    with app.app_context():
        SenderId.create(provider="citcall", value="SHOP")
        contact_list = make_list("L", ["+6281234560000"])
    auth.login("supervisor")
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert '<select name="sender_id"' in page and 'name="sender_id" value' not in page
    assert '<option value="SHOP" data-provider="citcall"' in page
    assert '<option value="CITCALL" data-provider="citcall"' in page
    assert '<option value="" data-provider="masking"' in page
    form = {"name": "Promo", "provider": "citcall", "list_ids": [str(contact_list.id)], "message": "Halo",
            "when": "now"}
    refused = auth.post("/campaigns/new", data={**form, "sender_id": "FREETEXT"})
    assert refused.status_code == 422
    assert "&#39;FREETEXT&#39; is not a CitCALL sender id listed in Settings" in refused.get_data(as_text=True)
    assert not Campaign.select().exists()
    wrong_provider = auth.post("/campaigns/new", data={**form, "provider": "masking", "sender_id": "SHOP"})
    assert wrong_provider.status_code == 422
    assert auth.post("/campaigns/new", data={**form, "sender_id": "SHOP"}).status_code == 302
    assert Campaign.get().sender_id == "SHOP"
    test = auth.post("/campaigns/test-send", data={**form, "sender_id": "OTHER", "test_number": "+6281234560000"})
    assert test.status_code == 422 and "Sender id:" in test.get_data(as_text=True)


def test_a_test_send_checks_a_sender_id(app, auth, client, sandbox):
    auth.login("admin")
    add(auth, "citcall", "NOTREG")
    add(auth, "citcall", "SANDBOX")  # registered with the sandbox account
    rows = {row.value: row for row in SenderId.select()}
    for value in rows:
        response = auth.htmx("POST", f"/settings/sender-ids/{rows[value].id}/check",
                             data={"test_number": "+6281234560000"})
        assert response.status_code == 200 and 'hx-trigger="load delay:1s"' in response.get_data(as_text=True)
    assert drain(app)
    sent = [r["json"]["senderid"] for r in sandbox.requests_to("/citcall/gateway/v3/sms")]
    assert sorted(sent) == ["NOTREG", "SANDBOX"]
    refused = auth.htmx("GET", f"/settings/sender-ids/{rows['NOTREG'].id}/check").get_data(as_text=True)
    assert "refused" in refused and "Sender id not registered (or closed) at CitCALL (44)" in refused
    assert "hx-trigger" not in refused  # final: it stops polling
    accepted = auth.htmx("GET", f"/settings/sender-ids/{rows['SANDBOX'].id}/check").get_data(as_text=True)
    assert "accepted" in accepted or "delivered" in accepted
    bad = auth.htmx("POST", f"/settings/sender-ids/{rows['SANDBOX'].id}/check", data={"test_number": "12"})
    assert bad.status_code == 422 and "Test number" in bad.get_data(as_text=True)
    assert Send.select().count() == 2
