import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_follows_the_audit_trail_from_the_menu_and_filters_it(page, users):
    sign_in(page, "agent@example.com", "wrong-password")
    sign_in(page, "admin@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.locator("nav").get_by_text("Audit").click()
    assert page.locator("h1").inner_text() == "Audit trail"
    assert page.locator("tbody tr").count() == 2
    page.fill("input[name=action]", "login.failed")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**action=login.failed**")
    assert page.locator("tbody tr").count() == 1
    assert "agent@example.com" in page.locator("tbody").inner_text()
