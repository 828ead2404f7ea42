import io
import time
from datetime import timedelta

import pytest

from tests.contacts.conftest import csv_bytes
from webapp.contacts import import_run, optouts, service
from webapp.models import Contact, ContactListMember, ImportFile, ImportJob, OptOut, utcnow


@pytest.fixture
def people(ctx):
    vip = service.create_list("VIP")
    budi = service.create_contact("Budi", "081234567890", fields={"city": "Surabaya"}, list_ids=[vip.id])
    siti = service.create_contact("Siti", "081298765432")
    return {"vip": vip, "budi": budi, "siti": siti}


def html(response):
    return response.get_data(as_text=True)


def test_empty_state_invites_to_add_or_import(auth):
    auth.login("supervisor")
    page = html(auth.client.get("/contacts/"))
    assert "No contacts yet" in page and "/contacts/import" in page and 'hx-history="false"' in page


def test_agents_see_no_import_offer(auth):
    auth.login("agent")
    page = html(auth.client.get("/contacts/"))
    assert "No contacts yet" in page and "/contacts/import" not in page


def test_list_page_and_htmx_search_fragment(auth, people):
    auth.login("agent")
    page = html(auth.client.get("/contacts/"))
    assert "<html" in page and "+62 812-3456-7890" in page and "Siti" in page
    response = auth.htmx("GET", "/contacts/?q=surabaya")
    fragment = html(response)
    assert "<html" not in fragment and "Budi" in fragment and "Siti" not in fragment
    assert 'id="filter-sort"' in fragment and "HX-Request" in response.headers["Vary"]
    assert "No contacts match" in html(auth.htmx("GET", "/contacts/?q=nobody"))
    assert "Siti" not in html(auth.htmx("GET", f"/contacts/?list={people['vip'].id}"))
    by_name_desc = html(auth.htmx("GET", "/contacts/?sort=-name"))
    assert by_name_desc.index("Siti") < by_name_desc.index("Budi")


def test_history_restore_gets_the_full_page(auth, people):
    auth.login("agent")
    page = html(auth.htmx("GET", "/contacts/", headers={"HX-History-Restore-Request": "true"}))
    assert "<html" in page


@pytest.mark.parametrize("method, path, data", [
    ("GET", "/contacts/import", None),
    ("GET", "/contacts/export.csv", None),
    ("POST", "/contacts/bulk", {"action": "delete", "ids": "1"}),
    ("POST", "/contacts/bulk", {"action": "add_to_list", "ids": "1", "target_list": "1"}),
    ("POST", "/contacts/lists", {"name": "New"}),
    ("POST", "/contacts/lists/1/delete", None),
    ("POST", "/contacts/1/delete", None),
    ("POST", "/contacts/1/opt-in", None),
    ("POST", "/contacts/1/lists", {"list": "1"}),
])
def test_agents_are_refused_supervisor_actions(auth, people, method, path, data):
    auth.login("agent")
    response = auth.client.get(path) if method == "GET" else auth.post(path, data=data)
    assert response.status_code == 403
    assert Contact.select().count() == 2 and service.all_lists()


def test_post_without_csrf_token_is_refused(auth, people):
    auth.login("admin")
    response = auth.client.post("/contacts/bulk", data={"action": "delete", "ids": str(people["budi"].id)})
    assert response.status_code == 400 and Contact.select().count() == 2


def test_bulk_actions(auth, people):
    auth.login("supervisor")
    budi, siti, vip = people["budi"], people["siti"], people["vip"]
    response = auth.htmx("POST", "/contacts/bulk", data={"action": "add_to_list", "ids": [siti.id],
                                                          "target_list": vip.id})
    assert "1 contact added to VIP" in html(response) and 'hx-swap-oob="true"' in html(response)
    response = auth.htmx("POST", "/contacts/bulk", data={"action": "remove_from_list", "ids": [budi.id, siti.id],
                                                          "target_list": vip.id})
    assert "2 contacts removed from VIP" in html(response)
    response = auth.htmx("POST", "/contacts/bulk", data={"action": "opt_out", "ids": [budi.id]})
    assert "1 contact opted out" in html(response) and optouts.is_opted_out(budi.phone)
    assert "Select at least one" in html(auth.htmx("POST", "/contacts/bulk", data={"action": "delete"}))
    response = auth.htmx("POST", "/contacts/bulk", data={"action": "delete", "ids": [siti.id]})
    assert "1 contact deleted" in html(response) and Contact.select().count() == 1


def test_bulk_on_everything_matching_the_filter(auth, people):
    auth.login("supervisor")
    service.create_contact("Budiman", "081200000001")
    response = auth.post("/contacts/bulk", data={"action": "delete", "scope": "all", "q": "budi"})
    assert response.status_code == 302 and "q=budi" in response.headers["Location"]
    assert [c.name for c in Contact.select()] == ["Siti"]


def test_agents_may_bulk_opt_out(auth, people):
    auth.login("agent")
    response = auth.post("/contacts/bulk", data={"action": "opt_out", "ids": [people["siti"].id]})
    assert response.status_code == 302 and OptOut.select().count() == 1


def test_contact_page_timeline_and_inline_edit(auth, people):
    auth.login("agent")
    budi = people["budi"]
    page = html(auth.client.get(f"/contacts/{budi.id}"))
    assert "Contact created" in page and "Surabaya" in page
    form = html(auth.htmx("GET", f"/contacts/{budi.id}/edit"))
    assert "<html" not in form and 'name="field_key" value="city"' in form
    response = auth.htmx("POST", f"/contacts/{budi.id}", data={
        "name": "Budi S", "phone": "+62 812-3456-7890", "email": "", "field_key": ["city", "plan", ""],
        "field_value": ["Malang", "pro", ""]})
    assert response.status_code == 200 and "Changes saved" in html(response) and "Malang" in html(response)
    assert Contact.get_by_id(budi.id).fields == {"city": "Malang", "plan": "pro"}
    refused = auth.htmx("POST", f"/contacts/{budi.id}", data={"name": "Budi", "phone": "12"})
    assert "not a valid phone number" in html(refused) and 'name="phone" required value="12"' in html(refused)
    assert "Details edited" in html(auth.client.get(f"/contacts/{budi.id}"))


def test_plain_form_edit_without_htmx(auth, people):
    auth.login("agent")
    budi = people["budi"]
    assert auth.client.get(f"/contacts/{budi.id}/edit").status_code == 200
    assert auth.post(f"/contacts/{budi.id}", data={"name": "B", "phone": "x"}).status_code == 422
    assert auth.post(f"/contacts/{budi.id}", data={"name": "B", "phone": budi.phone}).status_code == 302


def test_contact_page_offers_click_to_call(auth, people):
    auth.login("agent")
    page = html(auth.client.get(f"/contacts/{people['budi'].id}"))
    assert "call-area" in page and 'action="/calls/start"' in page


def test_unknown_contact_is_a_styled_404(auth):
    auth.login("agent")
    response = auth.client.get("/contacts/999")
    assert response.status_code == 404 and "There is nothing at this address" in html(response)


def test_create_contact(auth, people):
    auth.login("agent")
    response = auth.post("/contacts/new", data={"name": "Dewi", "phone": "081277778888", "field_key": ["kota"],
                                                "field_value": ["Bogor"], "lists": [people["vip"].id]})
    assert response.status_code == 302
    dewi = Contact.get(Contact.name == "Dewi")
    assert dewi.fields == {"kota": "Bogor"}
    # Agents do not manage lists, so the list choice is ignored for them.
    assert ContactListMember.select().where(ContactListMember.contact == dewi.id).count() == 0
    duplicate = auth.post("/contacts/new", data={"name": "Again", "phone": "+6281277778888"})
    assert duplicate.status_code == 422 and "already exists" in html(duplicate)


def test_opt_out_and_back_in_from_the_contact_page(auth, people):
    budi = people["budi"]
    auth.login("agent")
    auth.post(f"/contacts/{budi.id}/opt-out", data={"reason": "asked"})
    assert "opted out" in html(auth.client.get(f"/contacts/{budi.id}"))
    auth.logout()
    auth.login("supervisor")
    auth.post(f"/contacts/{budi.id}/opt-in")
    assert not optouts.is_opted_out(budi.phone)


def test_lists_page(auth, people):
    auth.login("supervisor")
    assert auth.post("/contacts/lists", data={"name": "Webinar"}).status_code == 302
    assert auth.post("/contacts/lists", data={"name": "Webinar"}).status_code == 422
    vip = people["vip"]
    auth.post(f"/contacts/lists/{vip.id}", data={"name": "VIP 2026", "description": "best"})
    page = html(auth.client.get("/contacts/lists"))
    assert "VIP 2026" in page and "Webinar" in page
    auth.post(f"/contacts/lists/{vip.id}/delete")
    assert Contact.select().count() == 2 and [lst.name for lst in service.all_lists()] == ["Webinar"]


def test_do_not_contact_page(auth, people):
    auth.login("agent")
    assert auth.post("/contacts/do-not-contact", data={"phone": "0811 1111 2222", "reason": "x"}).status_code == 302
    assert auth.post("/contacts/do-not-contact", data={"phone": "nope"}).status_code == 422
    page = html(auth.client.get("/contacts/do-not-contact?q=0811"))
    assert "+62 811-1111-2222" in page
    entry = OptOut.get()
    assert auth.post(f"/contacts/do-not-contact/{entry.id}/remove").status_code == 403
    auth.logout()
    auth.login("supervisor")
    auth.post(f"/contacts/do-not-contact/{entry.id}/remove")
    assert OptOut.select().count() == 0


def state_fragment(auth, job_id, polling):
    """The job page's htmx fragment, after the worker's turn (run here in-process)."""
    import_run.run_pending(auth.client.application)
    fragment = " ".join(html(auth.htmx("GET", f"/contacts/import/{job_id}")).split())
    assert ('hx-trigger="load delay:1s"' in fragment) is polling
    return fragment


def test_import_through_the_pages(auth):
    auth.login("supervisor")
    service.create_contact("Budi", "081234567890", None, {"kota": "Jakarta"})
    data = csv_bytes([["Nama", "HP", "Kota", "Email"], ["Budi B.", "081234567890", "Surabaya", "budi@example.com"],
                      ["Rusak", "999", "x", ""], ["Ani", "081298765432", "=1+2", "nope@"],
                      ["Ani lagi", "0812 9876 5432", "", ""]])
    response = auth.post("/contacts/import", data={"file": (io.BytesIO(data), "people.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job = ImportJob.get()
    page = html(auth.client.get(job_url))
    assert "The first 4 rows are shown" in page and "Rusak" in page and 'name="key_2" value="kota"' in page
    assert 'value="fill" checked' in page
    response = auth.post(f"/contacts/import/{job.id}/plan", data={
        "target_0": "name", "target_1": "phone", "target_2": "field", "key_2": "kota", "target_3": "email",
        "dedupe": "fill", "new_list": "Imported"})
    assert response.status_code == 302 and ImportJob.get().status == "planning"
    assert "Checking every row" in html(auth.client.get(job_url))
    # The web never imports: until the worker's dry run, nothing changes.
    assert "Checking every row" in html(auth.htmx("GET", f"/contacts/import/{job.id}"))
    preview = state_fragment(auth, job.id, polling=False)
    assert "4 rows read: <strong>1 new</strong>" in preview and "<strong>1 updated</strong>" in preview
    assert "<strong>1 refused</strong>, 1 duplicates within the file" in preview
    assert "<td>e-mail</td><td>(empty)</td><td>budi@example.com</td>" in preview
    assert "same phone number as line 4" in preview and "&#39;nope@&#39; is not a valid e-mail" in preview
    assert Contact.select().count() == 1
    assert auth.post(f"/contacts/import/{job.id}/confirm").status_code == 302
    assert "Waiting for a worker" in html(auth.htmx("GET", f"/contacts/import/{job.id}"))
    done = state_fragment(auth, job.id, polling=False)
    assert "Import finished" in done and "Rows not imported" in done and "&#39;999&#39; is not a valid" in done
    assert "1 new, 1 updated, 0 unchanged, 1 refused, 1 duplicates within the file, 1 with a warning" in done
    assert Contact.get(Contact.name == "Ani").fields == {"kota": "=1+2"}
    assert Contact.get(Contact.name == "Budi").fields == {"kota": "Jakarta"}
    errors = auth.client.get(f"/contacts/import/{job.id}/errors.csv")
    assert errors.mimetype == "text/csv"
    assert html(errors).splitlines()[1] == "3,phone: '999' is not a valid phone number,Rusak,999,x,"
    page = html(auth.client.get("/contacts/import"))
    assert "people.csv" in page and "badge-done" in page


def test_import_with_a_bad_mapping_goes_back_to_the_columns(auth):
    auth.login("supervisor")
    data = csv_bytes([["Nama", "HP"], ["Budi", "081234567890"]])
    auth.post("/contacts/import", data={"file": (io.BytesIO(data), "a.csv")}, content_type="multipart/form-data")
    job = ImportJob.get()
    response = auth.post(f"/contacts/import/{job.id}/plan", data={"target_0": "name", "target_1": "ignore",
                                                                  "dedupe": "fill"})
    assert response.status_code == 302 and ImportJob.get().status == "draft"
    assert "Choose which column holds the phone number" in html(auth.client.get(response.headers["Location"]))


def test_cancel_from_the_preview(auth):
    auth.login("supervisor")
    data = csv_bytes([["Nama", "HP"], ["Budi", "081234567890"]])
    auth.post("/contacts/import", data={"file": (io.BytesIO(data), "a.csv")}, content_type="multipart/form-data")
    job = ImportJob.get()
    auth.post(f"/contacts/import/{job.id}/plan", data={"target_0": "name", "target_1": "phone", "dedupe": "fill"})
    import_run.run_pending(auth.client.application)
    auth.post(f"/contacts/import/{job.id}/cancel")
    assert ImportJob.get().status == "cancelled" and ImportFile.select().count() == 0
    assert "Cancelled before anything was imported" in html(auth.client.get(f"/contacts/import/{job.id}"))


def test_a_job_no_worker_takes_says_so(auth):
    auth.login("supervisor")
    data = csv_bytes([["Nama", "HP"], ["Budi", "081234567890"]])
    auth.post("/contacts/import", data={"file": (io.BytesIO(data), "a.csv")}, content_type="multipart/form-data")
    job = ImportJob.get()
    auth.post(f"/contacts/import/{job.id}/plan", data={"target_0": "name", "target_1": "phone", "dedupe": "fill"})
    assert "No worker has taken this job yet" not in html(auth.htmx("GET", f"/contacts/import/{job.id}"))
    ImportJob.update(updated_at=utcnow() - timedelta(minutes=1)).where(ImportJob.id == job.id).execute()
    assert "No worker has taken this job yet" in html(auth.htmx("GET", f"/contacts/import/{job.id}"))


def test_a_million_column_header_answers_a_clear_error_at_once(auth):
    auth.login("supervisor")
    data = b",".join(b"c%d" % i for i in range(1_000_000)) + b"\n081234567890\n"
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="wide.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + data + b"\r\n--XYZ--\r\n")
    started = time.monotonic()
    response = auth.post("/contacts/import", data=body, content_type="multipart/form-data; boundary=XYZ")
    assert time.monotonic() - started < 3
    assert response.status_code == 422 and "(about 1,000,000 columns)" in html(response)
    assert ImportJob.select().count() == 0 and ImportFile.select().count() == 0


@pytest.mark.parametrize("data, message", [
    (None, "Choose a CSV file"),
    (b"\x00\x01", "not a text file"),
    (b"name\nBudi\n", "No column holds phone numbers"),
])
def test_bad_uploads_show_the_reason(auth, data, message):
    auth.login("supervisor")
    form = {"file": (io.BytesIO(data), "bad.csv")} if data is not None else {}
    response = auth.post("/contacts/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 422 and message in html(response) and ImportJob.select().count() == 0


def test_upload_over_the_import_limit(app, auth):
    app.config["IMPORT_MAX_MB"] = 1
    auth.login("supervisor")
    data = b"phone\n" + b"081234567890\n" * 90_000
    # Encoded by hand: werkzeug's test client spools a large multipart body to a temp file it never closes.
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + data + b"\r\n--XYZ--\r\n")
    response = auth.post("/contacts/import", data=body, content_type="multipart/form-data; boundary=XYZ")
    assert response.status_code == 422 and "larger than 1 MB" in html(response)


def test_export_download(auth, people):
    auth.login("supervisor")
    response = auth.client.get("/contacts/export.csv?q=surabaya")
    assert response.is_streamed and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = html(response).splitlines()
    assert len(lines) == 2 and lines[1].startswith("Budi,'+6281234567890")


def test_contact_page_lists_section(auth, people):
    auth.login("supervisor")
    budi, vip = people["budi"], people["vip"]
    add_form = f'action="/contacts/{budi.id}/lists"'
    page = html(auth.client.get(f"/contacts/{budi.id}"))
    assert "VIP" in page and add_form not in page
    auth.post(f"/contacts/{budi.id}/lists/{vip.id}/remove")
    page = html(auth.client.get(f"/contacts/{budi.id}"))
    assert "In no list" in page and add_form in page
    auth.post(f"/contacts/{budi.id}/lists", data={"list": vip.id})
    assert ContactListMember.select().count() == 1


def test_contact_page_links_to_otp_verification(auth, people):
    auth.login("agent")
    page = html(auth.client.get(f"/contacts/{people['budi'].id}"))
    assert f'href="/otp/?contact_id={people["budi"].id}"' in page
