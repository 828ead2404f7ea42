import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from webapp.models import OtpRequest, Send, User

pytestmark = pytest.mark.browser

PHONE = "+6281200007777"


def test_two_factor_sign_in_by_missed_call(page, users, app, sandbox):
    with app.app_context():
        User.update(phone=PHONE, two_factor=True).where(User.id == users["agent"].id).execute()
    sign_in(page, "agent@example.com", PASSWORD)
    page.wait_for_url("**/login/verify")
    assert "phone ending in •••777" in page.locator("article").inner_text()
    # The status line polls itself until the simulator's call report has landed.
    expect(page.locator("#otp-status")).to_contain_text("Missed call delivered (200 OK)")

    # The simulator knows which number rang the phone; the user types its last 4 digits.
    otp = OtpRequest.get(OtpRequest.user_id == users["agent"].id)
    caller = sandbox.simulators["citcall"].sessions[Send.get_by_id(otp.send_id).provider_ref].token
    wrong = str((int(caller[-4:]) + 1) % 10000).zfill(4)
    page.fill("input[name=code]", wrong)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong code (2 tries left)")

    page.fill("input[name=code]", caller[-4:])
    page.get_by_role("button", name="Verify and sign in").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("nav").get_by_text("OTP").is_visible()
