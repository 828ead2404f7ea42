"""The safety brake and the sender ids, as an operator meets them in Chromium."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_brake_pauses_a_blast_shows_why_and_resume_finishes_it(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import make_list

    numbers = ["+6281234500014", *[f"+62812345{i:02d}0000" for i in range(1, 30)]]  # rc 14 first: no balance
    with app.app_context():
        make_list("Pelanggan", numbers)
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Promo Rem")
    page.select_option("select[name=provider]", "citcall")
    assert page.locator("select[name=sender_id] option").all_inner_texts() == [
        "Account mask (set by the provider)", "CITCALL"]
    page.select_option("select[name=sender_id]", "CITCALL")
    page.check("text=Pelanggan")
    page.fill("textarea[name=message]", "Halo {{name}}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Launch')")
    page.wait_for_url("**/campaigns/*")
    brake = page.locator("#campaign-progress .brake-reason")
    brake.wait_for(timeout=20000)
    assert "Paused by the safety brake: CitCALL refused the account: CitCALL balance ran out (14)" in " ".join(
        brake.inner_text().split())
    page.locator("#campaign-progress [data-state=queued]").wait_for()
    page.goto("/")
    assert "Safety brake: CitCALL refused the account: CitCALL balance ran out (14)" in page.inner_text(
        "#live-status")
    page.go_back()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Resume sending')")
    page.get_by_text("Campaign resumed.").wait_for()
    page.locator("#campaign-progress [data-state=delivered]").filter(has_text="29").wait_for(timeout=20000)
    assert page.locator(".brake-reason").count() == 0
    assert "CitCALL balance ran out" in page.inner_text("#campaign-progress")  # the failure group, in words


def test_admin_lists_a_sender_id_and_a_test_send_shows_the_providers_answer(page, users, sandbox, worker):
    sign_in(page, "admin@example.com", PASSWORD)
    page.goto("/settings/")
    page.click("text=Sender ids")
    page.get_by_text("No sender ids listed yet").wait_for()
    page.select_option("select[name=provider]", "citcall")
    page.fill("input[name=value]", "NOTREG")
    page.click("button:has-text('Add')")
    page.get_by_text("Sender id NOTREG added for CitCALL.").wait_for()
    row = page.locator("tr[data-sender=NOTREG]")
    row.get_by_text("not checked yet").wait_for()
    row.locator("input[name=test_number]").fill("+6281234560000")
    row.locator("button:has-text('Check by test send')").click()
    row.get_by_text("Sender id not registered (or closed) at CitCALL (44)").wait_for(timeout=15000)
    assert "refused" in row.inner_text()
