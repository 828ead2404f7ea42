import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_compose_launch_and_watch_a_blast_complete(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Bandung", ["+6281234560000", "+6281234561000", "+6281234560050"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Promo Browser")
    page.check("text=Pelanggan Bandung")
    page.fill("textarea[name=message]", "Halo {{name}}, diskon 20% di {{city}}!")
    preview = page.locator("#preview")
    preview.get_by_text("Halo Person 0, diskon 20% di Bandung!").wait_for()
    assert "3 recipients" in " ".join(preview.inner_text().split())
    assert "GSM-7" in preview.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Launch')")
    page.wait_for_url("**/campaigns/*")
    page.get_by_text("Campaign launched: 3 recipients.").wait_for()
    # The progress panel polls itself while the worker sends and the simulator reports deliveries.
    page.locator("#campaign-progress [data-state=delivered]").filter(has_text="2").wait_for(timeout=20000)
    page.locator("#campaign-progress [data-state=failed]").filter(has_text="1").wait_for()
    assert "Failures by reason" in page.locator("#campaign-progress").inner_text()


def test_compose_errors_are_shown_and_nothing_is_lost(page, users):
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Tanpa audiens")
    page.fill("textarea[name=message]", "Pesan penting")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Launch')")
    page.get_by_text("Choose at least one list, or a contact search.").wait_for()
    assert page.input_value("textarea[name=message]") == "Pesan penting"
