"""CSV import, web side: store and inspect the upload (encoding, delimiter, header, first rows), map its
columns, and move the job through its states. The worker does the reading of every row (import_run): first a
dry run whose preview the user confirms, then the import.

A job's whole state is its ImportJob row and its file is in import_file, so the pages only poll the database
and any worker host can run the job. The file is deleted when the import ends, fails or is cancelled.
"""
import codecs
import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from webapp.contacts.import_plan import DEDUPE_CHOICES, clean_cell
from webapp.contacts.service import (
    RESERVED_KEYS,
    ContactError,
    create_list,
    field_key,
    list_or_error,
    normalize_key,
)
from webapp.extensions import db
from webapp.models import ImportFile, ImportJob, ImportRowError, utcnow
from webapp.phones import PhoneError, to_e164

DRAFT, PLANNING, PLANNED, QUEUED, RUNNING, DONE, FAILED, CANCELLED = (
    "draft", "planning", "planned", "queued", "running", "done", "failed", "cancelled")
# States in which a worker has something to do, and those in which the page keeps polling.
WORK_STATES = (PLANNING, QUEUED, RUNNING)
PREVIEW_ROWS = 5
# A queued stage no worker has taken after this long gets a warning on its page.
UNCLAIMED_WARNING_AFTER = timedelta(seconds=30)
# Uploads whose import was never started.
DRAFT_EXPIRES_AFTER = timedelta(days=1)
FILE_CHUNK_BYTES = 1024 * 1024
# Room for one cell's characters (and its quotes and delimiter) when bounding a record's length.
CELL_ALLOWANCE = 1024
DELIMITERS = ",;\t|"
# Key of a queued dry run's plan that says its import is already confirmed (the plan is empty until it runs).
CONFIRMED = "confirmed"

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


class ImportTooLarge(ImportFileError):
    """The upload is over IMPORT_MAX_MB (the API answers it with 413 rather than 422)."""


@dataclass
class Preview:
    encoding: str
    note: str
    delimiter: str
    has_header: bool
    headers: list
    rows: list


def max_columns():
    return int(current_app.config["IMPORT_MAX_COLUMNS"])


def phone_countries():
    return tuple(c.strip().upper() for c in current_app.config["PHONE_COUNTRIES"].split(",") if c.strip())


# --- reading files -----------------------------------------------------------------------------------------

def read_upload(stream, limit_mb):
    """The upload's bytes, refusing it past ``limit_mb`` without reading further."""
    limit = limit_mb * 1024 * 1024
    data = bytearray()
    while chunk := stream.read(FILE_CHUNK_BYTES):
        data += chunk
        if len(data) > limit:
            raise ImportTooLarge(f"The file is larger than {limit_mb} MB, the most one import accepts. "
                                  "Split it into smaller files and import them one after the other.")
    return bytes(data)


def store_file(job_id, data):
    for seq, start in enumerate(range(0, len(data), FILE_CHUNK_BYTES)):
        ImportFile.create(job=job_id, seq=seq, data=data[start:start + FILE_CHUNK_BYTES])


def load_file(job):
    chunks = ImportFile.select(ImportFile.data).where(ImportFile.job == job.id).order_by(ImportFile.seq)
    data = b"".join(bytes(chunk.data) for chunk in chunks)
    if len(data) != job.file_size or not data:
        raise ImportFileError("The uploaded file is no longer available; upload it again.")
    return data


def delete_file(job_id):
    ImportFile.delete().where(ImportFile.job == job_id).execute()
    ImportJob.update(file_size=0).where(ImportJob.id == job_id).execute()


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


class _BoundedLines:
    """Feeds csv.reader line by line and refuses a record longer than ``columns`` cells could make, before the
    reader splits it: a 1,000,000-column header is refused in milliseconds instead of becoming a million
    strings."""

    def __init__(self, text, delimiter, columns):
        self.lines = io.StringIO(text, newline="")
        self.delimiter = delimiter
        self.columns = columns
        self.limit = columns * CELL_ALLOWANCE
        self.pending = 0
        self.line = 0

    def __iter__(self):
        return self

    def __next__(self):
        text = next(self.lines)
        self.line += 1
        self.pending += len(text)
        if self.pending > self.limit:
            cells = text.count(self.delimiter) + 1
            raise ImportFileError(
                f"Line {self.line} is {self.pending:,} characters long (about {cells:,} columns): more than a row of "
                f"{self.columns} columns, the most an import takes, can be. Remove the extra columns and upload "
                "the file again.")
        return text


def records(text, delimiter, columns):
    """(line number where the record starts, cells) for every non-blank record."""
    lines = _BoundedLines(text, delimiter, columns)
    reader = csv.reader(lines, delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            lines.pending = 0
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"Line {line} cannot be read as CSV ({exc}). Fix it and upload the file again.") from exc


def file_records(job):
    """The job's data records (header skipped), read from its stored file."""
    rows = records(load_file(job).decode(job.encoding), job.delimiter, max_columns())
    if job.has_header:
        next(rows, None)
    return rows


def looks_like_phone(value):
    try:
        to_e164(clean_cell(value))
    except PhoneError:
        return False
    return True


def inspect(data):
    """The upload's encoding, delimiter, header and first rows, read from its start only."""
    if not data.strip():
        raise ImportFileError("The file is empty.")
    text, encoding, note = decode(data)
    delimiter = sniff_delimiter(text)
    columns = max_columns()
    rows = records(text, delimiter, columns)
    first = next(rows, None)
    if first is None:
        raise ImportFileError("The file is empty.")
    if len(first[1]) > columns:
        raise ImportFileError(f"The first row has {len(first[1]):,} columns; an import takes at most {columns}. "
                              "Remove the extra columns and upload the file again.")
    # A first row holding a phone number is data: the file has no header row.
    has_header = not any(looks_like_phone(cell) for cell in first[1])
    preview = [] if has_header else [first[1]]
    for _line, cells in rows:
        preview.append(cells)
        if len(preview) >= PREVIEW_ROWS:
            break
    if not preview:
        raise ImportFileError("The file has a header row but no data rows.")
    width = min(max(len(r) for r in [first[1], *preview]), columns)
    if has_header:
        headers = [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(first[1])]
        headers += [f"Column {i + 1}" for i in range(len(headers), width)]
    else:
        headers = [f"Column {i + 1}" for i in range(width)]
    result = Preview(encoding, note, delimiter, has_header, headers, [pad(r, width) for r in preview])
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
    """Store and inspect an upload; a draft job awaiting its column mapping, or ImportFileError (nothing kept)."""
    data = read_upload(stream, int(current_app.config["IMPORT_MAX_MB"]))
    preview = inspect(data)
    with db.atomic():
        job = ImportJob.create(
            user_id=user_id, filename=os.path.basename(filename or "upload.csv")[:255], file_size=len(data),
            encoding=preview.encoding, delimiter=preview.delimiter, has_header=preview.has_header,
            headers=json.dumps(preview.headers), sample=json.dumps(preview.rows, ensure_ascii=False),
            mapping=json.dumps(guess_mapping(preview.headers, preview.rows)), note=preview.note,
        )
        store_file(job.id, data)
    return job


def waiting_for_a_worker(job, now=None):
    """Queued for a while and no worker took it: most likely no `flask worker` is running."""
    now = now or utcnow()
    return (job.status in (PLANNING, QUEUED) and not job.lease_holder
            and job.updated_at < now - UNCLAIMED_WARNING_AFTER)


def _move(job, from_states, **changes):
    """Change a job's state only from ``from_states`` (a worker may be moving it at the same moment)."""
    changes.setdefault("updated_at", utcnow())
    moved = ImportJob.update(**changes).where((ImportJob.id == job.id) & ImportJob.status.in_(from_states)).execute()
    if not moved:
        raise ContactError("This import has moved on in the meantime; the page shows where it is now.")
    return ImportJob.get_by_id(job.id)


def configure(job, mapping, dedupe, list_id=None, new_list="", confirmed=False):
    """Fix the job's mapping, list and duplicate option, and queue its dry run. ``confirmed``: the import runs
    right after its dry run (an API client has no preview to look at)."""
    if job.status not in (DRAFT, PLANNED):
        raise ContactError("This import has already been started.")
    if dedupe not in DEDUPE_CHOICES:
        raise ContactError("Choose what to do with phone numbers that already exist.")
    if (new_list or "").strip():
        contact_list = create_list(new_list)
    elif list_id:
        contact_list = list_or_error(list_id)
    else:
        contact_list = None
    return _move(job, (DRAFT, PLANNED), mapping=json.dumps(mapping), dedupe=dedupe, status=PLANNING,
                 plan=json.dumps({CONFIRMED: True} if confirmed else {}),
                 list_id=contact_list.id if contact_list else None, attempts=0, message="")


def confirm(job):
    """The user saw the dry run: queue the import itself."""
    return _move(job, (PLANNED,), status=QUEUED, attempts=0)


def cancel(job):
    job = _move(job, (DRAFT, PLANNED), status=CANCELLED, finished_at=utcnow(),
                message="Cancelled before anything was imported.")
    delete_file(job.id)
    return job


def finish(job_id, status, message="", **changes):
    """The end of a job, successful or not: its file is deleted with it."""
    now = utcnow()
    with db.atomic():
        ImportJob.update(status=status, message=message, finished_at=now, updated_at=now, lease_holder="",
                         lease_expires_at=None, **changes).where(ImportJob.id == job_id).execute()
        delete_file(job_id)


def expire_abandoned(now=None):
    """Uploads whose import was never started: cancel them and drop their files."""
    now = now or utcnow()
    stale = ImportJob.select(ImportJob.id).where(
        ImportJob.status.in_([DRAFT, PLANNED]) & (ImportJob.created_at < now - DRAFT_EXPIRES_AFTER))
    for (job_id,) in stale.tuples():
        finish(job_id, CANCELLED, "The upload expired before the import was started.")


def error_rows(job, kinds=("refused", "duplicate")):
    return (ImportRowError.select()
            .where((ImportRowError.job == job.id) & ImportRowError.kind.in_(kinds))
            .order_by(ImportRowError.line))
