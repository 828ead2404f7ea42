"""Two-factor sign-in: no session until the code verifies, capped tries, SMS fallback, the pending marker."""
from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, csrf_token
from tests.otp.conftest import otp_requests_to
from webapp.auth import throttle
from webapp.dispatch.dispatcher import drain
from webapp.models import AuditLog, LoginAttempt, OtpAttempt, OtpRequest, User, utcnow
from webapp.otp import twofactor

PHONE = "+6281200007777"


@pytest.fixture
def agent(users, app):
    with app.app_context():
        User.update(phone=PHONE, two_factor=True).where(User.id == users["agent"].id).execute()
    return users["agent"]


def password_step(client, email="agent@example.com", password=PASSWORD, next_path=None):
    token = csrf_token(client, "/login")
    url = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def code_step(client, code):
    token = csrf_token(client, "/login")
    return client.post("/login/verify", data={"code": code, "csrf_token": token})


def current(agent):
    return OtpRequest.select().where(OtpRequest.user_id == agent.id).order_by(OtpRequest.id.desc()).first()


def wrong(code):
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def test_no_session_until_the_code_verifies(client, agent, sandbox, code_for):
    response = password_step(client, next_path="/contacts/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify"
    assert otp_requests_to(sandbox, "asynccall")[0]["msisdn"] == PHONE.lstrip("+")
    assert client.get("/").status_code == 302
    page = client.get("/login/verify").get_data(as_text=True)
    assert "phone ending in •••777" in page and PHONE not in page and 'hx-history="false"' in page
    otp = current(agent)
    assert (otp.purpose, otp.limit_try, otp.valid_time) == ("login", twofactor.LIMIT_TRY, twofactor.VALID_TIME)
    response = code_step(client, code_for(otp))
    assert response.status_code == 302 and response.headers["Location"] == "/contacts/"
    assert client.get("/").status_code == 200
    row = AuditLog.get(AuditLog.action == "login")
    assert (row.target, row.detail, row.user_id) == ("agent@example.com", "two-factor", agent.id)
    # The pending marker is gone: the code step cannot be replayed.
    assert client.get("/login/verify").status_code == 302


def test_users_without_two_factor_sign_in_as_before(client, users, sandbox):
    response = password_step(client, "admin@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert sandbox.requests_to("/citcall") == []


def test_wrong_codes_are_counted_and_throttled(client, agent, code_for):
    password_step(client)
    otp = current(agent)
    response = code_step(client, wrong(code_for(otp)))
    assert response.status_code == 401 and "Wrong code (2 tries left)" in response.get_data(as_text=True)
    assert LoginAttempt.select().where(LoginAttempt.email == "agent@example.com").count() == 1
    assert code_step(client, "12").status_code == 422
    assert LoginAttempt.select().count() == 1


def test_local_cap_closes_the_code_step(client, agent, code_for):
    password_step(client)
    for _ in range(twofactor.LIMIT_TRY):
        code_step(client, wrong(code_for(current(agent))))
    # CitCALL's limit for this code is used up; a new code restarts its count but not the local one.
    client.post("/login/verify/resend", data={"method": "miscall", "csrf_token": csrf_token(client, "/login")})
    code_step(client, wrong(code_for(current(agent))))
    response = code_step(client, wrong(code_for(current(agent))))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Too many wrong codes" in client.get("/login").get_data(as_text=True)
    assert client.get("/login/verify").status_code == 302
    # Signing in with the password again does not reopen it within the window.
    password_step(client)
    response = code_step(client, code_for(current(agent)))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_login_throttle_applies_to_the_code_step(client, agent, code_for, app):
    password_step(client)
    with app.app_context():
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            throttle.reserve("agent@example.com", "127.0.0.1")
    response = code_step(client, code_for(current(agent)))
    assert response.status_code == 302
    assert "Too many sign-in attempts" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_pending_marker_expires(client, agent, code_for, monkeypatch):
    password_step(client)
    code = code_for(current(agent))
    later = utcnow() + timedelta(seconds=twofactor.PENDING_SECONDS + 1)
    monkeypatch.setattr(twofactor, "utcnow", lambda: later)
    response = code_step(client, code)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_password_change_voids_the_pending_sign_in(client, agent, code_for, app):
    password_step(client)
    code = code_for(current(agent))
    with app.app_context():
        User.update(session_version=User.session_version + 1).where(User.id == agent.id).execute()
    assert code_step(client, code).status_code == 302
    assert client.get("/").status_code == 302


def test_no_phone_refuses_at_the_password_step(client, agent, app, sandbox):
    with app.app_context():
        User.update(phone=None).where(User.id == agent.id).execute()
    response = password_step(client)
    assert response.status_code == 403 and "Ask an admin to reset" in response.get_data(as_text=True)
    assert sandbox.requests_to("/citcall") == []


def test_too_many_codes_sent(client, agent, app):
    for _ in range(twofactor.MAX_CODES_SENT):
        password_step(client)
    response = password_step(client)
    assert response.status_code == 429 and "Too many codes" in response.get_data(as_text=True)


def test_busy_miscall_falls_back_to_sms(client, agent, app, sandbox, code_for):
    with app.app_context():
        User.update(phone="+6281200000486").where(User.id == agent.id).execute()
    password_step(client)
    sandbox.flush()
    # The failed-call report queued the SMS; the worker's dispatcher sends it.
    assert drain(app)
    otp = current(agent)
    assert (otp.method, otp.delivery) == ("sms", "submitted")
    (sms,) = otp_requests_to(sandbox, "smsotp")
    assert sms["msisdn"] == "6281200000486"
    attempts = OtpAttempt.select().where(OtpAttempt.otp == otp.id).order_by(OtpAttempt.id)
    assert [(a.method, a.outcome, a.user_id) for a in attempts] == [("miscall", "failed", agent.id),
                                                                    ("sms", "submitted", None)]
    assert "We sent a code by SMS" in client.get("/login/verify").get_data(as_text=True)
    assert code_step(client, code_for(otp)).status_code == 302
    assert client.get("/").status_code == 200


def test_refused_miscall_falls_back_to_sms_at_once(client, agent, sandbox, citcall_sim):
    citcall_sim.force_rc("34")
    password_step(client)
    otp = current(agent)
    assert (otp.method, otp.delivery) == ("sms", "submitted")
    assert len(otp_requests_to(sandbox, "smsotp")) == 1


def test_sms_on_request(client, agent, sandbox, code_for):
    password_step(client)
    response = client.post("/login/verify/resend",
                           data={"method": "sms", "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 303
    otp = current(agent)
    assert otp.method == "sms" and len(otp_requests_to(sandbox, "smsotp")) == 1
    assert code_step(client, code_for(otp)).status_code == 302


def test_status_poll_without_pending_sign_in_redirects_htmx(client, users):
    response = client.get("/login/verify", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/login"
