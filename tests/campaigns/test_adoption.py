"""Unknown sends (the worker died mid-request, no provider id) reconciled by callbacks that name their number."""
from datetime import timedelta

import pytest

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.dispatch import states
from webapp.dispatch.adoption import retry_orphans
from webapp.dispatch.claim import claim, expire_leases, mark_requesting
from webapp.models import CallbackEvent, Send, utcnow

TOKEN = "test-callback-token"
NUMBERS = ["+6281234560000", "+6281234560001"]


def _dlr(client, session_id, msisdn, code="22"):
    params = {"session_id": session_id, "error_code": code, "error_message": "Delivered", "msisdn": msisdn}
    return client.get(f"/callbacks/masking/{TOKEN}", query_string=params).get_json()["status"]


def _campaign_gone_unknown(users, numbers=NUMBERS):
    """A running masking campaign whose worker died after every request had started."""
    campaign = launch(sms_campaign(users["admin"], [make_list("L", numbers).id]))
    for send_id in claim(["sms.masking"], len(numbers), "dead-worker"):
        assert mark_requesting(send_id, "dead-worker")
    assert expire_leases(now=utcnow() + timedelta(minutes=10)) == (0, len(numbers))
    return campaign


def _send(number):
    return Send.get(Send.to_number == number)


def test_a_dlr_naming_one_unknown_sends_number_is_adopted_and_shown(client, auth, users, ctx):
    campaign = _campaign_gone_unknown(users)
    assert _dlr(client, "555001", "6281234560000") == "applied"
    adopted = _send(NUMBERS[0])
    assert (adopted.state, adopted.provider_ref) == (states.DELIVERED, "555001")
    assert adopted.adopted_at is not None
    other = _send(NUMBERS[1])
    assert (other.state, other.provider_ref, other.adopted_at) == (states.UNKNOWN, None, None)
    # A later report for the adopted id now finds its send the ordinary way.
    assert _dlr(client, "555001", "6281234560000", code="50") == "stale"
    auth.login("admin")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "1 unknown reconciled by their callbacks" in page
    assert page.count("reconciled by callback") == 1


def test_two_unknown_sends_for_one_number_adopt_nothing(client, users, ctx):
    campaign = _campaign_gone_unknown(users, [NUMBERS[0]])
    first = _send(NUMBERS[0])
    # "Resend unknown" made a second attempt, and its worker died too: the DLR could be either one's.
    Send.create(kind=first.kind, provider="masking", to_number=first.to_number, campaign_id=campaign.id,
                state=states.UNKNOWN, attempt=2, retry_of=first.id, sent_at=utcnow())
    assert _dlr(client, "555002", "6281234560000") == "orphan"
    assert [(s.state, s.provider_ref, s.adopted_at) for s in Send.select()] == [(states.UNKNOWN, None, None)] * 2


def test_an_unknown_send_older_than_the_window_is_not_adopted(client, users, ctx):
    _campaign_gone_unknown(users, [NUMBERS[0]])
    Send.update(sent_at=utcnow() - timedelta(hours=25)).execute()
    assert _dlr(client, "555003", "6281234560000") == "orphan"
    assert _send(NUMBERS[0]).provider_ref is None


def test_a_dlr_received_before_the_request_started_is_not_adopted(client, users, ctx):
    _campaign_gone_unknown(users, [NUMBERS[0]])
    Send.update(sent_at=utcnow() + timedelta(minutes=5)).execute()
    assert _dlr(client, "555004", "6281234560000") == "orphan"


def test_the_worker_job_adopts_an_orphan_stored_while_the_send_was_still_sending(client, users, ctx):
    launch(sms_campaign(users["admin"], [make_list("L", [NUMBERS[0]]).id]))
    (send_id,) = claim(["sms.masking"], 1, "dead-worker")
    assert mark_requesting(send_id, "dead-worker")
    assert _dlr(client, "555005", "6281234560000") == "orphan"  # the lease has not expired yet
    assert retry_orphans() == 0
    expire_leases(now=utcnow() + timedelta(minutes=10))
    assert retry_orphans() == 1
    send = Send.get_by_id(send_id)
    assert (send.state, send.provider_ref) == (states.DELIVERED, "555005") and send.adopted_at is not None
    assert CallbackEvent.get().status == "applied"
    assert retry_orphans() == 0


@pytest.mark.parametrize("kind,adopted", [("otp.miscall", True), ("sms.citcall", False)])
def test_a_citcall_missed_call_callback_adopts_only_a_missed_call(client, ctx, kind, adopted):
    send = Send.create(kind=kind, provider="citcall", to_number="+6281234567890", state=states.UNKNOWN,
                       sent_at=utcnow() - timedelta(minutes=1))
    body = {"rc": "00", "trxid": "20170709083044690027711524", "msisdn": "+6281234567890", "via": "voice",
            "dial_code": "200", "dial_status": "OK", "call_status": "ANSWERED", "result": "Success",
            "currency": "IDR", "price": "165"}
    status = client.post(f"/callbacks/citcall/{TOKEN}", json=body).get_json()["status"]
    send = Send.get_by_id(send.id)
    if adopted:
        assert status == "applied" and send.state == states.DELIVERED
        assert send.provider_ref == body["trxid"] and send.adopted_at is not None
    else:
        assert status == "orphan" and send.state == states.UNKNOWN and send.provider_ref is None
