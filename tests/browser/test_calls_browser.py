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


def test_call_a_contact_and_watch_it_end(page, app, agent, sandbox, sandbox_mode):
    """In strict mode no callback body carries an id: only the call's own callback URLs tie them to it."""
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
    panel.get_by_text("Answered", exact=True).wait_for()
    assert panel.locator("[data-call-label]").inner_text() == "Ended"
    assert panel.locator(".call-duration").inner_text() == "0:04"
    assert panel.locator("audio[controls]").count() == 1
    recording = panel.locator("audio[controls]").get_attribute("src")
    assert recording == Call.get().recording_url and "/airtel/recordings/Xchange" in recording
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


def test_call_buttons_only_where_a_call_can_work(page, app, agent):
    from webapp.contacts.optouts import opt_out_contacts
    from webapp.contacts.service import create_contact

    with app.app_context():
        create_contact("Asha Rao", "+919876540000")
        budi = create_contact("Budi Santoso", "+6281234567890")
        chitra = create_contact("Chitra Iyer", "+919876540486")
        opt_out_contacts([chitra.id], "asked")
    sign_in(page, agent.email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/contacts/")
    rows = {name: page.get_by_role("row").filter(has_text=name).get_by_role("button", name="Call")
            for name in ("Asha Rao", "Budi Santoso", "Chitra Iyer")}
    assert rows["Asha Rao"].is_enabled()
    assert rows["Budi Santoso"].is_disabled() and rows["Chitra Iyer"].is_disabled()
    assert "dials only Indian 10-digit numbers" in rows["Budi Santoso"].get_attribute("title")
    assert "do-not-contact" in rows["Chitra Iyer"].get_attribute("title")
    # The wrapper carries the reason too, so hovering the disabled button shows it.
    rows["Budi Santoso"].hover(force=True)
    assert "dials only" in page.locator(".call-button[title]").first.get_attribute("title")

    page.goto(f"/contacts/{budi.id}")
    button = page.locator(".call-area").get_by_role("button", name="Call +62 812-3456-7890")
    assert button.is_disabled()
    page.locator(".call-area").get_by_text("dials only Indian 10-digit numbers").wait_for()
    assert Call.select().count() == 0
