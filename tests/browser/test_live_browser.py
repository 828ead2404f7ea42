"""Live pages (webapp/live.py) as an operator watches them in Chromium: every moving part refreshes from one
morphed fragment, without a reload, and the polling stops once nothing can change."""
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _mark_document(page):
    """A flag on window: still there later means the page was never reloaded."""
    page.evaluate("window.__sameDocument = true")


def _same_document(page):
    return page.evaluate("window.__sameDocument === true")


def _polls_after(page, path, seconds):
    """How many requests the page makes to ``path`` in the next ``seconds``."""
    seen = []
    listener = lambda request: seen.append(request.url) if request.url.split("?")[0].endswith(path) else None  # noqa: E731
    page.on("request", listener)
    page.wait_for_timeout(seconds * 1000)
    page.remove_listener("request", listener)
    return len(seen)


def test_scheduled_campaign_completes_on_the_open_page(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import launch, make_list, sms_campaign
    from webapp.models import utcnow

    with app.app_context():
        numbers = ["+6281234560000", "+6281234561000", "+6281234562000"]
        campaign = launch(sms_campaign(users["admin"], [make_list("Terjadwal", numbers).id], name="Terjadwal"),
                          start_at=utcnow() + timedelta(seconds=4))
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto(f"/campaigns/{campaign.id}")
    live = page.locator("#campaign-live")
    assert live.locator("[data-campaign-status]").inner_text() == "scheduled"
    assert live.get_by_role("button", name="Pause").is_visible()
    page.locator("#campaign-live details summary").click()  # the operator opened the message
    _mark_document(page)

    live.locator("[data-campaign-status]").filter(has_text="completed").wait_for(timeout=40000)
    live.locator("[data-state=delivered]").filter(has_text="3").wait_for(timeout=20000)
    page.locator("#campaign-live:not([data-live])").wait_for()
    assert _same_document(page)
    assert live.get_by_role("button", name="Pause").count() == 0
    assert live.get_by_role("button", name="Cancel").count() == 0
    statuses = page.locator("#recipients tbody .badge").all_inner_texts()
    assert len(statuses) == 3 and "queued" not in statuses
    assert page.locator("#campaign-live details").get_attribute("open") is not None  # kept through the morphs
    assert _polls_after(page, f"/campaigns/{campaign.id}", 3) == 0


PERCENT_LOG = """() => {
  window.__percents = [];
  const read = () => {
    const el = document.querySelector("[data-progress=percent]");
    if (el) window.__percents.push(parseInt(el.textContent, 10));
  };
  read();
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_ivr_progress_with_a_retry_never_goes_backwards(page, app, users, sandbox, worker):
    from tests.ivr.helpers import ivr_campaign, make_list
    from webapp.campaigns import service
    from webapp.models import Send, utcnow

    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("Survey", ["+6281234560000", "+6281234560486"]).id],
                                retry_attempts=1, retry_gap_minutes=1)
        service.launch(campaign)
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto(f"/campaigns/{campaign.id}")
    page.evaluate(PERCENT_LOG)
    _mark_document(page)
    recipients = page.locator("#recipients")
    recipients.locator("[data-retry-pending]").filter(has_text="retry pending at").wait_for(timeout=30000)
    progress = page.locator("#campaign-progress")
    assert "1 of 2 recipients" in progress.inner_text() and "1 waiting for a retry" in progress.inner_text()
    assert "Failures by reason" not in progress.inner_text()  # the busy call is retried, no failure
    assert recipients.get_by_text("attempt 1: Busy (USER_BUSY)").is_visible()

    with app.app_context():  # the retry's minute has passed
        Send.update(not_before=utcnow()).where(Send.retry_of.is_null(False)).execute()
    page.locator("[data-campaign-status]").filter(has_text="completed").wait_for(timeout=40000)
    page.locator("#campaign-live:not([data-live])").wait_for(timeout=20000)
    assert "2 of 2 recipients" in progress.inner_text()
    assert recipients.locator("[data-retry-pending]").count() == 0
    assert page.locator("#recipients tbody tr").count() == 2
    percents = page.evaluate("window.__percents")
    assert percents[-1] == 100 and percents == sorted(percents), percents
    assert _same_document(page)


def test_call_panel_follows_the_call_then_stops_polling(page, app, users, sandbox):
    from webapp.dispatch.dispatcher import drain
    from webapp.models import Call, User

    sandbox.configure(SANDBOX_EVENT_DELAY=3600)  # each call step waits for flush()
    with app.app_context():
        User.update(phone="+919876500002").where(User.id == users["agent"].id).execute()
    sign_in(page, "agent@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.goto("/calls/")
    page.fill("input[name=phone]", "98765 40000")
    page.get_by_role("button", name="Call", exact=True).click()
    panel = page.locator(".call-panel[data-live='1s']")
    panel.get_by_text("Asking Airtel to place the call").wait_for()
    _mark_document(page)
    assert drain(app)
    page.locator('.call-panel[data-call-state="calling_agent"]').wait_for()
    sandbox.flush()
    page.locator('.call-panel[data-call-state="ended"]:not([data-live])').wait_for()
    assert _same_document(page)
    call_id = Call.get().id
    assert _polls_after(page, f"/calls/{call_id}", 3) == 0


def test_otp_panel_refreshes_whole_keeps_the_typed_code_then_stops(page, app, users, sandbox):
    sandbox.configure(SANDBOX_EVENT_DELAY=3600)  # the missed call's report waits for flush()
    sign_in(page, "agent@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.goto("/otp/")
    page.fill("input[name=phone]", "+6281200007777")
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url("**/otp/*")
    otp_path = urlsplit(page.url).path
    page.locator("#otp-panel[data-live]").wait_for()
    page.fill("input[name=code]", "12")  # the operator starts typing what the customer reads out
    _mark_document(page)
    assert _polls_after(page, otp_path, 5) >= 2  # the whole panel polls ...
    assert page.input_value("input[name=code]") == "12"  # ... and the morph keeps what is typed, and the focus
    assert page.evaluate("document.activeElement.name") == "code"
    sandbox.flush()
    page.locator("#otp-status").get_by_text("Missed call delivered").wait_for()
    page.locator("#otp-panel:not([data-live])").wait_for()
    assert page.input_value("input[name=code]") == "12" and _same_document(page)
    assert _polls_after(page, otp_path, 3) == 0


def test_dashboard_polls_fast_while_a_campaign_sends_and_slowly_when_idle(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import launch, make_list, sms_campaign

    sign_in(page, "supervisor@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.locator("#live-status[data-live='30s']").wait_for()  # nothing sending: the slow poll
    with app.app_context():
        launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560020"]).id], name="Sedang jalan"))
    page.goto("/")
    page.locator("#live-status[data-live='3s']").wait_for()
    page.locator("#live-status").get_by_text("Sedang jalan").wait_for()
    _mark_document(page)
    # Sent and completed (its report never comes): off the active list, back to the slow poll, same page.
    page.locator("#live-status[data-live='30s']").wait_for(timeout=30000)
    assert "Sedang jalan" not in page.locator("#live-status").inner_text().split("Latest provider callbacks")[0]
    assert _same_document(page)


def test_refresh_keeps_the_recipients_page_and_filter_shown(page, app, users):
    from tests.campaigns.helpers import launch, make_list, sms_campaign
    from webapp.models import utcnow

    with app.app_context():
        numbers = [f"+62812345{i:02d}0000" for i in range(51)]
        campaign = launch(sms_campaign(users["admin"], [make_list("Besar", numbers).id], name="Besok"),
                          start_at=utcnow() + timedelta(days=1))
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto(f"/campaigns/{campaign.id}")
    _mark_document(page)
    page.locator("#recipients .pagination").scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0 and _polls_after(page, f"/campaigns/{campaign.id}", 5) >= 2
    assert page.evaluate("window.scrollY") == scrolled  # refreshes morph in place: the page does not jump
    page.locator("#recipients").get_by_role("link", name="Next →").click()
    page.locator("#recipients .pagination").get_by_text("Page 2").wait_for()
    assert page.locator("#recipients tbody tr").count() == 1
    assert _polls_after(page, f"/campaigns/{campaign.id}", 5) >= 2  # still polling, and still on page 2
    assert page.locator("#recipients .pagination").get_by_text("Page 2").is_visible()
    page.select_option("#recipients select[name=state]", "queued")
    page.locator("#recipients .pagination").get_by_text("Page 1").wait_for()
    assert page.locator("#campaign-live").get_attribute("hx-get") == f"/campaigns/{campaign.id}?state=queued"
    assert _polls_after(page, f"/campaigns/{campaign.id}", 5) >= 2
    assert page.input_value("#recipients select[name=state]") == "queued" and _same_document(page)


def test_ivr_calls_page_keeps_open_details_and_shows_the_retry(page, app, users, sandbox, worker):
    from tests.ivr.helpers import ivr_campaign, make_list
    from webapp.campaigns import service
    from webapp.models import Send, utcnow

    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("Survey", ["+6281234560000", "+6281234560486"]).id],
                                retry_attempts=1, retry_gap_minutes=1)
        service.launch(campaign)
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto(f"/campaigns/{campaign.id}/calls")
    calls = page.locator("#ivr-calls[data-live]")
    calls.locator("[data-retry-pending]").wait_for(timeout=30000)
    row_id = calls.locator("tr", has=page.locator("[data-retried]")).get_attribute("id")
    busy = page.locator(f"#{row_id}")
    assert "busy · called again" in busy.inner_text()
    busy.locator("summary").click()
    _mark_document(page)
    assert _polls_after(page, f"/campaigns/{campaign.id}/calls", 5) >= 2
    assert busy.locator("details").get_attribute("open") is not None  # the morph kept it open

    with app.app_context():
        Send.update(not_before=utcnow()).where(Send.retry_of.is_null(False)).execute()
    page.locator("#ivr-calls:not([data-live])").wait_for(timeout=40000)
    assert page.locator("#ivr-calls [data-retry-pending]").count() == 0
    assert page.locator("#ivr-calls tbody tr").count() == 3 and _same_document(page)
    assert busy.locator("details").get_attribute("open") is not None
