"""What importing each row would do, decided without writing anything.

The dry run and the import itself call the same functions, so the preview shows what the import does:
a row creates a contact, updates one field by field (old > new), leaves one unchanged, repeats a phone
number an earlier line of the same file already had (duplicate, not imported), or is refused with a reason.
An optional value that fails its check (a bad e-mail, a value too long) is left blank with a warning instead
of refusing the row.
"""
import re
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder

from webapp.contacts.service import MAX_FIELD_VALUE, ContactError, clean_email
from webapp.phones import PhoneError, parse_valid

CREATE, UPDATE, UNCHANGED, REFUSED, DUPLICATE = "create", "update", "unchanged", "refused", "duplicate"
FILL, OVERWRITE, SKIP = "fill", "overwrite", "skip"
DEDUPE_CHOICES = {
    FILL: "Keep its values and fill only the empty ones from the file",
    OVERWRITE: "Overwrite its values with the file's (empty cells never erase a value)",
    SKIP: "Leave it unchanged",
}
# Longest value kept per column kind; a longer one is left blank with a warning.
MAX_CHARS = {"name": 200, "email": 254}
# Our export writes a quote before a leading = + - @ so spreadsheets show the text; reading it back removes
# only that quote. Text that itself starts with = or @ is kept as it is: neutralising belongs to export.
EXPORT_QUOTED = ("'=", "'+", "'-", "'@", "'\t", "'\r")
# 6.28123E+11: what Excel shows (and saves) for a long phone number in a General-formatted column.
SCIENTIFIC_RE = re.compile(r"^\d+(\.\d+)?e\+?\d+$", re.IGNORECASE)
MAX_PHONE_CHARS = 40


class RowRefused(ValueError):
    pass


@dataclass(frozen=True)
class Rules:
    """The choices an import runs with: column targets, duplicate option, allowed phone countries, caps."""

    mapping: tuple
    dedupe: str = FILL
    countries: tuple = ("ID", "IN")
    max_columns: int = 200


@dataclass
class RowPlan:
    line: int
    action: str
    cells: list
    phone: str = ""
    # The values to store: the row's own for a new contact, the merged ones for an update.
    record: dict | None = None
    contact_id: int | None = None
    # (what, old, new) for an update.
    changes: list = field(default_factory=list)
    reason: str = ""
    warnings: list = field(default_factory=list)


def clean_cell(value):
    value = (value or "").strip()
    if value.startswith(EXPORT_QUOTED):
        value = value[1:]
    return value


def country_name(e164):
    number = phonenumbers.parse(e164, None)
    return geocoder.country_name_for_number(number, "en") or phonenumbers.region_code_for_number(number) or "?"


# The dry run and then the import parse the same cells, usually in the same worker, and parsing a number costs
# more than everything else a row needs: the import finds the dry run's answers here (about 30 MB when full).
@lru_cache(maxsize=100_000)
def parse_phone(raw, countries):
    cell = clean_cell(raw).removeprefix("'")
    if not cell:
        raise RowRefused("no phone number")
    if len(cell) > MAX_PHONE_CHARS:
        raise RowRefused(f"phone: {len(cell)} characters is not a phone number")
    if SCIENTIFIC_RE.match(cell):
        raise RowRefused(f"phone: '{cell}' was turned into a number by a spreadsheet and lost its digits; "
                         "format the column as text and export the file again")
    try:
        number = parse_valid(cell)
    except PhoneError as exc:
        raise RowRefused(f"phone: {exc}") from exc
    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if countries and phonenumbers.region_code_for_number(number) not in countries:
        allowed = ", ".join(country_name_for_region(c) for c in countries)
        raise RowRefused(f"phone: '{cell}' is a number in {country_name(phone)}; numbers in {allowed} only "
                         "can be messaged or called")
    return phone


def country_name_for_region(region):
    code = phonenumbers.country_code_for_region(region)
    example = phonenumbers.example_number(region) if code else None
    return geocoder.country_name_for_number(example, "en") if example else region


def parse_row(cells, rules):
    """(phone, record, warnings) for one row's cells, or RowRefused."""
    if len(cells) > rules.max_columns:
        raise RowRefused(f"the row has {len(cells):,} columns; an import takes at most {rules.max_columns}")
    name, email, phone, fields, warnings = "", None, None, {}, []
    for index, target in enumerate(rules.mapping):
        if target == "ignore":
            continue
        raw = cells[index] if index < len(cells) else ""
        if target == "phone":
            phone = parse_phone(raw, rules.countries)
            continue
        value = clean_cell(raw)
        what = "e-mail" if target == "email" else target.removeprefix("field:")
        limit = MAX_CHARS.get(target, MAX_FIELD_VALUE)
        if len(value) > limit:
            warnings.append(f"{what}: {len(value):,} characters, more than the {limit} kept; left blank")
            continue
        if target == "name":
            name = value
        elif target == "email":
            try:
                email = clean_email(value)
            except ContactError as exc:
                warnings.append(f"{exc} Left blank.")
        elif value:
            fields[target[6:]] = value
    return phone, {"name": name, "email": email, "fields": fields}, warnings


def merge(existing, record, dedupe):
    """The values an existing contact ends with, and the (what, old, new) changes that leads to."""
    if dedupe == SKIP:
        return existing, []
    overwrite = dedupe == OVERWRITE
    changes = []

    def pick(what, old, new):
        if new and old != new and (overwrite or not old):
            changes.append((what, old or "", new))
            return new
        return old

    merged = {"name": pick("name", existing["name"], record["name"]),
              "email": pick("e-mail", existing["email"], record["email"]), "fields": dict(existing["fields"])}
    for key, value in record["fields"].items():
        merged["fields"][key] = pick(key, existing["fields"].get(key, ""), value)
    return merged, changes


class Planner:
    """Plans rows in file order; remembers each phone's first line so that later rows with it are duplicates."""

    def __init__(self, rules):
        self.rules = rules
        self.first_line = {}

    def remember(self, batch):
        """Rows already imported by an earlier run of the same job (resuming): only their phones matter."""
        for line, cells in batch:
            try:
                phone, _record, _warnings = parse_row(cells, self.rules)
            except RowRefused:
                continue
            self.first_line.setdefault(phone, line)

    def plan(self, batch, lookup):
        """RowPlans for ``batch`` ([(line, cells)]); ``lookup(phones)`` gives the existing contacts by phone as
        {phone: {"id", "name", "email", "fields"}}."""
        plans, parsed = [], []
        for line, cells in batch:
            try:
                phone, record, warnings = parse_row(cells, self.rules)
            except RowRefused as exc:
                plans.append(RowPlan(line, REFUSED, cells, reason=str(exc)))
                continue
            first = self.first_line.setdefault(phone, line)
            if first != line:
                plans.append(RowPlan(line, DUPLICATE, cells, phone=phone,
                                     reason=f"same phone number as line {first}; only that row is imported"))
                continue
            plan = RowPlan(line, CREATE, cells, phone=phone, record=record, warnings=warnings)
            plans.append(plan)
            parsed.append(plan)
        existing = lookup([plan.phone for plan in parsed]) if parsed else {}
        for plan in parsed:
            contact = existing.get(plan.phone)
            if contact is None:
                continue
            plan.contact_id = contact["id"]
            plan.record, plan.changes = merge(contact, plan.record, self.rules.dedupe)
            plan.action = UPDATE if plan.changes else UNCHANGED
        return plans
