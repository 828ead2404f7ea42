"""Settings and compose details a new operator relies on: safe defaults, honest warnings, matching figures."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_a_new_user_is_an_agent_unless_chosen_otherwise(page, users):
    sign_in(page, "admin@example.com", PASSWORD)
    page.goto("/settings/users/")
    assert page.locator("select[name=role]").input_value() == "agent"


def test_callback_urls_on_this_machine_carry_a_warning(page, users):
    # The test app's PUBLIC_BASE_URL is a loopback address, as in the demo.
    sign_in(page, "admin@example.com", PASSWORD)
    page.goto("/settings/providers")
    warning = page.locator("#provider-citcall .callback-warning")
    assert "cannot reach 127.0.0.1" in warning.inner_text() and "PUBLIC_BASE_URL" in warning.inner_text()
    assert page.locator("#provider-oca .callback-warning").count() == 0


def test_the_otp_text_placeholder_has_one_x_per_code_digit(page, users):
    from webapp.otp.service import SMS_CODE_DIGITS

    sign_in(page, "agent@example.com", PASSWORD)
    page.goto("/otp/")
    placeholder = "X" * SMS_CODE_DIGITS
    assert f"{placeholder} becomes the code" in page.locator("form").filter(has_text="SMS text").inner_text()
    assert page.input_value("input[name=sms_text]").endswith(f" {placeholder}")


def test_the_launch_confirmation_and_the_saved_estimate_match_the_preview(page, app, users):
    from tests.campaigns.helpers import make_list
    from webapp.contacts.service import add_to_list, create_contact

    with app.app_context():
        contact_list = make_list("Pelanggan", ["+6281234560000"])
        # A long name pushes this recipient's text into a second part; the sample contact's text is one part.
        add_to_list([create_contact("B" * 40, "+6281234561000").id], contact_list.id)
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Promo panjang")
    page.check("text=Pelanggan")
    page.fill("textarea[name=message]", "Halo {{name}}, " + "x" * 130)
    preview = page.locator("#preview")
    preview.filter(has_text="Estimated cost: 1,050 IDR").wait_for()
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("button:has-text('Launch')")
    page.wait_for_url("**/campaigns/*")
    assert asked == ["Launch this campaign to 2 recipients, estimated cost 1,050 IDR?"]
    page.get_by_text("estimated 1,050 IDR").wait_for()
