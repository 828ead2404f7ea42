"""A report that arrives after its send's final state changes nothing and is recorded as stale, per provider."""
import json

import pytest

from webapp.dispatch import states
from webapp.dispatch.updates import apply_update
from webapp.models import CallbackEvent, Send
from webapp.providers import oca

TOKEN = "test-callback-token"
DETAILS = {"kept": "as it was"}


def _final_send(provider, kind, reference, state=states.DELIVERED):
    return Send.create(kind=kind, provider=provider, to_number="+6281234560000", state=state, provider_ref=reference,
                       provider_status="final", details=json.dumps(DETAILS))


def _unchanged(send):
    again = Send.get_by_id(send.id)
    assert (again.state, again.provider_status, again.detail, again.price, again.error_code) == (
        send.state, "final", DETAILS, None, "")


@pytest.mark.parametrize("provider,kind,state,request_args", [
    ("masking", "sms.masking", states.DELIVERED,
     ("GET", f"/callbacks/masking/{TOKEN}", {"query_string": {
         "session_id": "38590565", "error_code": "51", "error_message": "Expiration Period",
         "msisdn": "6281234560000"}})),
    ("citcall", "sms.citcall", states.FAILED,
     ("POST", f"/callbacks/citcall/{TOKEN}", {"json": {
         "trxid": "38590565", "result": "Success", "description": "Delivered", "reportedDate": "2026-11-24 10:00:00",
         "currency": "IDR", "price": "300"}})),
    ("citcall", "otp.miscall", states.DELIVERED,
     ("POST", f"/callbacks/citcall/{TOKEN}", {"json": {
         "rc": "00", "trxid": "38590565", "msisdn": "6281234560000", "via": "voice", "dial_code": "486",
         "dial_status": "Busy Here", "call_status": "BUSY", "price": "165", "result": "Failed"}})),
    ("airtel", "c2c.airtel", states.FAILED,
     ("POST", f"/callbacks/airtel/{TOKEN}/cdr", {"json": {
         "correlationId": "38590565", "overallCallStatus": "Answered", "recordingURL": "https://x/r.mp3"}})),
    ("airtel", "c2c.airtel", states.DELIVERED,
     ("POST", f"/callbacks/airtel/{TOKEN}/events", {"json": {
         "correlationId": "38590565", "eventType": "CALL", "participantAddress": "9876540000", "event": "Removed",
         "time": "2020-02-26T12:19:46.399+0000"}})),
])
def test_a_callback_after_the_final_state_is_stale(client, ctx, provider, kind, state, request_args):
    send = _final_send(provider, kind, "38590565", state)
    method, path, kwargs = request_args
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == 200 and response.get_json()["status"] == "stale"
    event = CallbackEvent.get()
    assert event.status == "stale" and event.applied_at is None
    _unchanged(send)


def test_an_oca_status_polled_after_the_final_state_is_stale(ctx):
    send = _final_send("oca", "ivr.oca", "call-1", states.FAILED)
    status = oca.parse_call_status({"call_id": "call-1", "status": "success", "talk_duration": 12,
                                    "hangup_cause": "NORMAL_CLEARING", "result": []})
    assert apply_update("oca", status.to_update()) == "stale"
    _unchanged(send)


def test_a_report_for_an_open_send_is_still_applied(client, ctx):
    send = _final_send("masking", "sms.masking", "38590566", states.SUBMITTED)
    response = client.get(f"/callbacks/masking/{TOKEN}", query_string={
        "session_id": "38590566", "error_code": "22", "error_message": "Delivered", "msisdn": "6281234560000"})
    assert response.get_json()["status"] == "applied"
    assert Send.get_by_id(send.id).state == states.DELIVERED
