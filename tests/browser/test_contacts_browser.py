import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

CSV = "Nama,HP,Kota\nBudi Santoso,0812-3456-7890,Surabaya\nSiti Aminah,+6281298765432,Bandung\nRusak,999,x\n"


def test_import_a_csv_and_find_the_contact(page, users):
    sign_in(page, users["admin"].email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/contacts/import")
    page.set_input_files("input[name=file]", files=[
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("3 rows to import").wait_for()
    assert page.locator("select[name=target_0]").input_value() == "name"
    assert page.locator("select[name=target_1]").input_value() == "phone"
    page.fill("input[name=new_list]", "Browser import")
    page.get_by_role("button", name="Import 3 rows").click()
    # The progress panel polls itself until the job is done.
    page.get_by_text("Import finished").wait_for()
    assert "is not a valid phone number" in page.locator("#import-progress").inner_text()

    page.goto("/contacts/")
    page.fill("#contact-search", "surabaya")
    page.wait_for_url("**q=surabaya**")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    assert "Budi Santoso" in rows.first.inner_text() and "+62 812-3456-7890" in rows.first.inner_text()

    page.get_by_role("link", name="Budi Santoso").click()
    page.get_by_text("Imported from CSV").wait_for()
    page.get_by_role("button", name="Edit").click()
    page.fill("input[name=name]", "Budi S.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Changes saved.").wait_for()
    assert page.locator("#contact-details h1").inner_text() == "Budi S."

    page.goto("/contacts/")
    page.check("[data-select-all]")
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Opt out").click()
    expect(page.locator("#flashes")).to_contain_text("2 contacts opted out.")
    expect(page.locator("#results .badge-failed")).to_have_count(2)
