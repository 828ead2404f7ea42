"""SMS blasts end to end against the sandbox simulators over loopback HTTP."""
import csv
import io
from datetime import timedelta

import pytest
import requests

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.campaigns import service, sms
from webapp.dispatch.dispatcher import drain
from webapp.models import CallbackEvent, Campaign, ChannelLog, InboxMessage, ProviderStatus, Send, utcnow

NUMBERS = ["+6281234560000", "+6281234561000", "+6281234560050", "+6281234560052", "+6281234562000"]
# In the whole flow a number refused at send time (0999) stands in for the balance refusal (0050): in strict
# mode a DLR races ahead of the other sends, and the safety brake would rightly pause on an account-level 50.
FLOW_NUMBERS = [*NUMBERS[:2], "+6281234560999", *NUMBERS[3:]]


def states_of(campaign):
    return {s.to_number: s.state for s in Send.select().where(Send.campaign_id == campaign.id)}


def test_masking_blast_compose_launch_callbacks_delivered(client, auth, sandbox, users, app, sandbox_mode):
    auth.login("supervisor")
    with app.app_context():
        contact_list = make_list("Pelanggan", FLOW_NUMBERS)
    response = auth.post("/campaigns/new", data={
        "name": "Promo Desember", "provider": "masking", "list_ids": [str(contact_list.id)],
        "message": "Halo {{name}}, promo di {{city}}!", "when": "now"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        campaign = Campaign.get(Campaign.name == "Promo Desember")
        assert (campaign.status, campaign.recipients) == ("running", 5)
        assert Send.select().where(Send.campaign_id == campaign.id).count() == 5
        assert drain(app)
        sent = sandbox.requests_to("/masking/send_post.php")
        assert len(sent) == 5
        first = next(r for r in sent if r["form"]["hp"] == "6281234560000")
        assert first["form"]["message"] == "Halo Person 0, promo di Bandung!"
        assert "password" not in first["args"]
        sandbox.flush()
        assert states_of(campaign) == {
            "+6281234560000": "delivered", "+6281234561000": "delivered", "+6281234560999": "failed",
            "+6281234560052": "undeliverable", "+6281234562000": "delivered"}
        failed = Send.get((Send.campaign_id == campaign.id) & (Send.state == "failed"))
        assert failed.error_code == "invalid_msisdn"
        # Strict: each delivered message's DLR raced the send's answer, and a late "20" (pending) DLR followed.
        late = CallbackEvent.select().where(CallbackEvent.status == "stale").count()
        assert late == {"default": 0, "strict": 3}[sandbox_mode]
        assert not CallbackEvent.select().where(CallbackEvent.status.in_(["orphan", "invalid", "received"])).exists()
        service.tick()
        assert Campaign.get_by_id(campaign.id).status == "completed"
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "delivery rate <strong>60.0%</strong>" in page
    assert "Failures by reason" in page


def test_duplicate_and_out_of_order_dlrs(client, sandbox, users, app, live_url):
    # The simulator's own DLR would be the same request, racing this test's first one: it stays silent here.
    sandbox.configure(SANDBOX_EVENT_DELAY=3600)
    with app.app_context():
        contact_list = make_list("L", ["+6281234560000"])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        drain(app)
        ref = Send.get(Send.campaign_id == campaign.id).provider_ref
    url = f"{live_url}/callbacks/masking/test-callback-token"
    delivered = {"session_id": ref, "error_code": "22", "error_message": "Delivered", "msisdn": "6281234560000"}
    pending = {**delivered, "error_code": "20", "error_message": "Pending"}
    # The sandbox's own identical DLR may have come first on a loaded machine: then ours is already a duplicate.
    assert requests.get(url, params=delivered, timeout=5).json()["status"] in ("applied", "duplicate")
    assert requests.get(url, params=delivered, timeout=5).json()["status"] == "duplicate"
    # A late "pending" report is stored but never moves the send back.
    assert requests.get(url, params=pending, timeout=5).status_code == 200
    with app.app_context():
        assert Send.get(Send.campaign_id == campaign.id).state == "delivered"
        assert CallbackEvent.select().count() == 2


def test_dlr_before_the_id_is_stored_is_kept_and_applied(users, app, live_url):
    from webapp.dispatch.claim import claim
    from webapp.dispatch.registry import Outcome
    from webapp.dispatch.updates import apply_outcome

    with app.app_context():
        contact_list = make_list("L", ["+6281234560000"])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        (send_id,) = claim(["sms.masking"], 1, "worker-a")
    # The DLR overtakes the provider's answer to our request: it is kept as an orphan...
    dlr = {"session_id": "77777777", "error_code": "22", "error_message": "Delivered", "msisdn": "6281234560000"}
    response = requests.get(f"{live_url}/callbacks/masking/test-callback-token", params=dlr, timeout=5)
    assert response.json()["status"] == "orphan"
    with app.app_context():
        # ...and applied as soon as the answer carrying that id is recorded.
        apply_outcome(Send.get_by_id(send_id), Outcome(provider_ref="77777777"), owner="worker-a")
        assert Send.get_by_id(send_id).state == "delivered"
        assert CallbackEvent.get().status == "applied"
        assert Campaign.get_by_id(campaign.id).status == "running"


def test_bad_dlr_is_stored_and_answered_400(client, app, users):
    response = client.get("/callbacks/masking/test-callback-token?error_code=22")
    assert response.status_code == 400
    with app.app_context():
        assert CallbackEvent.get().status == "invalid"
    assert client.get("/callbacks/masking/wrong-token?session_id=1").status_code == 404


def test_lost_dlr_is_found_by_polling_report_php(sandbox, users, app):
    with app.app_context():
        contact_list = make_list("L", ["+6281234560404"])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        drain(app)
        sandbox.flush()
        send = Send.get(Send.campaign_id == campaign.id)
        assert send.state == "submitted"
        assert sms.poll_masking_reports(app) == 0  # too early: reports are asked only after a while
        later = utcnow() + timedelta(minutes=5)
        assert sms.poll_masking_reports(app, now=later) == 1
        assert Send.get_by_id(send.id).state == "delivered"
        # The poll is in the provider log of this send, next to the send request itself.
        assert [(row.operation, row.send_id) for row in ChannelLog.select().order_by(ChannelLog.id)] == [
            ("send", send.id), ("report", send.id)]


def test_citcall_blast_stores_price_and_currency(sandbox, users, app, sandbox_mode):
    with app.app_context():
        contact_list = make_list("L", ["+6281234560000", "+6281234560042"])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id], provider="citcall"))
        drain(app)
        ok = Send.get((Send.campaign_id == campaign.id) & (Send.to_number == "+6281234560000"))
        refused = Send.get((Send.campaign_id == campaign.id) & (Send.to_number == "+6281234560042"))
        # The delivery callback may overtake the answer (strict mode sends it at once, a loaded machine can too):
        # either way the price and currency come from the answer.
        assert ok.state in ("submitted", "delivered")
        assert ok.price and ok.currency == "IDR"
        assert (refused.state, refused.error_code) == ("failed", "42")
        request = sandbox.last_request("/citcall/gateway/v3/sms")
        assert request["json"]["senderid"] == "CITCALL"
        sandbox.flush()
        ok = Send.get_by_id(ok.id)
        assert (ok.state, ok.price, ok.currency) == ("delivered", 300.0, "IDR")
        assert not CallbackEvent.select().where(CallbackEvent.status.in_(["orphan", "invalid", "received"])).exists()


def test_opted_out_numbers_are_never_sent(sandbox, users, app):
    from webapp.contacts.optouts import add_number

    with app.app_context():
        contact_list = make_list("L", NUMBERS[:3])
        add_number(NUMBERS[0], "asked us")
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        assert (campaign.recipients, campaign.excluded_opted_out) == (2, 1)
        add_number(NUMBERS[1], "replied STOP after launch")
        drain(app)
        assert [r["form"]["hp"] for r in sandbox.requests_to("/masking/send")] == ["6281234560050"]
        assert Send.get(Send.to_number == NUMBERS[1]).state == "cancelled"


def test_duplicates_across_lists_are_sent_once(users, app):
    from webapp.contacts.service import add_to_list, create_list

    with app.app_context():
        first = make_list("A", NUMBERS[:2])
        second = create_list("B")
        add_to_list([c.contact_id for c in first.memberships], second.id)
        campaign = launch(sms_campaign(users["admin"], [first.id, second.id]))
        assert (campaign.recipients, campaign.excluded_duplicates) == (2, 2)


def test_scheduled_campaign_waits_for_its_time(users, app):
    with app.app_context():
        contact_list = make_list("L", NUMBERS[:2])
        start = utcnow() + timedelta(hours=2)
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]), start_at=start)
        assert Campaign.get_by_id(campaign.id).status == "scheduled"
        assert drain(app) and Send.select().where(Send.state == "queued").count() == 2
        service.tick(now=start + timedelta(seconds=1))
        assert Campaign.get_by_id(campaign.id).status == "running"


@pytest.mark.parametrize("utc_hour,sends", [(1, True), (14, False), (23, True)])
def test_quiet_hours_pause_and_resume(users, app, utc_hour, sends):
    # 08:00-20:00 Asia/Jakarta is 01:00-13:00 UTC.
    with app.app_context():
        contact_list = make_list("L", NUMBERS[:1])
        campaign = sms_campaign(users["admin"], [contact_list.id], window_start="08:00", window_end="20:00")
        launch(campaign)
        frozen = utcnow().replace(hour=utc_hour, minute=30)
        service.tick(now=frozen)
        assert Campaign.get_by_id(campaign.id).in_window is (utc_hour == 1)
        drain(app)
        state = Send.get(Send.campaign_id == campaign.id).state
        # The simulator's DLR may already have landed (its timer runs on its own): sent is sent.
        assert (state in ("submitted", "delivered")) is (utc_hour == 1)
        if not sends or utc_hour != 1:
            assert service.next_window_opening(Campaign.get_by_id(campaign.id), frozen) is not None


def test_pause_resume_cancel_mid_flight(sandbox, users, app):
    with app.app_context():
        contact_list = make_list("L", [f"+62812345{i:05d}" for i in range(6)])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        service.pause(campaign)
        assert drain(app) and not sandbox.requests_to("/masking/send")
        service.resume(campaign)
        from webapp.dispatch.claim import claim

        claim(["sms.masking"], 2, "some-worker")  # two sends are in flight when the cancel comes
        cancelled = service.cancel(campaign)
        assert cancelled == 4
        counts = service.counts(campaign.id)
        assert (counts["cancelled"], counts["sending"]) == (4, 2)
        with pytest.raises(service.CampaignError):
            service.resume(campaign)


def test_retry_failed_creates_new_attempts(sandbox, users, app):
    with app.app_context():
        contact_list = make_list("L", ["+6281234560050", "+6281234560000"])
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        drain(app)
        sandbox.flush()
        assert service.retry(campaign) == 1
        assert service.retry(campaign) == 0  # the failed row already has its retry
        retry_row = Send.get(Send.retry_of.is_null(False))
        assert (retry_row.attempt, retry_row.to_number, retry_row.state) == (2, "+6281234560050", "queued")


def test_export_results_csv_is_neutralised(client, auth, sandbox, users, app):
    auth.login("supervisor")
    with app.app_context():
        from webapp.contacts.service import create_contact

        contact_list = make_list("L", ["+6281234560000"])
        evil = create_contact("=HYPERLINK(\"x\")", "+6281234569999")
        from webapp.contacts.service import add_to_list

        add_to_list([evil.id], contact_list.id)
        campaign = launch(sms_campaign(users["admin"], [contact_list.id]))
        drain(app)
    response = client.get(f"/campaigns/{campaign.id}/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:5] == ["send_id", "attempt", "contact", "phone", "state"]
    assert {row[2] for row in rows[1:]} == {"Person 0", "'=HYPERLINK(\"x\")"}


def test_inbox_poll_stores_messages_and_stop_opts_out(sandbox, users, app, sandbox_server):
    from webapp.contacts.optouts import is_opted_out

    with app.app_context():
        make_list("L", ["+6281234567000"])
    for sender, text in (("6281234567000", "STOP"), ("081234567001", "Halo, info promo?")):
        requests.post(sandbox_server.url + "/masking/_sandbox/inbox", data={"sender": sender, "message": text},
                      timeout=5)
    with app.app_context():
        assert sms.poll_masking_inbox(app) == 2
        assert sms.poll_masking_inbox(app) == 0
        stop = InboxMessage.get(InboxMessage.sender == "+6281234567000")
        assert stop.opted_out and stop.contact_id
        assert is_opted_out("+6281234567000") and not is_opted_out("+6281234567001")


def test_balance_poll_and_low_balance_banner(client, auth, sandbox, users, app):
    with app.app_context():
        sms.poll_masking_balance(app)
        assert ProviderStatus.get_by_id("masking").balance == 150000
    auth.login("supervisor")
    assert "Masking balance is low" not in client.get("/").get_data(as_text=True)
    app.config["MASKING_LOW_BALANCE"] = 200000
    assert "Masking balance is low" in client.get("/").get_data(as_text=True)


def test_recipients_filter_by_status_as_a_fragment(client, auth, users, sandbox, app):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000", "+6281234560999"]).id]))
        drain(app)
    auth.login("supervisor")
    html = auth.htmx("GET", f"/campaigns/{campaign.id}?state=failed",
                     headers={"HX-Target": "campaign-live"}).get_data(as_text=True)
    assert "<html" not in html and f'hx-get="/campaigns/{campaign.id}" hx-target="#campaign-live"' in html
    assert "+62 812-3456-0999" in html and "+62 812-3456-0000" not in html
    assert '<option value="failed" selected>' in html
