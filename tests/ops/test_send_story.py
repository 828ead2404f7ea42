from datetime import datetime, timedelta

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.dispatch.dispatcher import drain
from webapp.models import CallbackEvent, ChannelLog, Send
from webapp.ops import send_story


def _story(send):
    return [(m.kind, m.title, m.source) for m in send_story.story(Send.get_by_id(send.id))]


def test_a_delivered_sms_tells_request_answer_then_callback(app, sandbox, users):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000"]).id]))
        drain(app)
        sandbox.flush()
        send = Send.get(Send.campaign_id == campaign.id)
        assert send.state == "delivered"
        story = _story(send)
    states = [(title, source) for kind, title, source in story if kind == "state"]
    assert states == [("queued", f"campaign #{campaign.id}"), ("sending", "dispatcher"),
                      ("submitted", "request answer"), ("delivered", "callback")]
    kinds = [kind for kind, _, _ in story]
    assert kinds.index("exchange") < kinds.index("callback")


def test_sources_inferred_for_polls_operator_cancel_and_resend(ctx):
    t = datetime(2026, 3, 1, 10)
    send = Send.create(kind="sms", provider="masking", to_number="+6281200000000", created_at=t, sent_at=t,
                       submitted_at=t + timedelta(seconds=1), final_at=t + timedelta(minutes=10), state="delivered",
                       provider_ref="55")
    ChannelLog.create(provider="masking", send_id=send.id, operation="send", method="POST", url="u",
                      status_code=200, created_at=t + timedelta(seconds=1))
    ChannelLog.create(provider="masking", send_id=send.id, operation="report", method="GET", url="u",
                      status_code=200, created_at=t + timedelta(minutes=10) - timedelta(seconds=1))
    CallbackEvent.create(provider="masking", dedupe_key="a", reference="55", method="GET", status="stale",
                         received_at=t + timedelta(minutes=11))
    retry = Send.create(kind="sms", provider="masking", to_number="+6281200000000", attempt=2, retry_of=send.id,
                        created_at=t + timedelta(minutes=12))
    assert _story(send) == [
        ("state", "queued", "system"), ("state", "sending", "dispatcher"), ("exchange", "send: 200", ""),
        ("state", "submitted", "request answer"), ("exchange", "report: 200", ""), ("state", "delivered", "poll"),
        ("callback", "callback: stale", ""), ("attempt", "resent as attempt 2", "operator")]
    cancelled = Send.create(kind="sms", provider="masking", to_number="+6281200000001", state="cancelled",
                            created_at=t, final_at=t + timedelta(hours=1), error_text="Campaign cancelled")
    assert _story(cancelled)[-1] == ("state", "cancelled", "operator")
    assert _story(retry)[1] == ("attempt", f"attempt 2, after send #{send.id}", "operator")


def test_send_page_is_linked_from_the_campaign_recipients(app, client, auth, users, sandbox):
    auth.login("supervisor")
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000"]).id]))
        drain(app)
        sandbox.flush()
        send = Send.get(Send.campaign_id == campaign.id)
    assert f"/ops/sends/{send.id}" in client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    page = client.get(f"/ops/sends/{send.id}").get_data(as_text=True)
    assert "request answer" in page and "callback" in page and "send_post.php" in page
    assert client.get("/ops/sends/999999").status_code == 404
    auth.logout()
    auth.login("agent")
    assert client.get(f"/ops/sends/{send.id}").status_code == 403
