"""The OTP pages: access, pre-filling for a contact, form errors, fragments, and two-factor settings."""
import pytest

from tests.conftest import PASSWORD
from webapp.contacts.service import create_contact
from webapp.live import STOP_POLLING
from webapp.models import AuditLog, OtpRequest, User
from webapp.otp import service

OK = "+6281200000000"


def test_otp_pages_need_a_session(client, users):
    for path in ("/otp/", "/otp/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_every_staff_role_may_send_codes(auth, role):
    auth.login(role)
    page = auth.client.get("/otp/")
    assert page.status_code == 200 and 'hx-history="false"' in page.get_data(as_text=True)


def test_opened_for_a_contact(auth, app):
    with app.app_context():
        contact = create_contact("Budi Santoso", OK)
    auth.login("agent")
    page = auth.client.get(f"/otp/?contact_id={contact.id}").get_data(as_text=True)
    assert f'value="{OK}"' in page and "Budi Santoso" in page and f'name="contact_id" value="{contact.id}"' in page
    by_phone = auth.client.get("/otp/?phone=0812-0000-0000").get_data(as_text=True)
    assert "Budi Santoso" in by_phone and f'name="contact_id" value="{contact.id}"' in by_phone
    unknown = auth.client.get("/otp/?phone=081299990000").get_data(as_text=True)
    assert 'value="081299990000"' in unknown and 'name="contact_id" value=""' in unknown


def test_form_errors_are_shown_per_field(auth, sandbox):
    auth.login("agent")
    response = auth.post("/otp/", data={"phone": OK, "method": "miscall", "valid_time": "0", "limit_try": "30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Valid time must be more than 0 seconds." in page and "Tries must be between 1 and 20." in page
    assert sandbox.requests_to("/citcall") == []


def test_status_fragment_polls_only_while_pending(auth, sandbox):
    auth.login("agent")
    response = auth.post("/otp/", data={"phone": OK, "method": "miscall"})
    otp_id = response.headers["Location"].rsplit("/", 1)[1]
    fragment = auth.htmx("GET", f"/otp/{otp_id}")
    assert fragment.headers["Vary"] == "HX-Request" or "HX-Request" in fragment.headers["Vary"]
    html = fragment.get_data(as_text=True)
    # The whole panel is the live fragment: status, code form, resend options and history refresh together.
    assert html.startswith('<section id="otp-panel"') and f'hx-get="/otp/{otp_id}" hx-trigger="every 2s"' in html
    assert "<h3>History</h3>" in html and 'name="code"' in html
    sandbox.flush()
    final = auth.htmx("GET", f"/otp/{otp_id}")
    assert final.status_code == STOP_POLLING and "hx-get" not in final.get_data(as_text=True)


def test_plain_form_posts_redirect_with_the_message(auth, sandbox):
    auth.login("agent")
    otp_id = auth.post("/otp/", data={"phone": OK, "method": "miscall"}).headers["Location"].rsplit("/", 1)[1]
    response = auth.post(f"/otp/{otp_id}/verify", data={"code": "12"})
    assert response.status_code == 303
    page = auth.client.get(f"/otp/{otp_id}").get_data(as_text=True)
    assert "Enter the last 4 digits of the number that called (4 digits)." in page


def test_sign_in_and_enrolment_codes_are_private(auth, users, app):
    with app.app_context():
        login = service.start(OK, "miscall", purpose="login", user_id=users["admin"].id)
        enroll = service.start(OK, "miscall", purpose="enroll", user_id=users["admin"].id)
        contact = service.start(OK, "miscall", user_id=users["admin"].id)
    auth.login("agent")
    for otp in (login, enroll):
        assert auth.client.get(f"/otp/{otp.id}").status_code == 404
        assert auth.post(f"/otp/{otp.id}/verify", data={"code": "1234"}).status_code == 404
    listed = auth.client.get("/otp/").get_data(as_text=True)
    assert f"/otp/{contact.id}" in listed and f"/otp/{login.id}" not in listed and f"/otp/{enroll.id}" not in listed
    auth.logout()
    auth.login("admin")
    assert auth.client.get(f"/otp/{enroll.id}").status_code == 200
    assert auth.client.get(f"/otp/{login.id}").status_code == 404


def test_settings_card_needs_a_phone(auth, users, app):
    auth.login("agent")
    assert "ask an admin to add it" in auth.client.get("/settings/").get_data(as_text=True)
    response = auth.post("/otp/two-factor/enable")
    assert response.status_code == 303
    assert "no phone number" in auth.client.get("/settings/").get_data(as_text=True)
    with app.app_context():
        assert OtpRequest.select().count() == 0


def test_turning_two_factor_on_proves_the_phone(auth, users, app, sandbox, code_for):
    with app.app_context():
        User.update(phone=OK).where(User.id == users["agent"].id).execute()
    auth.login("agent")
    assert "Turn on" in auth.client.get("/settings/").get_data(as_text=True)
    response = auth.post("/otp/two-factor/enable")
    assert response.status_code == 303
    otp = OtpRequest.get(OtpRequest.purpose == "enroll")
    assert response.headers["Location"].endswith(f"/otp/{otp.id}")
    assert "Turn on two-factor sign-in" in auth.client.get(f"/otp/{otp.id}").get_data(as_text=True)
    assert not User.get_by_id(users["agent"].id).two_factor
    panel = auth.htmx("POST", f"/otp/{otp.id}/verify", data={"code": code_for(otp)}).get_data(as_text=True)
    assert "Two-factor sign-in is now on." in panel
    assert User.get_by_id(users["agent"].id).two_factor
    assert AuditLog.get(AuditLog.action == "user.2fa_on").user_id == users["agent"].id

    assert "Turn off" in auth.client.get("/settings/").get_data(as_text=True)
    auth.post("/otp/two-factor/disable", data={"password": "not-it"})
    assert User.get_by_id(users["agent"].id).two_factor
    auth.post("/otp/two-factor/disable", data={"password": PASSWORD})
    assert not User.get_by_id(users["agent"].id).two_factor


def test_admin_resets_two_factor(auth, users, app):
    with app.app_context():
        User.update(phone=OK, two_factor=True).where(User.id == users["agent"].id).execute()
    auth.login("admin")
    page = auth.client.get(f"/settings/users/{users['agent'].id}").get_data(as_text=True)
    assert "Reset two-factor" in page
    response = auth.post(f"/settings/users/{users['agent'].id}/two-factor/reset")
    assert response.status_code == 302
    assert not User.get_by_id(users["agent"].id).two_factor
    row = AuditLog.get(AuditLog.action == "user.2fa_off")
    assert (row.target, row.user_id) == ("agent@example.com", users["admin"].id)


def test_only_admins_reset_two_factor(auth, users, app):
    with app.app_context():
        User.update(two_factor=True).where(User.id == users["admin"].id).execute()
    auth.login("supervisor")
    assert auth.post(f"/settings/users/{users['admin'].id}/two-factor/reset").status_code == 403
    assert User.get_by_id(users["admin"].id).two_factor
