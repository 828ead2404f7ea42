"""The compose pages' live panels: the preview answers any change at once, the test send keeps its own line."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _words(locator):
    return " ".join(locator.inner_text().split())


def test_sms_preview_follows_each_change_before_the_form_is_complete(page, app, users):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Bandung", ["+6281234560000", "+6281234561000", "+6281234562000"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    preview = page.locator("#preview")
    preview.get_by_text("0 recipients").wait_for()
    # Name and message are still empty (both required): the preview must not wait for them.
    page.check("text=Pelanggan Bandung")
    preview.filter(has_text="3 recipients").wait_for()
    page.fill("textarea[name=message]", "x" * 161)
    preview.filter(has_text="161 characters").wait_for()
    assert "2 SMS" in _words(preview)
    assert "Estimated cost: 2,100 IDR" in _words(preview)


def test_ivr_preview_shows_the_audience_before_the_name_is_given_and_launch_asks_for_it(page, app, users, sandbox):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Survey", ["+6281234560000", "+6281234560002"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new-ivr")
    preview = page.locator("#preview")
    preview.get_by_text("0 recipients").wait_for()
    page.check("text=Pelanggan Survey")
    preview.filter(has_text="2 recipients").wait_for()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button:has-text('Launch')")
    assert asked == ["Launch this campaign to call 2 recipients?"]


def test_test_send_line_moves_to_delivered_and_the_preview_keeps_working(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Bandung", ["+6281234560000", "+6281234561000"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("textarea[name=message]", "Halo {{name}}")
    page.fill("input[name=test_number]", "+6281234569000")
    page.click("button:has-text('Send a test')")
    line = page.locator("#test-send-result")
    # The status line polls itself in place until the simulator's DLR arrives.
    line.locator(".badge-delivered").wait_for(timeout=15000)
    assert "Test to" in line.inner_text()
    preview = page.locator("#preview")
    assert "Preview" in preview.inner_text() and "Test to" not in preview.inner_text()
    # Later edits still reach the preview panel.
    page.check("text=Pelanggan Bandung")
    preview.filter(has_text="2 recipients").wait_for()
    page.fill("textarea[name=message]", "Halo {{name}}, sampai jumpa")
    preview.get_by_text("Halo Person 0, sampai jumpa").wait_for()


def test_an_invalid_test_number_shows_why_under_the_test_field(page, users):
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("textarea[name=message]", "Halo")
    page.fill("input[name=test_number]", "12")
    page.click("button:has-text('Send a test')")
    page.locator("#test-send-result [role=alert]").filter(has_text="Test number: '12' is not").wait_for()
    assert "Preview" in page.locator("#preview").inner_text()


def test_compose_test_launch_and_watch_a_blast_finish_without_a_reload(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Bandung", ["+6281234560000", "+6281234561000", "+6281234562000"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    preview = page.locator("#preview")
    page.check("text=Pelanggan Bandung")
    page.fill("textarea[name=message]", "Halo {{name}}, diskon 20% di {{city}}!")
    preview.get_by_text("Halo Person 0, diskon 20% di Bandung!").wait_for()
    assert "3 recipients" in _words(preview) and "Estimated cost: 1,050 IDR" in _words(preview)
    page.fill("input[name=name]", "Promo Desember")

    page.fill("input[name=test_number]", "+6281234569000")
    page.click("button:has-text('Send a test')")
    page.locator("#test-send-result .badge-delivered").wait_for(timeout=15000)

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("button:has-text('Launch')")
    page.wait_for_url("**/campaigns/*")
    assert asked == ["Launch this campaign to 3 recipients, estimated cost 1,050 IDR?"]
    page.get_by_text("Campaign launched: 3 recipients.").wait_for()
    # From here the page only refreshes its own parts: any navigation would drop this marker.
    page.evaluate("window.notReloaded = true")
    progress = page.locator("#campaign-progress")
    progress.locator("[data-state=delivered]").filter(has_text="3").wait_for(timeout=20000)
    progress.get_by_text("100%").wait_for()
    page.locator("[data-campaign-status]").filter(has_text="completed").wait_for(timeout=15000)
    assert page.locator("#recipients tbody .badge-delivered").count() == 3
    assert page.get_by_role("button", name="Pause").count() == 0
    assert page.evaluate("window.notReloaded") is True
