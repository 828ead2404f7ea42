import io
import os
from datetime import timedelta

import pytest

from tests.contacts.conftest import csv_bytes
from webapp.contacts import importer, service
from webapp.contacts.importer import ImportFileError
from webapp.contacts.service import ContactError
from webapp.models import Contact, ContactEvent, ContactList, ContactListMember, ImportJob, ImportRowError, utcnow

GOOD = [["Name", "Phone", "Email", "City"], ["Budi", "0812-3456-7890", "budi@example.com", "Jakarta"],
        ["Siti", "+6281298765432", "", "Bandung"]]


def contacts():
    return {c.phone: c for c in Contact.select()}


def test_import_creates_contacts_in_a_new_list(ctx, run_import):
    job = run_import(csv_bytes(GOOD), new_list="Webinar")
    assert (job.status, job.total_rows, job.processed_rows, job.created_count, job.error_count) == ("done", 2, 2, 2, 0)
    budi = contacts()["+6281234567890"]
    assert (budi.name, budi.email, budi.fields) == ("Budi", "budi@example.com", {"city": "Jakarta"})
    webinar = ContactList.get(ContactList.name == "Webinar")
    assert ContactListMember.select().where(ContactListMember.list == webinar.id).count() == 2
    assert [e.kind for e in budi.events] == ["imported"]
    assert os.listdir(ctx.config["INSTANCE_UPLOADS"]) == []


def test_guessed_mapping(ctx):
    job = importer.create_job(io.BytesIO(csv_bytes(
        [["Nama", "No HP", "E-mail", "Kota", "lists", "opted_out"], ["A", "081234567890", "", "X", "", ""]])), "a.csv")
    assert job.mapping_list == ["name", "phone", "email", "field:kota", "ignore", "ignore"]


def test_rows_with_errors_are_reported_by_line(ctx, run_import):
    data = csv_bytes([
        ["name", "phone", "email"],
        ["Multi\nline", "081234567890", ""],
        ["Short", "123", ""],
        [],
        ["No phone", "", ""],
        ["Bad mail", "081298765432", "nope@"],
        ["Excel", "6.28123E+11", ""],
    ])
    job = run_import(data)
    errors = [(e.line, e.reason) for e in importer.error_rows(job)]
    assert [line for line, _ in errors] == [4, 6, 7, 8]
    assert "'123' is not a valid phone number" in errors[0][1]
    assert errors[1][1] == "no phone number"
    assert "not a valid e-mail" in errors[2][1]
    assert "turned into a number by a spreadsheet" in errors[3][1]
    assert (job.created_count, job.error_count) == (1, 4)
    assert ImportRowError.get(ImportRowError.line == 4).cells == ["Short", "123", ""]


def test_formula_cells_are_stored_as_plain_text_never_kept_as_formulas(ctx, run_import):
    data = csv_bytes([
        ["name", "phone", "notes", "balance"],
        ['=HYPERLINK("http://evil")', "081234567890", "@SUM(A1)", "-5"],
        ["+cmd|' /C calc'!A0", "'+6281298765432", "=1+1", "+3.5"],
        ["Formula phone", "=1+1", "", ""],
    ])
    job = run_import(data)
    by_phone = contacts()
    first, second = by_phone["+6281234567890"], by_phone["+6281298765432"]
    assert first.name == 'HYPERLINK("http://evil")'
    assert first.fields == {"notes": "SUM(A1)", "balance": "-5"}
    assert second.name == "cmd|' /C calc'!A0"
    assert second.fields == {"notes": "1+1", "balance": "+3.5"}
    assert [(e.line, e.reason[:6]) for e in importer.error_rows(job)] == [(4, "phone:")]


def test_dedupe_update_merges_into_the_existing_contact(ctx, run_import):
    existing = service.create_contact("Budi", "081234567890", "old@example.com", {"city": "Jakarta", "plan": "basic"})
    job = run_import(csv_bytes([["name", "phone", "plan"], ["Budi B.", "+6281234567890", "pro"]]), dedupe="update")
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 0)
    budi = Contact.get_by_id(existing.id)
    assert (budi.name, budi.email, budi.fields) == ("Budi B.", "old@example.com", {"city": "Jakarta", "plan": "pro"})
    assert "pro" in budi.search
    assert [e.kind for e in budi.events.order_by(ContactEvent.id)] == ["created", "import_updated"]


def test_dedupe_skip_leaves_the_contact_but_adds_it_to_the_list(ctx, run_import):
    existing = service.create_contact("Budi", "081234567890", fields={"plan": "basic"})
    job = run_import(csv_bytes([["name", "phone", "plan"], ["Other", "081234567890", "pro"]]), dedupe="skip",
                     new_list="VIP")
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 0, 1)
    budi = Contact.get_by_id(existing.id)
    assert (budi.name, budi.fields) == ("Budi", {"plan": "basic"})
    assert ContactListMember.select().where(ContactListMember.contact == budi.id).count() == 1


@pytest.mark.parametrize("dedupe, counts, name, fields", [
    ("update", (1, 2, 0), "Budi 3", {"a": "1", "b": "2"}),
    ("skip", (1, 0, 2), "Budi 1", {"a": "1"}),
])
def test_duplicates_within_the_file_across_batches(ctx, run_import, monkeypatch, dedupe, counts, name, fields):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    data = csv_bytes([["name", "phone", "a", "b"], ["Budi 1", "081234567890", "1", ""],
                      ["Budi 2", "0812 3456 7890", "", "2"], ["Budi 3", "+6281234567890", "", ""]])
    job = run_import(data, dedupe=dedupe)
    assert (job.created_count, job.updated_count, job.skipped_count) == counts
    assert job.created_count + job.updated_count + job.skipped_count + job.error_count == job.processed_rows == 3
    budi = Contact.get()
    assert (budi.name, budi.fields) == (name, fields)


def test_progress_counters_advance_per_batch(ctx, run_import, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    rows = [["name", "phone"]] + [[f"P{i}", f"0812000000{i:02d}"] for i in range(5)]
    job = run_import(csv_bytes(rows))
    assert (job.total_rows, job.processed_rows, job.created_count, job.percent) == (5, 5, 5, 100)


def test_file_without_header_row(ctx, run_import):
    data = csv_bytes([["Budi", "081234567890"], ["Siti", "081298765432"]])
    job = importer.create_job(io.BytesIO(data), "plain.csv")
    assert (job.has_header, job.header_list, job.total_rows) == (False, ["Column 1", "Column 2"], 2)
    assert job.mapping_list == ["ignore", "phone"]
    job = run_import(data, mapping=["name", "phone"])
    assert sorted(c.name for c in Contact.select()) == ["Budi", "Siti"]


@pytest.mark.parametrize("data, encoding, name, note", [
    ("Name,Phone\nJosé,081234567890\n".encode("cp1252"), "cp1252", "José", "Windows-1252"),
    (b"Name,Phone\nA\x81\xe9,081234567890\n", "latin-1", "A\x81é", "Latin-1"),
    ("\ufeffName,Phone\nJosé,081234567890\n".encode(), "utf-8-sig", "José", ""),
    ("Name\tPhone\r\nJosé\t081234567890\r\n".encode("utf-16"), "utf-16", "José", ""),
    ("Name;Phone;City\nJosé;081234567890;Medan, Sumut\n".encode(), "utf-8-sig", "José", ""),
])
def test_encodings_and_delimiters(ctx, run_import, data, encoding, name, note):
    job = importer.create_job(io.BytesIO(data), "a.csv")
    assert job.encoding == encoding and note in job.note and (note or job.note == "")
    run_import(data)
    assert Contact.get().name == name


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty"),
    (b"\n \r\n\n", "The file is empty"),
    (b"name,phone\n", "header row but no data rows"),
    (b"name,phone\n,,\n", "header row but no data rows"),
    (b"\x00\x01\x02\x03binary", "not a text file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "not a text file"),
    (b"name,city\nBudi,Jakarta\nSiti,Bandung\n", "No column holds phone numbers"),
    (b"phone,notes\n081234567890,\"" + b"x" * 200_000 + b"\"\n", "cannot be read as CSV"),
    (b"\xff\xfeA\x00B", "damaged"),
    (b"phone\n" + b"081234567890\n" * 120_000, "larger than 1 MB"),
], ids=["empty", "blank-lines", "header-only", "header-and-blank-row", "binary", "xlsx", "xls", "no-phone",
        "huge-cell", "broken-utf16", "too-large"])
def test_bad_files_are_refused_with_a_clear_message(ctx, data, message):
    ctx.config["IMPORT_MAX_MB"] = 1
    with pytest.raises(ImportFileError, match=message):
        importer.create_job(io.BytesIO(data), "bad.csv")
    assert ImportJob.select().count() == 0
    assert os.listdir(ctx.config["INSTANCE_UPLOADS"]) == []


@pytest.mark.parametrize("targets, keys, message", [
    (["name", "ignore", "ignore"], ["", "", ""], "phone number"),
    (["phone", "phone", "ignore"], ["", "", ""], "Only one column can be the phone"),
    (["phone", "field", "field"], ["", "city", "City"], "Two columns"),
    (["phone", "field", "ignore"], ["", "name", ""], "built-in column"),
])
def test_invalid_mappings_are_refused(targets, keys, message):
    with pytest.raises(ContactError, match=message):
        importer.validate_mapping(["a", "b", "c"], targets, keys)


def test_mapping_falls_back_to_the_header_for_field_names():
    assert importer.validate_mapping(["Phone", "Kota Asal"], ["phone", "field"], ["", ""]) == [
        "phone", "field:kota_asal"]


def test_configure_needs_a_draft_and_a_known_list(ctx):
    job = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "a.csv")
    with pytest.raises(ContactError, match="Choose a list"):
        importer.configure(job, job.mapping_list, "update", list_id="999")
    with pytest.raises(ContactError, match="already exist"):
        importer.configure(job, job.mapping_list, "merge-somehow")
    importer.configure(job, job.mapping_list, "update")
    with pytest.raises(ContactError, match="already been started"):
        importer.configure(job, job.mapping_list, "update")


def test_stale_jobs_and_abandoned_uploads_are_failed(ctx):
    running = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "a.csv")
    importer.configure(running, running.mapping_list, "update")
    draft = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "b.csv")
    fresh = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "c.csv")
    ImportJob.update(updated_at=utcnow() - timedelta(minutes=10)).where(ImportJob.id == running.id).execute()
    ImportJob.update(created_at=utcnow() - timedelta(days=2)).where(ImportJob.id == draft.id).execute()
    importer.fail_stale_jobs()
    statuses = {j.id: (j.status, j.message[:20]) for j in ImportJob.select()}
    assert statuses[running.id] == ("failed", "The import was inter")
    assert statuses[draft.id] == ("failed", "The upload expired b")
    assert statuses[fresh.id][0] == "draft"
    assert os.listdir(ctx.config["INSTANCE_UPLOADS"]) == [fresh.stored_name]


def test_a_crash_mid_import_fails_the_job_without_a_traceback_for_the_user(ctx, monkeypatch):
    job = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "a.csv")
    importer.configure(job, job.mapping_list, "update")

    def explode(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer._Batcher, "flush", explode)
    job = importer.run_import(job.id)
    assert job.status == "failed" and "stopped unexpectedly" in job.message and "fire" not in job.message
    assert importer.run_import(job.id) is None


def test_stale_job_sweep_is_scheduled(app):
    from webapp.scheduler import JOBS

    assert "contacts-stale-imports" in [job_id for job_id, _func, _seconds in JOBS]
