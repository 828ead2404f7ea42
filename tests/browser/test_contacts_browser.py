import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from webapp.contacts import service
from webapp.models import Contact

pytestmark = pytest.mark.browser

CSV = ("Nama,HP,Kota,Email\nBudi Santoso,0812-3456-7890,Surabaya,budi@example.com\n"
       "Siti Aminah,+6281298765432,Bandung,nope@\nRusak,999,x,\nUS,+1 415 555 0100,y,\n"
       "Budi lagi,081234567890,Malang,\nAni,081311112222,=1+2,\n")


def test_import_a_csv_preview_confirm_and_find_the_contact(page, users, worker):
    service.create_contact("Ani", "081311112222")
    sign_in(page, users["admin"].email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/contacts/import")
    page.set_input_files("input[name=file]", files=[
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_text("The first 5 rows are shown").wait_for()
    assert page.locator("select[name=target_0]").input_value() == "name"
    assert page.locator("select[name=target_1]").input_value() == "phone"
    assert page.locator("input[name=dedupe][value=fill]").is_checked()
    page.fill("input[name=new_list]", "Browser import")
    page.get_by_role("button", name="Preview the import").click()
    # The dry run runs in the worker; the page polls until its preview is there.
    counts = page.locator("#import-plan-counts")
    expect(counts).to_contain_text("6 rows read: 2 new, 1 updated, 0 unchanged, 2 refused, 1 duplicates within "
                                   "the file, 1 with a warning")
    state = page.locator("#import-state")
    assert "is a number in United States" in state.inner_text()
    assert "same phone number as line 2" in state.inner_text()
    expect(state.locator("tr", has_text="+62 813-1111-2222").locator("td")).to_have_text(
        ["7", "+62 813-1111-2222", "kota", "(empty)", "=1+2"])
    assert Contact.select().count() == 1
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Import now").click()
    # Progress replaces the preview and polls itself until the job is done, without a page load.
    expect(page.locator("#import-state .badge")).to_have_text("done")
    expect(page.locator("#import-result")).to_contain_text(
        "6 of 6 rows read: 2 new, 1 updated, 0 unchanged, 2 refused, 1 duplicates within the file, 1 with a warning")
    assert page.get_by_text("Import finished").is_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert Contact.get(Contact.name == "Ani").fields == {"kota": "=1+2"}

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
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Opt out").click()
    expect(page.locator("#flashes")).to_contain_text("3 contacts opted out.")
    expect(page.locator("#results .badge-failed")).to_have_count(3)
