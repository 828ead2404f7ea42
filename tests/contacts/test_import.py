import io
import time
from datetime import timedelta

import pytest

from tests.contacts.conftest import csv_bytes
from webapp.contacts import import_run, importer, service
from webapp.contacts.importer import ImportFileError
from webapp.contacts.service import ContactError
from webapp.models import (
    Contact,
    ContactEvent,
    ContactList,
    ContactListMember,
    ImportFile,
    ImportJob,
    ImportRowError,
    utcnow,
)

GOOD = [["Name", "Phone", "Email", "City"], ["Budi", "0812-3456-7890", "budi@example.com", "Jakarta"],
        ["Siti", "+6281298765432", "", "Bandung"]]


def contacts():
    return {c.phone: c for c in Contact.select()}


def reports(job, kind):
    return [(r.line, r.reason) for r in ImportRowError.select().where(
        (ImportRowError.job == job.id) & (ImportRowError.kind == kind)).order_by(ImportRowError.line)]


def test_import_creates_contacts_in_a_new_list_and_deletes_the_file(ctx, run_import):
    job = run_import(csv_bytes(GOOD), new_list="Webinar")
    assert (job.status, job.total_rows, job.processed_rows, job.created_count, job.error_count) == ("done", 2, 2, 2, 0)
    budi = contacts()["+6281234567890"]
    assert (budi.name, budi.email, budi.fields) == ("Budi", "budi@example.com", {"city": "Jakarta"})
    webinar = ContactList.get(ContactList.name == "Webinar")
    assert ContactListMember.select().where(ContactListMember.list == webinar.id).count() == 2
    assert [e.kind for e in budi.events] == ["imported"]
    assert ImportFile.select().count() == 0 and job.file_size == 0


def test_the_upload_is_kept_in_the_database_until_the_import_ends(ctx):
    data = csv_bytes(GOOD)
    job = importer.create_job(io.BytesIO(data), "a.csv")
    assert ImportFile.select().count() == 1 and importer.load_file(job) == data
    assert job.sample_rows == [["Budi", "0812-3456-7890", "budi@example.com", "Jakarta"],
                               ["Siti", "+6281298765432", "", "Bandung"]]


def test_guessed_mapping(ctx):
    job = importer.create_job(io.BytesIO(csv_bytes(
        [["Nama", "No HP", "E-mail", "Kota", "lists", "opted_out"], ["A", "081234567890", "", "X", "", ""]])), "a.csv")
    assert job.mapping_list == ["name", "phone", "email", "field:kota", "ignore", "ignore"]


def test_rows_are_refused_or_warned_by_line(ctx, run_import):
    data = csv_bytes([
        ["name", "phone", "email"],
        ["Multi\nline", "081234567890", ""],
        ["Short", "123", ""],
        [],
        ["No phone", "", ""],
        ["Bad mail", "081298765432", "nope@"],
        ["Excel", "6.28123E+11", ""],
        ["US", "+1 415 555 0100", ""],
    ])
    job = run_import(data)
    refused = reports(job, "refused")
    assert [line for line, _ in refused] == [4, 6, 8, 9]
    assert "'123' is not a valid phone number" in refused[0][1]
    assert refused[1][1] == "no phone number"
    assert "turned into a number by a spreadsheet" in refused[2][1]
    assert "is a number in United States; numbers in Indonesia, India only" in refused[3][1]
    # The bad e-mail is left blank and the row imported, with a warning.
    assert reports(job, "warning") == [(7, "'nope@' is not a valid e-mail address. Left blank.")]
    assert contacts()["+6281298765432"].email is None
    assert (job.created_count, job.error_count, job.warning_count) == (2, 4, 1)
    assert ImportRowError.get(ImportRowError.line == 4).cells == ["Short", "123", ""]


def test_allowed_countries_are_a_setting(ctx, run_import):
    ctx.config["PHONE_COUNTRIES"] = "ID,IN,US"
    job = run_import(csv_bytes([["phone"], ["+1 415 555 0100"], ["+91 98765 43210"]]))
    assert job.created_count == 2 and set(contacts()) == {"+14155550100", "+919876543210"}


def test_leading_formula_characters_are_kept_as_text(ctx, run_import):
    data = csv_bytes([
        ["name", "phone", "notes", "balance"],
        ["=1+2", "081234567890", "@SUM(A1)", "-5"],
        # Our export's quote before a leading = is removed again (round trip), nothing more.
        ["'=HYPERLINK(\"x\")", "'+6281298765432", "'@home", "+3.5"],
    ])
    run_import(data)
    first, second = contacts()["+6281234567890"], contacts()["+6281298765432"]
    assert (first.name, first.fields) == ("=1+2", {"notes": "@SUM(A1)", "balance": "-5"})
    assert (second.name, second.fields) == ('=HYPERLINK("x")', {"notes": "@home", "balance": "+3.5"})


def test_default_keeps_existing_values_and_fills_empty_ones(ctx, plan_import, run_import):
    existing = service.create_contact("Budi", "081234567890", None, {"city": "Jakarta"})
    data = csv_bytes([["name", "phone", "email", "city", "plan"],
                      ["Budi B.", "+6281234567890", "budi@example.com", "Bandung", "pro"]])
    plan = plan_import(data).plan_summary
    assert plan["counts"]["update"] == 1 and plan["dedupe"] == "fill"
    assert plan["examples"]["update"][0]["changes"] == [["e-mail", "", "budi@example.com"], ["plan", "", "pro"]]
    job = run_import(data)
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 0)
    budi = Contact.get_by_id(existing.id)
    assert (budi.name, budi.email, budi.fields) == ("Budi", "budi@example.com", {"city": "Jakarta", "plan": "pro"})
    assert "pro" in budi.search
    assert [e.kind for e in budi.events.order_by(ContactEvent.id)] == ["created", "import_updated"]


def test_overwrite_is_an_explicit_choice(ctx, run_import):
    existing = service.create_contact("Budi", "081234567890", "old@example.com", {"city": "Jakarta"})
    job = run_import(csv_bytes([["name", "phone", "email", "city"], ["Budi B.", "081234567890", "", "Bandung"]]),
                     dedupe="overwrite")
    assert job.updated_count == 1
    budi = Contact.get_by_id(existing.id)
    # An empty cell never erases a value.
    assert (budi.name, budi.email, budi.fields) == ("Budi B.", "old@example.com", {"city": "Bandung"})


def test_skip_leaves_the_contact_but_adds_it_to_the_list(ctx, run_import):
    existing = service.create_contact("Budi", "081234567890", fields={"plan": "basic"})
    job = run_import(csv_bytes([["name", "phone", "plan"], ["Other", "081234567890", "pro"]]), dedupe="skip",
                     new_list="VIP")
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 0, 1)
    budi = Contact.get_by_id(existing.id)
    assert (budi.name, budi.fields) == ("Budi", {"plan": "basic"})
    assert ContactListMember.select().where(ContactListMember.contact == budi.id).count() == 1


def test_an_existing_contact_with_nothing_to_fill_is_unchanged(ctx, run_import):
    service.create_contact("Budi", "081234567890")
    job = run_import(csv_bytes([["name", "phone"], ["Other", "081234567890"]]))
    assert (job.updated_count, job.skipped_count) == (0, 1)
    assert Contact.get().name == "Budi"


def test_duplicates_within_the_file_are_reported_not_counted_as_updated(ctx, run_import, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    data = csv_bytes([["name", "phone", "a"], ["Budi 1", "081234567890", "1"], ["Budi 2", "0812 3456 7890", "2"],
                      ["Siti", "081298765432", ""], ["Budi 3", "+6281234567890", "3"]])
    job = run_import(data)
    assert (job.created_count, job.updated_count, job.duplicate_count) == (2, 0, 2)
    assert job.created_count + job.duplicate_count == job.processed_rows == 4
    assert [line for line, _ in reports(job, "duplicate")] == [3, 5]
    assert reports(job, "duplicate")[0][1].startswith("same phone number as line 2")
    budi = contacts()["+6281234567890"]
    assert (budi.name, budi.fields) == ("Budi 1", {"a": "1"})


def test_progress_counters_advance_per_batch(ctx, run_import, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    rows = [["name", "phone"]] + [[f"P{i}", f"0812000000{i:02d}"] for i in range(5)]
    job = run_import(csv_bytes(rows))
    assert (job.total_rows, job.processed_rows, job.created_count, job.percent) == (5, 5, 5, 100)


def test_file_without_header_row(ctx, run_import):
    data = csv_bytes([["Budi", "081234567890"], ["Siti", "081298765432"]])
    job = importer.create_job(io.BytesIO(data), "plain.csv")
    assert (job.has_header, job.header_list) == (False, ["Column 1", "Column 2"])
    assert job.mapping_list == ["ignore", "phone"]
    run_import(data, mapping=["name", "phone"])
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
    (b"phone,notes\n081234567890,\"" + b"x" * 300_000 + b"\"\n", "Line 2 is 300,0"),
    (b"phone,notes\n081234567890,\"" + b"x" * 150_000 + b"\"\n", "cannot be read as CSV"),
    (b"\xff\xfeA\x00B", "damaged"),
    (b"phone\n" + b"081234567890\n" * 120_000, "larger than 1 MB"),
    (b",".join(b"c%d" % i for i in range(201)) + b"\n081234567890\n", "The first row has 201 columns"),
], ids=["empty", "blank-lines", "header-only", "header-and-blank-row", "binary", "xlsx", "xls", "no-phone",
        "huge-cell", "cell-over-csv-limit", "broken-utf16", "too-large", "201-columns"])
def test_bad_files_are_refused_with_a_clear_message_and_nothing_kept(ctx, data, message):
    ctx.config["IMPORT_MAX_MB"] = 1
    with pytest.raises(ImportFileError, match=message):
        importer.create_job(io.BytesIO(data), "bad.csv")
    assert ImportJob.select().count() == 0 and ImportFile.select().count() == 0


def test_a_million_column_header_is_refused_quickly(ctx):
    header = b",".join(b"column%d" % i for i in range(1_000_000))
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=r"Line 1 is [\d,]+ characters long \(about 1,000,000 columns\)"):
        importer.create_job(io.BytesIO(header + b"\n081234567890\n"), "wide.csv")
    assert time.monotonic() - started < 2
    assert ImportJob.select().count() == 0 and ImportFile.select().count() == 0


def test_rows_wider_than_the_cap_are_refused_and_long_values_left_blank(ctx, run_import):
    ctx.config["IMPORT_MAX_COLUMNS"] = 3
    data = csv_bytes([["name", "phone", "notes"], ["A" * 201, "081234567890", "n" * 501],
                      ["Wide", "081298765432", "x", "y"]])
    job = run_import(data)
    assert reports(job, "refused") == [(3, "the row has 4 columns; an import takes at most 3")]
    assert reports(job, "warning") == [(2, "name: 201 characters, more than the 200 kept; left blank; "
                                           "notes: 501 characters, more than the 500 kept; left blank")]
    assert (Contact.get().name, Contact.get().fields) == ("", {})


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


def test_the_dry_run_writes_nothing_and_the_choices_can_change_before_confirming(ctx, plan_import):
    job = plan_import(csv_bytes(GOOD))
    assert job.status == "planned" and job.plan_summary["counts"]["create"] == 2
    assert Contact.select().count() == 0 and ImportRowError.select().count() == 0
    with pytest.raises(ContactError, match="Choose a list"):
        importer.configure(job, job.mapping_list, "fill", list_id="999")
    with pytest.raises(ContactError, match="already exist"):
        importer.configure(job, job.mapping_list, "merge-somehow")
    job = importer.configure(job, job.mapping_list, "overwrite")
    assert job.status == "planning" and job.plan == "{}"
    with pytest.raises(ContactError, match="moved on"):
        importer.confirm(job)


def test_cancel_deletes_the_file(ctx, plan_import):
    job = importer.cancel(plan_import(csv_bytes(GOOD)))
    assert job.status == "cancelled" and ImportFile.select().count() == 0
    import_run.run_pending(ctx)
    assert Contact.select().count() == 0


def test_abandoned_uploads_expire_with_their_files(ctx, plan_import):
    draft = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "b.csv")
    planned = plan_import(csv_bytes(GOOD))
    fresh = importer.create_job(io.BytesIO(csv_bytes(GOOD)), "c.csv")
    old = utcnow() - timedelta(days=2)
    ImportJob.update(created_at=old).where(ImportJob.id.in_([draft.id, planned.id])).execute()
    importer.expire_abandoned()
    statuses = {j.id: (j.status, j.message[:20]) for j in ImportJob.select()}
    assert statuses[draft.id] == statuses[planned.id] == ("cancelled", "The upload expired b")
    assert statuses[fresh.id][0] == "draft"
    assert {f.job_id for f in ImportFile.select()} == {fresh.id}


def test_a_crash_mid_import_fails_the_job_deletes_the_file_and_shows_no_traceback(ctx, plan_import, monkeypatch):
    job = plan_import(csv_bytes(GOOD))
    importer.confirm(job)

    def explode(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_run._Writer, "write", explode)
    import_run.run_pending(ctx)
    job = ImportJob.get_by_id(job.id)
    assert job.status == "failed" and "stopped unexpectedly" in job.message and "fire" not in job.message
    assert ImportFile.select().count() == 0 and job.lease_holder == ""


def test_stale_job_sweep_is_scheduled_and_imports_run_as_a_long_job(app):
    from webapp.long_jobs import HANDLERS
    from webapp.scheduler import JOBS

    assert "contacts-stale-imports" in [job_id for job_id, _func, _seconds in JOBS]
    assert ("contacts-import", import_run.run_next) in HANDLERS
