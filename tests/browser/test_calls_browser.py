"""An agent places a click-to-call and watches the live panel follow the call, without reloading the page.

The test thread plays the worker and Airtel: drain() sends the queued request to the simulator, and
sandbox.flush() delivers the call's events and CDR to the app while the page polls."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from webapp.dispatch.dispatcher import drain
from webapp.models import Call, User

pytestmark = pytest.mark.browser


@pytest.fixture
def agent(users, sandbox):
    # Call steps wait for flush(), so the page sees each stage only when the test releases it.
    sandbox.configure(SANDBOX_EVENT_DELAY=3600)
    User.update(phone="+919876500002").where(User.id == users["agent"].id).execute()
    return users["agent"]


def test_call_a_contact_and_watch_it_end(page, app, agent, sandbox):
    from webapp.contacts.service import create_contact

    with app.app_context():
        contact = create_contact("Asha Rao", "+919876540000")
    sign_in(page, agent.email, PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/contacts/{contact.id}")
    page.get_by_role("button", name="Call +91 98765 40000").click()
    panel = page.locator(".call-panel")
    panel.get_by_text("Asking Airtel to place the call").wait_for()

    assert drain(app)
    page.locator('.call-panel[data-call-state="calling_agent"]').wait_for()
    sandbox.flush()
    page.locator('.call-panel[data-call-state="ended"]').wait_for()
    panel.get_by_text("Answered").wait_for()
    assert panel.locator("[data-call-label]").inner_text() == "Ended"
    assert panel.locator(".call-duration").inner_text() == "0:04"
    assert panel.locator("audio[controls]").count() == 1
    assert page.url.endswith(f"/contacts/{contact.id}"), "the panel updated in place"

    panel.get_by_role("link", name="Call details").click()
    page.get_by_role("cell", name="RecordingStarted").wait_for()
    page.goto(f"/contacts/{contact.id}")
    page.get_by_text("Call Answered · Agent").wait_for()


def test_dial_a_busy_number_from_the_calls_page(page, app, agent, sandbox):
    sign_in(page, agent.email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/calls/")
    page.get_by_text("No calls yet.").wait_for()
    page.fill("input[name=phone]", "98765 40486")
    page.get_by_role("button", name="Call", exact=True).click()
    page.locator(".call-panel").wait_for()
    assert drain(app)
    sandbox.flush()
    page.locator('.call-panel[data-call-state="failed"]').wait_for()
    page.get_by_text("The customer was busy (USER_BUSY)").wait_for()
    page.locator(".call-panel").get_by_text("Busy", exact=True).wait_for()
    assert Call.get().status == "Busy"
