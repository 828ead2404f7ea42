"""Settings > Providers: a supervisor tests each connection and reads which facts the answer proved."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_test_connection_lists_what_each_check_proved(page, app, users, sandbox):
    app.config["AIRTEL_CALL_FLOW_ID"] = "NOT_OUR_FLOW"
    sign_in(page, users["supervisor"].email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/settings/providers")
    for name in ("citcall", "masking", "airtel", "oca"):
        page.locator(f"#check-{name}").get_by_role("button", name="Test connection").click()
        page.locator(f"#check-{name} table.check-facts").wait_for()
    airtel = page.locator("#check-airtel")
    airtel.get_by_text("Failed:").wait_for()
    facts = {row.get_attribute("data-fact"): row.get_attribute("data-proved")
             for row in airtel.locator("tr[data-fact]").all()}
    assert facts == {"Reachable": "yes", "Credentials accepted": "yes", "Call flow ID accepted": "no"}
    assert "INCORRECT_CALL_FLOW_ID" in airtel.locator('tr[data-fact="Call flow ID accepted"]').inner_text()
    masking = page.locator("#check-masking")
    masking.get_by_text("Connected:").wait_for()
    assert masking.locator('tr[data-fact="Balance"]').get_attribute("data-proved") == "yes"
