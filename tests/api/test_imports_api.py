"""/api/v1/contacts/import and /api/v1/imports: an upload imported by a real worker pass, its refusals, roles."""
import io

from tests.api.conftest import error_of
from tests.contacts.conftest import csv_bytes
from webapp.contacts import import_run
from webapp.contacts.service import create_contact, create_list
from webapp.models import Contact, ContactListMember, ImportJob


def upload(data, name="contacts.csv", **fields):
    return {"file": (io.BytesIO(data), name), **fields}


def test_an_upload_is_planned_and_imported_by_the_worker_without_a_preview(api, app):
    with app.app_context():
        create_contact("Old", "+6281200000001", "old@example.com", {}, [])
        vip = create_list("VIP")
    boss = api("supervisor")
    data = csv_bytes([["name", "phone", "email"], ["Ani", "0812-0000-0002", ""], ["Budi", "0812-0000-0001", "x@y.z"],
                      ["Nope", "12", ""], ["Ani again", "0812-0000-0002", ""]])
    answer = boss.post("/api/v1/contacts/import", data=upload(data, dedupe="overwrite", list_id=str(vip.id)))
    assert answer.status_code == 202, answer.get_json()
    queued = answer.get_json()
    assert queued["status"] == "planning" and queued["dedupe"] == "overwrite" and queued["list_id"] == vip.id
    assert queued["status_url"] == f"/api/v1/imports/{queued['id']}"

    import_run.run_pending(app)

    job = boss.get(queued["status_url"]).get_json()
    assert job["status"] == "done", job
    assert job["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "refused": 1, "duplicates": 1,
                             "warnings": 0}
    assert [(r["line"], r["kind"]) for r in job["refusals"]] == [(4, "refused"), (5, "duplicate")]
    assert all(r["reason"] for r in job["refusals"])
    with app.app_context():
        assert Contact.get(Contact.phone == "+6281200000001").email == "x@y.z"
        assert ContactListMember.select().where(ContactListMember.list_id == vip.id).count() == 2


def test_a_refused_file_is_a_422_with_the_pages_message_and_keeps_nothing(api, app):
    boss = api("supervisor")
    no_phone = boss.post("/api/v1/contacts/import", data=upload(csv_bytes([["name", "city"], ["Ani", "Bandung"]])))
    assert no_phone.status_code == 422
    assert error_of(no_phone)["message"].startswith("No column holds phone numbers")
    workbook = boss.post("/api/v1/contacts/import", data=upload(b"PK\x03\x04rest", "book.xlsx"))
    assert "Excel workbook" in error_of(workbook)["fields"]["file"]
    app.config["IMPORT_MAX_COLUMNS"] = 3
    wide_csv = csv_bytes([["phone", "a", "b", "c"], ["0812", "", "", ""]])
    wide = boss.post("/api/v1/contacts/import", data=upload(wide_csv))
    assert wide.status_code == 422 and "at most 3" in error_of(wide)["message"]
    assert error_of(boss.post("/api/v1/contacts/import", data={}))["fields"] == {"file": "Send the CSV as `file`."}
    unknown_list = boss.post("/api/v1/contacts/import", data=upload(csv_bytes([["phone"], ["0812-0000-0001"]]),
                                                                    list_id="999"))
    assert unknown_list.status_code == 422 and error_of(unknown_list)["fields"] == {"list_id": "Choose a list."}
    bad_choice = boss.post("/api/v1/contacts/import", data=upload(csv_bytes([["phone"], ["0812"]]), dedupe="merge"))
    assert error_of(bad_choice)["fields"].keys() == {"dedupe"}
    with app.app_context():
        # Only the upload refused for its list was stored, and it is cancelled with its file gone.
        assert [(j.status, j.file_size) for j in ImportJob.select()] == [("cancelled", 0)]


def test_a_file_over_import_max_mb_is_a_413(api, app):
    app.config["IMPORT_MAX_MB"] = 1
    big = csv_bytes([["phone", "note"]] + [[f"0812{i:08d}", "x" * 100] for i in range(12_000)])
    # Encoded here: the test client would spool a body this large to a temporary file it never closes.
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n' + big
            + b"\r\n--b--\r\n")
    answer = api("supervisor").post("/api/v1/contacts/import", data=body,
                                    content_type="multipart/form-data; boundary=b")
    assert answer.status_code == 413
    error = error_of(answer)
    assert error["code"] == "too_large" and "larger than 1 MB" in error["message"]
    with app.app_context():
        assert ImportJob.select().count() == 0


def test_a_retry_with_the_same_idempotency_key_creates_one_job(api, app):
    boss = api("supervisor")
    data = csv_bytes([["phone"], ["0812-0000-0001"]])
    headers = {"Idempotency-Key": "import-1"}
    # The test client, like curl, writes a new multipart boundary for each request.
    first = boss.post("/api/v1/contacts/import", data=upload(data), headers=headers)
    again = boss.post("/api/v1/contacts/import", data=upload(data), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == first.get_json()["id"]
    other = boss.post("/api/v1/contacts/import", data=upload(data + b"0812-0000-0002\n"), headers=headers)
    assert error_of(other)["code"] == "idempotency_key_reused"
    with app.app_context():
        assert ImportJob.select().count() == 1


def test_agents_may_not_import_or_read_imports_as_on_the_page(api, app):
    data = csv_bytes([["phone"], ["0812-0000-0001"]])
    job_id = api("admin").post("/api/v1/contacts/import", data=upload(data)).get_json()["id"]
    agent = api("agent")
    assert agent.post("/api/v1/contacts/import", data=upload(data)).status_code == 403
    assert error_of(agent.get(f"/api/v1/imports/{job_id}"))["code"] == "forbidden"
    assert error_of(api("supervisor").get("/api/v1/imports/999"))["code"] == "not_found"
    with app.app_context():
        assert ImportJob.select().count() == 1
