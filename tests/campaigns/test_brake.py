"""The safety brake: a campaign pauses itself on the first account-level answer (or too many failures), keeps
the rest queued, shows why, and continues only when an operator resumes it."""
import pytest

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.campaigns import ivr, service
from webapp.dispatch.claim import claim
from webapp.dispatch.dispatcher import dispatcher_for, drain
from webapp.models import Campaign, Send
from webapp.providers import airtel, citcall, masking, oca
from webapp.reasons import reason_for

OK = [f"+62812345{i:02d}0000" for i in range(1, 30)]


def by_state(campaign):
    result = {}
    for send in Send.select().where(Send.campaign_id == campaign.id).order_by(Send.id):
        result.setdefault(send.state, []).append(send.to_number)
    return result


def run_first(app, kind, count=1):
    """Claim and send only the first ``count`` queued sends of a kind, as one dispatcher pass would."""
    dispatcher = dispatcher_for(app)
    for send_id in claim([kind], count, dispatcher.owner):
        dispatcher.process(send_id)


@pytest.mark.parametrize(("module", "provider"), [(masking, "masking"), (citcall, "citcall"), (oca, "oca"),
                                                  (airtel, "airtel")])
def test_every_declared_account_code_reads_as_account_level(module, provider):
    for code in module.ACCOUNT_CODES:
        assert reason_for(provider, code).category == "account", code


def test_citcall_balance_refusal_pauses_on_the_first_answer_and_resume_continues(app, users, sandbox, client, auth):
    with app.app_context():
        numbers = ["+6281234500014", *OK]  # rc 14: the CitCALL balance ran out
        campaign = launch(sms_campaign(users["admin"], [make_list("L", numbers).id], provider="citcall"))
        assert drain(app)
        campaign = Campaign.get_by_id(campaign.id)
        assert campaign.status == "paused"
        assert campaign.pause_reason == "CitCALL refused the account: CitCALL balance ran out (14)"
        assert campaign.pause_code == "14"
        states = by_state(campaign)
        assert states["failed"] == ["+6281234500014"]
        assert "sending" not in states and len(states.get("queued", [])) > 0  # nothing lost, the rest waits
        assert sum(map(len, states.values())) == len(numbers)
        sent_before = len(sandbox.requests_to("/citcall/gateway/v3/sms"))
        assert drain(app)  # a paused campaign sends nothing more
        assert len(sandbox.requests_to("/citcall/gateway/v3/sms")) == sent_before
    auth.login("supervisor")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Paused by the safety brake" in page and "CitCALL balance ran out (14)" in page
    dashboard = client.get("/").get_data(as_text=True)
    assert "CitCALL balance ran out (14)" in dashboard
    assert auth.post(f"/campaigns/{campaign.id}/resume").status_code == 302
    with app.app_context():
        assert drain(app)
        campaign = Campaign.get_by_id(campaign.id)
        assert (campaign.status, campaign.pause_reason) == ("running", "")
        assert campaign.brake_armed_at is not None
        states = by_state(campaign)
        assert states["failed"] == ["+6281234500014"] and not states.get("queued")
        assert len(sandbox.requests_to("/citcall/gateway/v3/sms")) == len(numbers)  # each number once


def test_unregistered_sender_id_pauses_citcall_blast(app, users, sandbox):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", OK).id], provider="citcall",
                                       sender_id="NOTREG"))
        assert drain(app)
        campaign = Campaign.get_by_id(campaign.id)
        assert campaign.status == "paused" and campaign.pause_code == "44"
        assert "Sender id not registered (or closed) at CitCALL (44)" in campaign.pause_reason
        states = by_state(campaign)
        # Sends already under way finish; everything not yet requested stays queued.
        assert len(states["failed"]) < len(OK) and len(states["queued"]) + len(states["failed"]) == len(OK)


def test_masking_balance_dlr_pauses_a_blast_still_sending(app, users, sandbox):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560050", *OK[:5]]).id]))
        run_first(app, "sms.masking")
        sandbox.flush()  # the DLR: 50, the balance ran out
        campaign = Campaign.get_by_id(campaign.id)
        assert campaign.status == "paused"
        assert campaign.pause_reason == "SMS masking refused the account: Balance ran out (50)"
        assert len(by_state(campaign)["queued"]) == 5


def test_masking_wrong_number_format_is_not_account_level(app, users, sandbox):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560052", *OK[:5]]).id]))
        run_first(app, "sms.masking")
        sandbox.flush()  # 52 No Charge: this number, not the account
        assert Campaign.get_by_id(campaign.id).status == "running"


def test_masking_refused_credentials_at_send_time(app, users, sandbox):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560401", *OK[:5]]).id]))
        run_first(app, "sms.masking")
        campaign = Campaign.get_by_id(campaign.id)
        assert (campaign.status, campaign.pause_code) == ("paused", "auth_failed")


def test_failure_rate_pauses_and_resume_rearms(app, users, sandbox):
    app.config.update(BRAKE_WINDOW=4, BRAKE_FAILURE_RATE=0.5)
    with app.app_context():
        numbers = [OK[9], "+6281234510052", "+6281234520052", "+6281234530052", *OK[:9]]
        campaign = launch(sms_campaign(users["admin"], [make_list("L", numbers).id]))
        run_first(app, "sms.masking", 4)
        sandbox.flush()  # three of the first four are undeliverable: 75% > 50%
        campaign = Campaign.get_by_id(campaign.id)
        assert (campaign.status, campaign.pause_code) == ("paused", "failure_rate")
        assert campaign.pause_reason == "3 of the last 4 sends failed (75%), above the 50% limit"
        service.resume(campaign)
        # Only outcomes after Resume count: four good ones keep it running.
        run_first(app, "sms.masking", 4)
        sandbox.flush()
        assert Campaign.get_by_id(campaign.id).status == "running"


def test_a_claimed_send_goes_back_to_the_queue_when_its_campaign_pauses(app, users, sandbox):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", OK[:2]).id]))
        dispatcher = dispatcher_for(app)
        ids = claim(["sms.masking"], 2, dispatcher.owner)
        service.pause(campaign)
        for send_id in ids:
            dispatcher.process(send_id)
        assert by_state(campaign) == {"queued": OK[:2]}
        assert not sandbox.requests_to("/masking/send")
        assert all(s.tries == 0 for s in Send.select())


def test_ivr_quota_refusal_pauses_the_robocall_campaign(app, users, sandbox):
    from tests.ivr.helpers import ivr_campaign, place_calls

    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    with app.app_context():
        numbers = ["+6281234560055", *[f"+628123{i:04d}0000" for i in range(1, 8)]]
        campaign = ivr_campaign(users["admin"], [make_list("L", numbers).id])
        service.launch(campaign)
        place_calls(app)
        campaign = Campaign.get_by_id(campaign.id)
        assert campaign.status == "paused"
        assert campaign.pause_reason == "OCA refused the account: OCA quota ran out (55)"
        assert by_state(campaign)["failed"] == ["+6281234560055"]
        assert by_state(campaign).get("queued")
        sandbox.flush()
        ivr.poll_call_status(app)


def test_busy_and_unanswered_calls_never_trip_the_failure_rate(app, users, sandbox):
    from tests.ivr.helpers import ivr_campaign, settle

    app.config.update(BRAKE_WINDOW=2, BRAKE_FAILURE_RATE=0.4)
    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    with app.app_context():
        numbers = ["+6281234560486", "+6281234560480", "+6281234510486", "+6281234570000"]
        campaign = ivr_campaign(users["admin"], [make_list("L", numbers).id])
        service.launch(campaign)
        settle(app, sandbox)
        assert Campaign.get_by_id(campaign.id).status == "running"
