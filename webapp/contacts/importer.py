"""CSV import: upload and inspect (encoding, delimiter, header, preview), map columns, then import in the
background in batches, each batch one transaction that also advances the job's progress counters.

A job's whole state is its ImportJob row, so the progress page only polls the database, and a job whose
thread died (server restart) is recognised by its stale heartbeat and marked failed.
"""
import codecs
import csv
import io
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from webapp.contacts.service import (
    RESERVED_KEYS,
    ContactError,
    chunks,
    clean_email,
    create_list,
    field_key,
    list_or_error,
    normalize_key,
)
from webapp.extensions import db
from webapp.models import Contact, ContactEvent, ContactListMember, ImportJob, ImportRowError, OptOut, utcnow
from webapp.models.contacts import dump_fields, search_text
from webapp.phones import PhoneError, to_e164

log = logging.getLogger(__name__)

DRAFT, QUEUED, RUNNING, DONE, FAILED = "draft", "queued", "running", "done", "failed"
BATCH_SIZE = 1000
PREVIEW_ROWS = 5
DEDUPE_CHOICES = {"update": "Update the existing contact", "skip": "Keep the existing contact as it is"}
# A running job's heartbeat moves with every batch (about a second); this long without one means its thread died.
STALE_AFTER = timedelta(minutes=5)
# Uploaded files whose columns were never mapped.
DRAFT_EXPIRES_AFTER = timedelta(days=1)

# Spreadsheets evaluate cells starting with these; imported text never keeps them as a leading character.
FORMULA_TRIGGERS = ("=", "+", "-", "@")
# "-5", "+3.5" and "+62 812-3456" are values, not formulas.
NUMBER_RE = re.compile(r"^[+-]?\d[\d\s().,-]*$")
DELIMITERS = ",;\t|"
# 6.28123E+11: what Excel shows (and saves) for a long phone number in a General-formatted column.
SCIENTIFIC_RE = re.compile(r"^\d+(\.\d+)?e\+?\d+$", re.IGNORECASE)

# Header words (after field_key normalisation) each column kind is recognised by.
HEADER_GUESSES = {
    "phone": {"phone", "phone_number", "mobile", "mobile_number", "msisdn", "hp", "no_hp", "nomor_hp", "handphone",
              "telepon", "telp", "tel", "whatsapp", "wa", "nomor", "number", "ponsel", "cell"},
    "name": {"name", "nama", "full_name", "fullname", "nama_lengkap", "contact_name", "customer", "customer_name"},
    "email": {"email", "e_mail", "mail", "email_address", "surel"},
}
# Columns our own export writes that describe state rather than data to import.
EXPORT_ONLY = {"id", "lists", "opted_out", "opted_out_reason", "verified_at", "created_at", "updated_at",
               "error_line", "error_reason"}
# Leading columns of the rejected-rows file, which can be fixed and imported as it is.
ERROR_COLUMNS = ["error_line", "error_reason"]


class ImportFileError(ValueError):
    """The file cannot be imported at all; the message says why and what to do."""


class RowError(ValueError):
    pass


@dataclass
class Preview:
    encoding: str
    note: str
    delimiter: str
    has_header: bool
    headers: list
    rows: list
    total_rows: int


# --- reading files -----------------------------------------------------------------------------------------

def uploads_dir():
    path = current_app.config.get("INSTANCE_UPLOADS") or os.path.join(current_app.instance_path, "uploads")
    os.makedirs(path, exist_ok=True)
    return path


def upload_path(job):
    return os.path.join(uploads_dir(), job.stored_name)


def save_upload(stream, limit_mb):
    """Copy the upload to the uploads folder, refusing it past ``limit_mb``; returns the stored file name."""
    limit = limit_mb * 1024 * 1024
    name = f"import-{uuid.uuid4().hex}.csv"
    path = os.path.join(uploads_dir(), name)
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit:
        os.remove(path)
        raise ImportFileError(f"The file is larger than {limit_mb} MB, the most one import accepts. "
                              "Split it into smaller files and import them one after the other.")
    return name


def decode(data):
    """Returns (text, encoding, note). UTF-8 first; otherwise the Windows code page Excel uses."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", ""
        except UnicodeDecodeError as exc:
            raise ImportFileError("The file says it is UTF-16 text but is damaged. Save it as CSV UTF-8 and "
                                  "upload it again.") from exc
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError("This is an Excel workbook, not a CSV file. In Excel choose File > Save As > "
                              "CSV UTF-8 and upload that file.")
    if b"\x00" in data:
        raise ImportFileError("This is not a text file (it contains binary data). Upload a CSV file; from Excel "
                              "choose File > Save As > CSV UTF-8.")
    try:
        return data.decode("utf-8-sig"), "utf-8-sig", ""
    except UnicodeDecodeError:
        pass
    try:
        text, encoding, label = data.decode("cp1252"), "cp1252", "Windows-1252"
    except UnicodeDecodeError:
        text, encoding, label = data.decode("latin-1"), "latin-1", "Latin-1"
    note = (f"The file is not UTF-8, so it was read as {label}. Check that accented letters look right in the "
            "preview; if they do not, save the file as CSV UTF-8 and upload it again.")
    return text, encoding, note


def sniff_delimiter(text):
    lines = text[:65536].splitlines()[:20]
    best, best_columns = ",", 1
    for delimiter in DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        if not rows:
            continue
        columns = len(rows[0])
        # The header's column count must hold for most lines, so a comma inside names does not win.
        steady = sum(len(row) == columns for row in rows) >= 0.8 * len(rows)
        if steady and columns > best_columns:
            best, best_columns = delimiter, columns
    return best


def records(text, delimiter):
    """(line number where the record starts, cells) for every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"Line {line} cannot be read as CSV ({exc}). Fix it and upload the file again.") from exc


def looks_like_phone(value):
    try:
        to_e164(clean_cell(value))
    except PhoneError:
        return False
    return True


def inspect(path):
    """Read the stored file once: encoding, delimiter, header, the first rows and the row count."""
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.strip():
        raise ImportFileError("The file is empty.")
    text, encoding, note = decode(data)
    delimiter = sniff_delimiter(text)
    rows = records(text, delimiter)
    first = next(rows, None)
    if first is None:
        raise ImportFileError("The file is empty.")
    # A first row holding a phone number is data: the file has no header row.
    has_header = not any(looks_like_phone(cell) for cell in first[1])
    preview = [] if has_header else [first[1]]
    total = 0 if has_header else 1
    for _line, cells in rows:
        total += 1
        if len(preview) < PREVIEW_ROWS:
            preview.append(cells)
    if total == 0:
        raise ImportFileError("The file has a header row but no data rows.")
    width = max(len(r) for r in [first[1], *preview])
    if has_header:
        headers = [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(first[1])]
        headers += [f"Column {i + 1}" for i in range(len(headers), width)]
    else:
        headers = [f"Column {i + 1}" for i in range(width)]
    result = Preview(encoding, note, delimiter, has_header, headers, [pad(r, width) for r in preview], total)
    if "phone" not in guess_mapping(result.headers, result.rows):
        raise ImportFileError("No column holds phone numbers: no header is called phone (or hp, mobile, "
                              "telepon...) and none of the first rows contains a valid phone number.")
    return result


def pad(cells, width):
    return (list(cells) + [""] * width)[:width]


# --- mapping -----------------------------------------------------------------------------------------------

def default_key(header, index):
    try:
        return field_key(header)
    except ContactError:
        return f"column_{index + 1}"


def guess_mapping(headers, rows):
    """One target per column: ignore | name | phone | email | field:<key>."""
    mapping = []
    for index, header in enumerate(headers):
        word = normalize_key(header)
        target = next((kind for kind, words in HEADER_GUESSES.items() if word in words and kind not in mapping), None)
        if target:
            mapping.append(target)
        elif word in EXPORT_ONLY or word in RESERVED_KEYS or header.startswith("Column "):
            mapping.append("ignore")
        else:
            mapping.append(f"field:{default_key(header, index)}")
    if "phone" not in mapping:
        for index in range(len(headers)):
            cells = [row[index] for row in rows if index < len(row) and row[index].strip()]
            if cells and sum(looks_like_phone(c) for c in cells) * 2 > len(cells):
                mapping[index] = "phone"
                break
    return mapping


def validate_mapping(headers, targets, keys):
    """The mapping form's choices (one target and one field name per column) checked and normalised."""
    mapping = []
    used_keys = set()
    for index, _header in enumerate(headers):
        target = targets[index] if index < len(targets) else "ignore"
        if target == "field":
            key = field_key(keys[index] if index < len(keys) and keys[index].strip() else headers[index])
            if key in used_keys:
                raise ContactError(f"Two columns are imported as the custom field '{key}'; rename one.")
            used_keys.add(key)
            mapping.append(f"field:{key}")
        elif target in ("name", "phone", "email"):
            if target in mapping:
                raise ContactError(f"Only one column can be the {target}.")
            mapping.append(target)
        else:
            mapping.append("ignore")
    if "phone" not in mapping:
        raise ContactError("Choose which column holds the phone number.")
    return mapping


# --- jobs --------------------------------------------------------------------------------------------------

def create_job(stream, filename, user_id=None):
    """Store and inspect an upload; a draft job awaiting its column mapping, or ImportFileError."""
    stored = save_upload(stream, int(current_app.config["IMPORT_MAX_MB"]))
    path = os.path.join(uploads_dir(), stored)
    try:
        preview = inspect(path)
    except ImportFileError:
        os.remove(path)
        raise
    return ImportJob.create(
        user_id=user_id, filename=os.path.basename(filename or "upload.csv")[:255], stored_name=stored,
        encoding=preview.encoding, delimiter=preview.delimiter, has_header=preview.has_header,
        headers=json.dumps(preview.headers), mapping=json.dumps(guess_mapping(preview.headers, preview.rows)),
        note=preview.note, total_rows=preview.total_rows,
    )


def preview(job):
    return inspect(upload_path(job))


def configure(job, mapping, dedupe, list_id=None, new_list=""):
    """Fix the job's mapping, list and dedupe choice, and queue it."""
    if job.status != DRAFT:
        raise ContactError("This import has already been started.")
    if dedupe not in DEDUPE_CHOICES:
        raise ContactError("Choose what to do with phone numbers that already exist.")
    if (new_list or "").strip():
        contact_list = create_list(new_list)
    elif list_id:
        contact_list = list_or_error(list_id)
    else:
        contact_list = None
    job.mapping = json.dumps(mapping)
    job.dedupe = dedupe
    job.list_id = contact_list.id if contact_list else None
    job.status = QUEUED
    job.updated_at = utcnow()
    job.save()
    return job


def start_in_background(app, job_id):
    thread = threading.Thread(target=_run_in_thread, args=(app, job_id), name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def _run_in_thread(app, job_id):
    try:
        with app.app_context(), db.connection_context():
            run_import(job_id)
    except Exception:
        log.exception("import %s crashed", job_id)


def run_import(job_id):
    """Import a queued job to the end (runs in the job's thread; tests and the benchmark call it directly)."""
    now = utcnow()
    claimed = (
        ImportJob.update(status=RUNNING, started_at=now, updated_at=now)
        .where((ImportJob.id == job_id) & (ImportJob.status == QUEUED))
        .execute()
    )
    if not claimed:
        return None
    job = ImportJob.get_by_id(job_id)
    path = upload_path(job)
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode(job.encoding)
        rows = records(text, job.delimiter)
        if job.has_header:
            next(rows, None)
        _Batcher(job).run(rows)
        ImportJob.update(status=DONE, finished_at=utcnow(), updated_at=utcnow()).where(ImportJob.id == job.id).execute()
    except Exception as exc:
        log.exception("import %s failed", job.id)
        message = str(exc) if isinstance(exc, ImportFileError) else (
            "The import stopped unexpectedly; rows already imported are kept. The error has been logged.")
        ImportJob.update(status=FAILED, message=message, finished_at=utcnow(), updated_at=utcnow()).where(
            ImportJob.id == job.id
        ).execute()
    finally:
        if os.path.exists(path):
            os.remove(path)
    return ImportJob.get_by_id(job_id)


def fail_stale_jobs(now=None):
    """Jobs whose thread died with its process, and uploads never mapped: mark them failed, drop their files."""
    now = now or utcnow()
    stale = ImportJob.select().where(
        ((ImportJob.status.in_([QUEUED, RUNNING])) & (ImportJob.updated_at < now - STALE_AFTER))
        | ((ImportJob.status == DRAFT) & (ImportJob.created_at < now - DRAFT_EXPIRES_AFTER))
    )
    for job in stale:
        job.message = ("The upload expired before the import was started." if job.status == DRAFT else
                       "The import was interrupted (the server restarted). Rows already imported are kept; "
                       "import the file again to finish it.")
        job.status, job.finished_at, job.updated_at = FAILED, now, now
        job.save()
        if os.path.exists(upload_path(job)):
            os.remove(upload_path(job))


# --- rows --------------------------------------------------------------------------------------------------

def clean_cell(value):
    """Text as stored: trimmed, our export's quote prefix removed, and formula triggers stripped."""
    value = (value or "").strip()
    if value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS:
        value = value[1:]
    while value[:1] in FORMULA_TRIGGERS and value and not NUMBER_RE.match(value):
        value = value[1:].lstrip()
    return value


class _Batcher:
    """Turns records into contacts, BATCH_SIZE rows per transaction."""

    def __init__(self, job):
        self.job = job
        self.mapping = job.mapping_list
        self.update_existing = job.dedupe == "update"
        # Dedupe against a snapshot of every existing phone instead of a query per row.
        self.ids = dict(Contact.select(Contact.phone, Contact.id).tuples())
        self.blocked = {phone: (at, reason) for phone, at, reason in
                        OptOut.select(OptOut.phone, OptOut.created_at, OptOut.reason).tuples()}
        self.counts = {"processed_rows": 0, "created_count": 0, "updated_count": 0, "skipped_count": 0,
                       "error_count": 0}
        self.columns = [(i, target) for i, target in enumerate(self.mapping) if target != "ignore"]

    def run(self, rows):
        batch = []
        for item in rows:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                self.flush(batch)
                batch = []
        self.flush(batch)

    def parse(self, cells):
        name, email, phone, fields = "", None, None, {}
        for index, target in self.columns:
            raw = cells[index] if index < len(cells) else ""
            if target == "phone":
                phone = parse_phone(raw)
                continue
            value = clean_cell(raw)
            if target == "name":
                name = value[:200]
            elif target == "email":
                try:
                    email = clean_email(value)
                except ContactError as exc:
                    raise RowError(str(exc)) from exc
            elif value:
                fields[target[6:]] = value[:500]
        return phone, {"name": name, "email": email, "fields": fields}

    def flush(self, batch):
        if not batch:
            return
        new, updates, members, errors = {}, {}, set(), []
        # Rows folded into an earlier row of the same batch count as updates, so the counters add up to the rows.
        skipped = merged = 0
        for line, cells in batch:
            try:
                phone, record = self.parse(cells)
            except RowError as exc:
                errors.append((self.job.id, line, str(exc), json.dumps(cells, ensure_ascii=False)))
                continue
            members.add(phone)
            pending = new if phone in new else updates if phone in updates else None
            if pending is None and phone not in self.ids:
                new[phone] = record
            elif not self.update_existing:
                skipped += 1
            elif pending is not None:
                pending[phone] = merge(pending[phone], record)
                merged += 1
            else:
                updates[phone] = record
        now = utcnow()
        with db.atomic():
            created = self.insert_new(new, now)
            skipped += len(new) - len(created)
            updated = self.apply_updates(updates, now)
            if self.job.list_id:
                insert_rows(ContactListMember, [(self.ids[p], self.job.list_id, now) for p in members if p in self.ids],
                            "ON CONFLICT DO NOTHING")
            detail = str(self.job.id)
            insert_rows(ContactEvent, [(cid, "imported", detail, now) for cid in created]
                        + [(cid, "import_updated", detail, now) for cid in updated])
            insert_rows(ImportRowError, errors)
            self.counts["processed_rows"] += len(batch)
            self.counts["created_count"] += len(created)
            self.counts["updated_count"] += len(updated) + merged
            self.counts["skipped_count"] += skipped
            self.counts["error_count"] += len(errors)
            ImportJob.update(updated_at=now, **self.counts).where(ImportJob.id == self.job.id).execute()

    def row(self, phone, record, now):
        opted_out, opted_out_at, reason = False, None, ""
        if phone in self.blocked:
            # Re-imported numbers on the do-not-contact list come back opted out.
            opted_out, (opted_out_at, reason) = True, self.blocked[phone]
        return (record["name"], phone, record["email"], dump_fields(record["fields"]),
                search_text(record["name"], phone, record["email"], record["fields"]),
                opted_out, opted_out_at, reason, now, now)

    def insert_new(self, new, now):
        rows = [self.row(phone, record, now) for phone, record in new.items()]
        created = []
        for contact_id, phone in insert_rows(Contact, rows, "ON CONFLICT DO NOTHING RETURNING id, phone"):
            self.ids[phone] = contact_id
            created.append(contact_id)
        return created

    def apply_updates(self, updates, now):
        rows, updated = [], []
        for chunk in chunks(list(updates)):
            current = Contact.select(Contact.id, Contact.phone, Contact.name, Contact.email, Contact.custom_fields)
            for contact in current.where(Contact.phone.in_(chunk)):
                record = merge({"name": contact.name, "email": contact.email, "fields": contact.fields},
                               updates[contact.phone])
                rows.append(self.row(contact.phone, record, now))
                updated.append(contact.id)
        # Every row hits the phone conflict and takes the merged values: one statement per chunk.
        insert_rows(Contact, rows, UPSERT_CONTACT)
        return updated


# Column order of the tuples insert_rows receives, per table.
INSERT_COLUMNS = {
    Contact: ("name", "phone", "email", "custom_fields", "search", "opted_out", "opted_out_at", "opted_out_reason",
              "created_at", "updated_at"),
    ContactListMember: ("contact_id", "list_id", "added_at"),
    ContactEvent: ("contact_id", "kind", "detail", "created_at"),
    ImportRowError: ("job_id", "line", "reason", "data"),
}

UPSERT_CONTACT = ("ON CONFLICT (phone) DO UPDATE SET name = excluded.name, email = excluded.email, "
                  "custom_fields = excluded.custom_fields, search = excluded.search, updated_at = excluded.updated_at")


def insert_rows(model, rows, suffix=""):
    """Multi-row INSERTs written out by hand, returning any RETURNING rows. For thousands of rows peewee's
    per-value query building costs several times what the database spends storing them."""
    columns = INSERT_COLUMNS[model]
    placeholders = "(" + ", ".join([db.param] * len(columns)) + ")"
    head = f'INSERT INTO "{model._meta.table_name}" ({", ".join(columns)}) VALUES '
    returned = []
    for chunk in chunks(rows):
        sql = head + ", ".join([placeholders] * len(chunk)) + " " + suffix
        cursor = db.execute_sql(sql, [value for row in chunk for value in row])
        if "RETURNING" in suffix:
            returned.extend(cursor.fetchall())
    return returned


def merge(old, new):
    """A later row for the same phone: its non-empty values win, fields are combined."""
    return {"name": new["name"] or old["name"], "email": new["email"] or old["email"],
            "fields": {**old["fields"], **new["fields"]}}


def parse_phone(raw):
    cell = raw.strip().removeprefix("'")
    if not cell:
        raise RowError("no phone number")
    if SCIENTIFIC_RE.match(cell):
        raise RowError(f"phone: '{cell}' was turned into a number by a spreadsheet and lost its digits; "
                       "format the column as text and export the file again")
    try:
        return to_e164(cell)
    except PhoneError as exc:
        raise RowError(f"phone: {exc}") from exc


def error_rows(job):
    return ImportRowError.select().where(ImportRowError.job == job.id).order_by(ImportRowError.line)
