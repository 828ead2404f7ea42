"""The import's decisions as plain functions: no database, no app."""
import pytest

from webapp.contacts.import_plan import (
    CREATE,
    DUPLICATE,
    FILL,
    OVERWRITE,
    REFUSED,
    SKIP,
    UNCHANGED,
    UPDATE,
    Planner,
    RowRefused,
    Rules,
    clean_cell,
    merge,
    parse_phone,
    parse_row,
)

RULES = Rules(mapping=("name", "phone", "email", "field:city"))
EXISTING = {"name": "Budi", "email": None, "fields": {"city": "Jakarta"}}


@pytest.mark.parametrize("raw, stored", [
    ("=1+2", "=1+2"), ("@home", "@home"), ("-5", "-5"), ("'=1+2", "=1+2"), ("'@x", "@x"), ("'plain", "'plain"),
    ("  spaced  ", "spaced"),
])
def test_cells_keep_leading_formula_characters_and_lose_only_our_exports_quote(raw, stored):
    assert clean_cell(raw) == stored


@pytest.mark.parametrize("raw, countries, message", [
    ("+1 415 555 0100", ("ID", "IN"), "is a number in United States; numbers in Indonesia, India only"),
    ("+91 98765 43210", ("ID",), "is a number in India; numbers in Indonesia only"),
    ("", ("ID",), "no phone number"),
    ("6.28123E+11", ("ID",), "turned into a number by a spreadsheet"),
    ("1" * 41, ("ID",), "41 characters is not a phone number"),
])
def test_phones_refused_with_a_reason(raw, countries, message):
    with pytest.raises(RowRefused, match=message):
        parse_phone(raw, countries)


def test_phones_of_allowed_countries():
    assert parse_phone("0812-3456-7890", ("ID", "IN")) == "+6281234567890"
    assert parse_phone("+91 98765 43210", ("ID", "IN")) == "+919876543210"
    assert parse_phone("+1 415 555 0100", ()) == "+14155550100"


def test_an_optional_value_failing_its_check_is_left_blank_with_a_warning():
    phone, record, warnings = parse_row(["Budi", "081234567890", "nope@", "x" * 501], RULES)
    assert phone == "+6281234567890" and record == {"name": "Budi", "email": None, "fields": {}}
    assert warnings == ["'nope@' is not a valid e-mail address. Left blank.",
                        "city: 501 characters, more than the 500 kept; left blank"]


def test_a_row_wider_than_the_cap_is_refused():
    with pytest.raises(RowRefused, match="the row has 5 columns; an import takes at most 4"):
        parse_row(["a", "081234567890", "", "", ""], Rules(mapping=RULES.mapping, max_columns=4))


@pytest.mark.parametrize("dedupe, name, email, city, changes", [
    (FILL, "Budi", "b@x.id", "Jakarta", [("e-mail", "", "b@x.id")]),
    (OVERWRITE, "Budi B.", "b@x.id", "Bandung", [("name", "Budi", "Budi B."), ("e-mail", "", "b@x.id"),
                                                ("city", "Jakarta", "Bandung")]),
    (SKIP, "Budi", None, "Jakarta", []),
])
def test_merge_by_duplicate_option(dedupe, name, email, city, changes):
    merged, found = merge(EXISTING, {"name": "Budi B.", "email": "b@x.id", "fields": {"city": "Bandung"}}, dedupe)
    assert (merged["name"], merged["email"], merged["fields"]["city"], found) == (name, email, city, changes)


def test_overwrite_never_erases_with_an_empty_cell():
    merged, changes = merge(EXISTING, {"name": "", "email": None, "fields": {}}, OVERWRITE)
    assert merged == EXISTING and changes == []


def test_planner_decides_each_row_and_reports_duplicates_across_batches():
    planner = Planner(RULES)
    existing = {"+6281234567890": {"id": 7, **EXISTING}}

    def lookup(phones):
        return {p: existing[p] for p in phones if p in existing}

    first = planner.plan([(2, ["Budi", "081234567890", "b@x.id", ""]), (3, ["Siti", "081298765432", "", ""]),
                          (4, ["Rusak", "999", "", ""])], lookup)
    second = planner.plan([(5, ["Siti 2", "+6281298765432", "", ""]), (6, ["Budi", "081234567890", "", ""])], lookup)
    assert [(p.line, p.action) for p in first + second] == [
        (2, UPDATE), (3, CREATE), (4, REFUSED), (5, DUPLICATE), (6, DUPLICATE)]
    assert first[0].contact_id == 7 and first[0].changes == [("e-mail", "", "b@x.id")]
    assert second[0].reason == "same phone number as line 3; only that row is imported"


def test_an_existing_contact_with_nothing_new_is_unchanged():
    planner = Planner(RULES)
    plans = planner.plan([(2, ["Other", "081234567890", "", "Bandung"])],
                         lambda phones: {phones[0]: {"id": 7, **EXISTING}})
    assert plans[0].action == UNCHANGED and plans[0].changes == []


def test_a_resumed_import_remembers_the_phones_already_imported():
    planner = Planner(RULES)
    planner.remember([(2, ["Budi", "081234567890", "", ""])])
    plans = planner.plan([(3, ["Budi", "0812 3456 7890", "", ""])], lambda phones: {})
    assert plans[0].action == DUPLICATE
