"""Outgoing webhooks: events recorded as rows, delivered signed by the worker's job, retried with backoff,
shown with their answers; the documented signature recipe verifies what a receiver got."""
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from flask import Flask, request

from tests.servers import ServerThread
from webapp.api import webhook_events, webhooks
from webapp.models import OptOut, OtpRequest, Send, WebhookDelivery, WebhookEndpoint, utcnow


class Receiver:
    """A system receiving webhooks on loopback: records each request, answers the statuses it is given."""

    def __init__(self):
        self.received = []
        self.statuses = []
        app = Flask("receiver")

        @app.post("/hook")
        def hook():
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            status = self.statuses.pop(0) if self.statuses else 200
            return f"answer {status}", status

        self.server = ServerThread(app).start()
        self.url = self.server.url + "/hook"


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.server.stop()


@pytest.fixture(autouse=True)
def fresh_receiver(receiver):
    receiver.received.clear()
    receiver.statuses.clear()
    webhook_events.forget_subscriptions()
    yield
    webhook_events.forget_subscriptions()


def verify(secret, headers, body, tolerance=300):
    """The recipe of docs/api.md, written as a receiver would."""
    timestamp = headers["Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    given = headers["Webhook-Signature"].removeprefix("v1=")
    return hmac.compare_digest(expected, given) and abs(time.time() - int(timestamp)) <= tolerance


def test_an_otp_verified_through_the_api_is_delivered_signed(api, app, sandbox, receiver):
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0
    with app.app_context():
        endpoint = webhooks.create_endpoint(receiver.url, ["otp.verified"])
        webhook_events.collect()
    agent = api("agent")
    otp = agent.post("/api/v1/otp", json={"phone": "+6281200000000"}).get_json()
    with app.app_context():
        send = Send.get_by_id(OtpRequest.get_by_id(otp["id"]).send_id)
        code = sandbox.simulators["citcall"].sessions[send.provider_ref].token[-4:]
    assert agent.post(f"/api/v1/otp/{otp['id']}/verify", json={"token": code}).get_json()["valid"]
    with app.app_context():
        webhook_events.collect()
        webhook_events.collect()
        assert WebhookDelivery.select().count() == 1, "an event scanned again is not recorded twice"
        assert receiver.received == [], "nothing is sent outside the worker's job"
        assert webhooks.deliver_due() == 1
        delivery = WebhookDelivery.get()
    assert delivery.state == "delivered" and delivery.last_status == 200 and delivery.last_answer == "answer 200"
    [got] = receiver.received
    assert verify(endpoint.secret, got["headers"], got["body"])
    assert not verify(endpoint.secret, got["headers"], got["body"] + b" ")
    assert not verify("another-secret", got["headers"], got["body"])
    payload = json.loads(got["body"])
    assert payload["event"] == "otp.verified" and payload["data"]["id"] == otp["id"]
    assert got["headers"]["Webhook-Event"] == "otp.verified" and got["headers"]["Webhook-Id"] == str(delivery.id)


def test_failed_deliveries_are_retried_with_backoff_then_given_up(ctx, receiver):
    endpoint = webhooks.create_endpoint(receiver.url, ["contact.opted_out"])
    webhook_events.collect()
    OptOut.create(phone="+6281200000009", reason="STOP", source="sms")
    webhook_events.collect()
    assert WebhookDelivery.select().count() == 1
    receiver.statuses = [500]
    now = utcnow()
    assert webhooks.deliver_due(now) == 1
    delivery = WebhookDelivery.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + webhooks.FIRST_RETRY
    assert webhooks.deliver_due(now) == 0, "not due before its backoff"
    assert webhooks.deliver_due(now + timedelta(seconds=31)) == 1
    assert WebhookDelivery.get().state == "delivered"
    assert [json.loads(r["body"])["data"]["phone"] for r in receiver.received] == ["+6281200000009"] * 2
    assert webhooks.backoff(3) == timedelta(minutes=2) and webhooks.backoff(20) == webhooks.MAX_RETRY
    # A receiver that never answers well: given up after MAX_ATTEMPTS.
    OptOut.create(phone="+6281200000008", reason="STOP", source="sms")
    webhook_events.collect()
    receiver.statuses = [503] * webhooks.MAX_ATTEMPTS
    later = now + timedelta(minutes=1)
    for _ in range(webhooks.MAX_ATTEMPTS):
        later += webhooks.MAX_RETRY
        webhooks.deliver_due(later)
    given_up = WebhookDelivery.get(WebhookDelivery.event_key != f"optout:{OptOut.get().id}")
    assert (given_up.state, given_up.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert endpoint.id == given_up.endpoint_id


def test_send_final_states_are_recorded_only_when_someone_listens(app, ctx, api, receiver):
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0
    assert api("agent").post("/api/v1/otp", json={"phone": "+6281200000042"}).status_code == 201
    assert WebhookDelivery.select().count() == 0
    webhooks.create_endpoint(receiver.url, ["send.final"])
    webhook_events.forget_subscriptions()
    assert api("agent").post("/api/v1/otp", json={"phone": "+6281200010042"}).status_code == 201
    [delivery] = WebhookDelivery.select()
    data = json.loads(delivery.payload)["data"]
    assert delivery.event == "send.final" and data["to_number"] == "+6281200010042" and data["state"] == "failed"


def test_endpoints_need_an_http_url_and_an_event(ctx):
    with pytest.raises(webhooks.WebhookError):
        webhooks.create_endpoint("ftp://example.com", ["otp.verified"])
    with pytest.raises(webhooks.WebhookError):
        webhooks.create_endpoint("https://example.com/hook", ["nothing"])


def test_admin_pages_register_endpoints_and_show_deliveries(auth, app, receiver):
    auth.login("supervisor")
    assert auth.client.get("/settings/webhooks").status_code == 403
    auth.logout()
    auth.login("admin")
    added = auth.post("/settings/webhooks", data={"url": receiver.url, "events": ["contact.opted_out", "otp.verified"]})
    assert added.status_code == 303
    with app.app_context():
        endpoint = WebhookEndpoint.get()
        webhook_events.collect()
        OptOut.create(phone="+6281200000007", reason="STOP", source="sms")
        webhook_events.collect()
        receiver.statuses = [410]
        webhooks.deliver_due()
    page = auth.client.get("/settings/webhooks/deliveries").get_data(as_text=True)
    assert "contact.opted_out" in page and "answer 410" in page and receiver.url in page
    delivery_id = WebhookDelivery.get().id
    assert auth.post(f"/settings/webhooks/deliveries/{delivery_id}/retry").status_code == 303
    with app.app_context():
        webhooks.deliver_due()
        assert WebhookDelivery.get().state == "delivered"
    assert auth.post(f"/settings/webhooks/{endpoint.id}/disable").status_code == 303
    with app.app_context():
        assert not WebhookEndpoint.get().active


def test_a_call_placed_through_the_api_ends_with_its_recording_in_a_webhook(api, app, users, sandbox, receiver):
    from tests.calls.helpers import PHONES, customer
    from webapp.dispatch.dispatcher import drain
    from webapp.models import User

    sandbox.configure(SANDBOX_EVENT_DELAY=3600)
    with app.app_context():
        User.update(phone=PHONES["agent"]).where(User.id == users["agent"].id).execute()
        endpoint = webhooks.create_endpoint(receiver.url, ["call.ended"])
        webhook_events.collect()
    call = api("agent").post("/api/v1/calls", json={"phone": customer("0000")}).get_json()
    assert drain(app)
    sandbox.flush()
    ended = api("agent").get(f"/api/v1/calls/{call['id']}").get_json()
    assert ended["status"] == "Answered" and ended["recording_url"]
    with app.app_context():
        webhook_events.collect()
        assert webhooks.deliver_due() == 1
    [got] = receiver.received
    assert verify(endpoint.secret, got["headers"], got["body"])
    data = json.loads(got["body"])["data"]
    assert data["id"] == call["id"] and data["recording_url"] == ended["recording_url"]


def test_a_webhook_that_cannot_be_recorded_never_breaks_the_send(app, ctx, api, receiver, monkeypatch, caplog):
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0
    webhooks.create_endpoint(receiver.url, ["send.final"])

    def broken(*_args, **_kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(webhooks, "record", broken)
    assert api("agent").post("/api/v1/otp", json={"phone": "+6281200000042"}).status_code == 201
    assert Send.get().state == "failed" and "send.final webhook event was not recorded" in caplog.text


def test_every_payload_matches_the_documents_webhooks(app, ctx, client, receiver):
    """What receivers get is what /api/openapi.json's `webhooks` promises, envelope and data."""
    import jsonschema_rs

    from webapp.models import InboxMessage

    doc = client.get("/api/openapi.json").get_json()
    webhooks.create_endpoint(receiver.url, ["contact.opted_out", "sms.inbound"])
    webhook_events.collect()
    OptOut.create(phone="+6281200000006", reason="STOP", source="sms")
    InboxMessage.create(provider="masking", external_id="m1", sender="+6281200000006", text="STOP", raw="")
    webhook_events.collect()
    deliveries = list(WebhookDelivery.select())
    assert {d.event for d in deliveries} == {"contact.opted_out", "sms.inbound"}
    for delivery in deliveries:
        pointer = f"#/webhooks/{delivery.event}/post/requestBody/content/application~1json/schema"
        validator = jsonschema_rs.validator_for({**doc, "$ref": pointer})
        validator.validate(json.loads(delivery.payload))
        assert not validator.is_valid({"event": delivery.event, "occurred_at": "now", "data": {}})
    assert set(doc["webhooks"]) == set(webhooks.EVENTS)
