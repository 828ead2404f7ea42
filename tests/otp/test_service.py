"""OTP domain functions against the CitCALL simulator: form rules, sends, escalation, verify outcomes."""
import json

import pytest
from werkzeug.datastructures import MultiDict

from tests.otp.conftest import otp_requests_to
from webapp.contacts.service import create_contact
from webapp.contacts.timeline import build_timeline
from webapp.models import AuditLog, ChannelLog, Contact, ContactEvent, OtpAttempt, OtpRequest, Send
from webapp.otp import service
from webapp.otp.service import OtpError

OK = "+6281200000000"


def form(**values):
    return MultiDict({"phone": OK, "method": "miscall", "valid_time": "300", "limit_try": "5", **values})


@pytest.mark.parametrize("values, field", [
    ({"phone": ""}, "phone"),
    ({"phone": "12ab"}, "phone"),
    ({"method": "fax"}, "method"),
    ({"valid_time": "0"}, "valid_time"),
    ({"valid_time": "-5"}, "valid_time"),
    ({"valid_time": "soon"}, "valid_time"),
    ({"limit_try": "0"}, "limit_try"),
    ({"limit_try": "21"}, "limit_try"),
    ({"limit_try": "x"}, "limit_try"),
    ({"method": "sms", "sms_text": "Kode Anda 12345"}, "sms_text"),
    ({"method": "sms", "sms_text": "Kode XXXXXX " + "x" * 160}, "sms_text"),
])
def test_form_refuses(ctx, values, field):
    with pytest.raises(OtpError) as info:
        service.read_form(form(**values))
    assert list(info.value.fields) == [field]


def test_form_defaults(ctx):
    values = service.read_form(MultiDict({"phone": "0812-0000-0000", "valid_time": "", "limit_try": ""}))
    assert values == {"phone": OK, "method": "miscall", "valid_time": 300, "limit_try": 5, "contact_id": None,
                      "sms_text": ""}
    sms = service.read_form(form(method="sms", sms_text="", limit_try="20"))
    assert (sms["sms_text"], sms["limit_try"]) == ("Kode verifikasi Anda XXXXXX", 20)


def test_miscall_is_a_send_row_made_at_once(ctx, sandbox, users):
    otp = service.start(OK, "miscall", user_id=users["agent"].id, valid_time=120, limit_try=3)
    (request,) = otp_requests_to(sandbox, "asynccall")
    assert request == {"msisdn": "6281200000000", "gateway": 0, "valid_time": 120, "limit_try": 3}
    send = Send.get_by_id(otp.send_id)
    assert (send.kind, send.provider, send.subject_id, send.user_id) == ("otp.miscall", "citcall", otp.id,
                                                                        users["agent"].id)
    assert (otp.delivery, otp.method, otp.gateway, otp.status) == ("submitted", "miscall", 0, "pending")
    assert len(otp.caller_hint) == 8 and otp.caller_hint.startswith("6221")
    assert otp.expires_at is not None
    (attempt,) = otp.attempts
    assert (attempt.action, attempt.method, attempt.gateway, attempt.outcome, attempt.user_id) == (
        "send", "miscall", 0, "submitted", users["agent"].id)


def test_sms_otp_code_is_drawn_here_and_not_kept(ctx, sandbox, code_for):
    otp = service.start(OK, "sms", valid_time=60, limit_try=5, sms_text="Kode verifikasi Anda XXXXXX")
    (request,) = otp_requests_to(sandbox, "smsotp")
    code = request["token"]
    assert code.isdigit() and len(code) == service.SMS_CODE_DIGITS and code == code_for(otp)
    assert request["text"] == "Kode verifikasi Anda XXXXX" and request["senderid"] == "CITCALL"
    send = Send.get_by_id(otp.send_id)
    assert (send.kind, send.price, send.currency) == ("otp.sms", 300.0, "IDR")
    assert code not in send.payload and code not in send.details
    assert service.verify(otp, code).ok


def test_gateway_escalation_then_signal_advice(ctx, sandbox):
    otp = service.start(OK, "miscall")
    assert service.next_gateway(otp) == 1
    otp = service.resend(otp)
    otp = service.resend(otp)
    assert [r["gateway"] for r in otp_requests_to(sandbox, "asynccall")] == [0, 1, 2]
    assert otp.gateway == 2 and service.next_gateway(otp) is None and service.progress(otp).advice
    with pytest.raises(OtpError) as info:
        service.resend(otp)
    assert "better signal" in str(info.value)
    sends = Send.select().where(Send.subject_id == otp.id).order_by(Send.id)
    assert [(s.attempt, s.retry_of) for s in sends] == [(1, None), (2, sends[0].id), (3, sends[1].id)]
    # SMS remains, up to its own cap.
    for _ in range(service.MAX_SMS_SENDS):
        otp = service.resend(otp, "sms")
    assert service.sms_left(otp) == 0
    with pytest.raises(OtpError):
        service.resend(otp, "sms")


def test_refused_send_shows_the_rc(ctx, sandbox):
    otp = service.start("+6281200000042", "miscall")
    assert (otp.delivery, otp.error) == ("failed", "Invalid number (42)")
    assert OtpAttempt.get(OtpAttempt.otp == otp.id).outcome == "failed"
    with pytest.raises(OtpError):
        service.verify(otp, "1234")
    assert otp_requests_to(sandbox, "verify") == []


@pytest.mark.parametrize("code", ["", "12", "12345", "abcd"])
def test_malformed_code_is_no_try(ctx, sandbox, code):
    otp = service.start(OK, "miscall")
    with pytest.raises(OtpError) as info:
        service.verify(otp, code)
    assert "last 4 digits" in str(info.value)
    assert otp_requests_to(sandbox, "verify") == []
    assert OtpAttempt.select().where(OtpAttempt.action == "verify").count() == 0


def test_wrong_then_right_code_verifies_the_contact(ctx, sandbox, users, code_for):
    contact = create_contact("Budi", OK)
    otp = service.start(OK, "miscall", user_id=users["agent"].id, limit_try=3)
    assert otp.contact_id == contact.id
    code = code_for(otp)
    wrong = str((int(code) + 1) % 10000).zfill(4)
    result = service.verify(otp, wrong, user_id=users["agent"].id, remote_addr="10.0.0.9")
    assert (result.outcome, result.message) == ("wrong", "Wrong code (2 tries left)")
    assert service.progress(OtpRequest.get_by_id(otp.id)).tries_left == 2
    result = service.verify(otp, code, user_id=users["agent"].id)
    assert result.ok and result.message == "Verified"
    otp = OtpRequest.get_by_id(otp.id)
    assert otp.status == "verified" and otp.verified_at is not None
    assert Contact.get_by_id(contact.id).verified_at is not None
    assert ContactEvent.get((ContactEvent.contact == contact.id) & (ContactEvent.kind == "verified")).user_id == \
        users["agent"].id
    checks = [(a.outcome, a.user_id, a.remote_addr) for a in otp.attempts if a.action == "verify"]
    assert checks == [("wrong", users["agent"].id, "10.0.0.9"), ("valid", users["agent"].id, "")]
    with pytest.raises(OtpError):
        service.verify(otp, code)


def test_contact_page_link_for_another_number_does_not_verify_that_contact(ctx, code_for):
    other = create_contact("Sari", "+6281200001111")
    otp = service.start(OK, "miscall", contact_id=other.id)
    assert otp.contact_id is None
    assert service.verify(otp, code_for(otp)).ok
    assert Contact.get_by_id(other.id).verified_at is None


def test_timeline_shows_sends_and_checks(ctx, sandbox, code_for):
    contact = create_contact("Budi", OK)
    otp = service.start(OK, "miscall")
    service.verify(otp, code_for(otp))
    service.start(OK, "miscall", purpose="login")
    sandbox.flush()
    with ctx.test_request_context():
        items = build_timeline(contact)
    titles = [item.title for item in items]
    assert "OTP check: Verified" in titles
    assert "OTP missed call (gateway 0): delivered" in titles
    assert "Phone verified" in titles
    assert {item.url for item in items if item.kind == "otp"} == {f"/otp/{otp.id}"}
    # Sign-in codes of a staff member whose phone is a contact's stay off that contact's timeline.
    assert len([t for t in titles if t.startswith("OTP")]) == 2


def test_channel_log_hides_codes(ctx, sandbox, code_for):
    otp = service.start(OK, "miscall")
    token = code_for(otp, full=True)
    service.verify(otp, token[-4:])
    sms = service.start(OK, "sms")
    sms_code = code_for(sms)
    service.verify(sms, sms_code)
    logs = list(ChannelLog.select().order_by(ChannelLog.id))
    assert [log.operation for log in logs] == ["asynccall", "verify", "smsotp", "verify"]
    for log in logs:
        for body in (log.request_body, log.response_body):
            data = json.loads(body)
            assert token not in body
            assert sms_code not in json.dumps({k: v for k, v in data.items() if k not in ("trxid", "trxid_verify")})
            for key in ("token", "token_verify"):
                assert data.get(key) in (None, "***")
    # Each verify is logged against the send it checked.
    assert [log.send_id for log in logs] == [otp.send_id, otp.send_id, sms.send_id, sms.send_id]
    assert json.loads(logs[2].response_body)["text"] == "***"


def test_two_factor_switch_is_audited(ctx, users):
    user = users["agent"]
    service.set_two_factor(user, True, user.id, "10.0.0.1")
    service.set_two_factor(user, False, users["admin"].id)
    rows = [(a.action, a.target, a.user_id) for a in AuditLog.select().order_by(AuditLog.id)]
    assert rows == [("user.2fa_on", user.email, user.id), ("user.2fa_off", user.email, users["admin"].id)]
