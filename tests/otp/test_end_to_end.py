"""The OTP page end to end against the CitCALL simulator over loopback: both methods, callbacks, expiry and
try limits on a frozen clock, gateway escalation, and no code left behind anywhere."""
import logging

from tests.otp.conftest import otp_requests_to
from webapp.contacts.service import create_contact
from webapp.models import AuditLog, CallbackEvent, ChannelLog, Contact, OtpAttempt, OtpRequest, Send

OK = "+6281200000000"


def start(auth, phone=OK, **fields):
    data = {"phone": phone, "method": "miscall", "valid_time": "300", "limit_try": "5", **fields}
    response = auth.post("/otp/", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return OtpRequest.get_by_id(int(response.headers["Location"].rsplit("/", 1)[1]))


def status(auth, otp):
    return auth.htmx("GET", f"/otp/{otp.id}").get_data(as_text=True)


def verify(auth, otp, code):
    response = auth.htmx("POST", f"/otp/{otp.id}/verify", data={"code": code})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def fresh(otp):
    return OtpRequest.get_by_id(otp.id)


def wrong(code):
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def text_columns(model):
    """Every stored text value of a table, one string per row and column."""
    fields = [f for f in model._meta.sorted_fields if f.field_type in ("VARCHAR", "TEXT")]
    return [str(getattr(row, f.name)) for row in model.select() for f in fields]


def test_miscall_flow_leaves_no_code_behind(auth, sandbox, code_for, app, caplog, sandbox_mode):
    # INFO: the app's own logging. (peewee's DEBUG echo of SQL parameters would show the raw callback body,
    # which the callbacks area stores verbatim, token included.)
    caplog.set_level(logging.INFO)
    with app.app_context():
        contact = create_contact("Budi", OK)
    auth.login("agent")
    otp = start(auth, contact_id=str(contact.id))
    token = code_for(otp, full=True)
    page = auth.client.get(f"/otp/{otp.id}").get_data(as_text=True)
    assert 'hx-history="false"' in page and f"+{token[:-4]}••••" in page
    if sandbox_mode == "default":  # strict: the callback is sent at once, racing the answer
        assert "waiting for the call report" in page
    sandbox.flush()
    fragment = status(auth, otp)
    assert "Missed call delivered (200 OK)" in fragment and "hx-get" not in fragment and "IDR 165" in fragment
    panel = verify(auth, otp, token[-4:])
    assert "<strong>Verified</strong>" in panel and "The contact's number is marked verified." in panel
    assert Contact.get_by_id(contact.id).verified_at is not None

    stored = []
    for model in (ChannelLog, AuditLog, OtpRequest, OtpAttempt, Send):
        stored += text_columns(model)
    assert not [value for value in stored if token in value]
    code_fields = [o.outcome for o in OtpRequest.select()] + [a.detail for a in OtpAttempt.select()]
    code_fields += [a.detail for a in AuditLog.select()] + [a.target for a in AuditLog.select()]
    assert not [value for value in code_fields if token[-4:] in value]
    assert token not in caplog.text


def test_sms_flow_with_delivery_report(auth, sandbox, code_for, sandbox_mode):
    auth.login("agent")
    otp = start(auth, method="sms", sms_text="Kode verifikasi Anda XXXXXX", valid_time="120", limit_try="3")
    (sent,) = otp_requests_to(sandbox, "smsotp")
    assert (sent["text"], sent["valid_time"], sent["limit_try"]) == ("Kode verifikasi Anda XXXXX", 120, 3)
    if sandbox_mode == "default":  # strict: the report is sent at once, racing the answer
        assert "SMS accepted by CitCALL" in status(auth, otp)
    sandbox.flush()
    assert "SMS delivered." in status(auth, otp)
    otp = fresh(otp)
    assert (otp.delivery, otp.price, otp.currency) == ("delivered", 300.0, "IDR") and otp.delivered_at
    assert "<strong>Verified</strong>" in verify(auth, otp, code_for(otp))
    assert not CallbackEvent.select().where(CallbackEvent.status.in_(["orphan", "invalid", "received"])).exists()


def test_busy_miscall_callback_marks_the_request(auth, sandbox):
    auth.login("agent")
    otp = start(auth, "+6281200000486")
    sandbox.flush()
    otp = fresh(otp)
    assert (otp.delivery, otp.dial_status, otp.error) == ("failed", "486 Busy Here", "Busy (486)")
    assert otp.delivered_at is None
    assert "Missed call failed: Busy (486)." in status(auth, otp)
    assert OtpAttempt.get(OtpAttempt.send_id == otp.send_id).outcome == "failed"


def test_failed_sms_report(auth, sandbox):
    auth.login("agent")
    otp = start(auth, "+6281200000099", method="sms")
    sandbox.flush()
    otp = fresh(otp)
    assert otp.delivery == "failed" and "rejected by the operator" in otp.error


def test_silent_number_keeps_polling_until_expiry(auth, sandbox, app):
    auth.login("agent")
    otp = start(auth, "+6281200000500", valid_time="60")
    sandbox.flush()
    assert 'hx-trigger="every 2s"' in status(auth, otp)
    with app.app_context():
        OtpRequest.update(expires_at=OtpRequest.created_at).where(OtpRequest.id == otp.id).execute()
    assert "hx-get" not in status(auth, otp)


def test_code_expires_on_the_frozen_clock_then_resend(auth, sandbox, clock, code_for):
    auth.login("agent")
    otp = start(auth, valid_time="60")
    code = code_for(otp)
    clock.advance(61)
    panel = verify(auth, otp, code)
    assert "<strong>Code expired</strong>" in panel
    assert fresh(otp).status == "expired"
    # An expired code is not sent to CitCALL again.
    assert "Code expired: send a new code." in verify(auth, otp, code)
    assert len(otp_requests_to(sandbox, "verify")) == 1
    panel = auth.htmx("POST", f"/otp/{otp.id}/resend", data={"method": "miscall"}).get_data(as_text=True)
    assert "gateway 1" in panel
    otp = fresh(otp)
    assert (otp.status, otp.gateway, otp.outcome) == ("pending", 1, "")
    assert "<strong>Verified</strong>" in verify(auth, otp, code_for(otp))


def test_try_limit_reaches_citcall_rc_81(auth, sandbox, clock, code_for):
    auth.login("agent")
    otp = start(auth, limit_try="2")
    code = code_for(otp)
    assert "Wrong code (1 try left)" in verify(auth, otp, wrong(code))
    assert "That was the last try for this code" in verify(auth, otp, wrong(code))
    # Even the right code is refused now: CitCALL answers rc 81.
    assert "<strong>Too many attempts</strong>" in verify(auth, otp, code)
    assert fresh(otp).status == "locked"
    assert "Too many attempts: send a new code." in verify(auth, otp, code)
    assert len(otp_requests_to(sandbox, "verify")) == 3
    outcomes = [a.outcome for a in OtpAttempt.select().where(OtpAttempt.action == "verify").order_by(OtpAttempt.id)]
    assert outcomes == ["wrong", "wrong", "exhausted"]


def test_escalation_through_the_page(auth, sandbox):
    auth.login("agent")
    otp = start(auth)
    for gateway in (1, 2):
        response = auth.post(f"/otp/{otp.id}/resend", data={"method": "miscall"})
        assert response.status_code == 303
        assert fresh(otp).gateway == gateway
    page = auth.client.get(f"/otp/{otp.id}").get_data(as_text=True)
    assert "move to a place with better signal" in page and "Resend missed call" not in page
    assert "Send the code by SMS instead" in page
    panel = auth.htmx("POST", f"/otp/{otp.id}/resend", data={"method": "miscall"}).get_data(as_text=True)
    assert 'role="alert">All three missed-call gateways have been tried.' in panel
    assert [r["gateway"] for r in otp_requests_to(sandbox, "asynccall")] == [0, 1, 2]


def test_late_callback_of_an_earlier_send_only_adds_its_price(auth, sandbox):
    auth.login("agent")
    otp = start(auth)
    auth.post(f"/otp/{otp.id}/resend", data={"method": "miscall"})
    # Both miscall reports arrive now: the first send's report must not overwrite the current send's status.
    sandbox.flush()
    otp = fresh(otp)
    assert (otp.gateway, otp.delivery, otp.price) == (1, "delivered", 330.0)
    attempts = OtpAttempt.select().where(OtpAttempt.action == "send").order_by(OtpAttempt.id)
    assert [(a.gateway, a.outcome, a.detail) for a in attempts] == [(0, "delivered", "200 OK"),
                                                                    (1, "delivered", "200 OK")]
