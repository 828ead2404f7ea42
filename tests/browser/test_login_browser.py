import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_and_see_dashboard(page, users):
    sign_in(page, "admin@example.com", PASSWORD)
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("nav").get_by_text("Settings").is_visible()


def test_wrong_password_shows_message(page, users):
    sign_in(page, "admin@example.com", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "Invalid e-mail or password."
