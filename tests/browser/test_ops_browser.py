import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_admin_follows_the_audit_trail_from_the_menu_and_filters_it(page, users):
    sign_in(page, "agent@example.com", "wrong-password")
    sign_in(page, "admin@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.locator("header.topbar").get_by_text("Logs").click()
    page.get_by_role("link", name="Audit trail").click()
    assert page.locator("h1").inner_text() == "Audit trail"
    assert page.locator("tbody tr").count() == 2
    page.fill("input[name=action]", "login.failed")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**action=login.failed**")
    assert page.locator("tbody tr").count() == 1
    assert "agent@example.com" in page.locator("tbody").inner_text()


def test_supervisor_opens_an_exchange_in_the_provider_log(app, page, users):
    from webapp.models import ChannelLog

    with app.app_context():
        ChannelLog.create(provider="citcall", operation="send", method="POST", url="http://sim/v3/sms",
                          request_body='{"msisdn": "6281200000000"}', status_code=200, response_body='{"rc": 0}')
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.locator("header.topbar").get_by_text("Logs").click()
    assert page.get_by_role("link", name="Audit trail").count() == 0
    page.select_option("select[name=provider]", "citcall")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**provider=citcall**")
    page.locator("summary", has_text="POST http://sim/v3/sms").click()
    assert page.get_by_text('{"rc": 0}').is_visible()


def test_admin_replays_a_failed_callback_after_confirming(app, page, users):
    from webapp.models import CallbackEvent

    with app.app_context():
        event = CallbackEvent.create(provider="masking", kind="dlr", dedupe_key="k1", method="GET",
                                     query="session_id=1&error_code=22", status="failed", error="RuntimeError: bug",
                                     attempts=3)
    sign_in(page, "admin@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.locator("header.topbar").get_by_text("Logs").click()
    page.get_by_role("link", name="Callbacks").click()
    page.select_option("select[name=status]", "failed")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**status=failed**")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#callback-{event.id} button:has-text('Replay')")
    page.wait_for_selector(f"text=Callback {event.id} replayed: orphan.")
    # Back on the list of failed ones, which it has left.
    assert "status=failed" in page.url and page.locator(f"#callback-{event.id}").count() == 0


def test_from_a_campaign_recipient_to_its_story_and_provider_exchange(app, page, users, sandbox):
    from tests.campaigns.helpers import launch, make_list, sms_campaign
    from webapp.dispatch.dispatcher import drain

    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000"]).id]))
        drain(app)
        sandbox.flush()
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/campaigns/{campaign.id}")
    page.locator("#recipients a[title=\"This send's story\"]").click()
    page.wait_for_url("**/ops/sends/*")
    assert page.locator(".moment-state").last.inner_text().split("\t")[1].strip() == "delivered"
    page.locator(".moment-exchange summary").first.click()
    assert page.get_by_text("send_post.php").first.is_visible()
