import pytest
import requests

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def notice_shape(sandbox):
    sandbox.configure(SANDBOX_INBOX_SHAPE="notice")
    yield
    sandbox.configure(SANDBOX_INBOX_SHAPE="")


def test_inbox_shows_messages_opt_outs_and_the_lines_not_understood(page, app, users, sandbox_server, notice_shape):
    from tests.campaigns.helpers import make_list
    from webapp.campaigns import sms

    with app.app_context():
        make_list("L", ["+6281234567000"])
    for sender, text in (("6281234567000", "BERHENTI"), ("081234567001", "Halo; info, promo?")):
        requests.post(sandbox_server.url + "/masking/_sandbox/inbox", data={"sender": sender, "message": text},
                      timeout=5)
    with app.app_context():
        assert sms.poll_masking_inbox(app) == 2
    sign_in(page, "agent@example.com", PASSWORD)
    page.goto("/inbox/")
    page.get_by_text("Halo; info, promo?").wait_for()
    page.locator("tr", has_text="BERHENTI").locator(".badge", has_text="opted out").wait_for()
    summary = page.locator("[data-inbox=not-understood] summary")
    assert "2 lines not understood" in summary.inner_text()
    raw = page.locator("[data-raw-line]").filter(has_text="Undefined index: page")
    assert not raw.is_visible()
    summary.click()
    raw.wait_for()
    assert "<b>Notice</b>" in raw.inner_text()  # the markup the provider printed, shown as text
