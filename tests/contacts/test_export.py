import csv
import io

import pytest

from webapp.contacts import exporter, optouts, service
from webapp.contacts.service import Filters
from webapp.models import Contact

PEOPLE = [
    ("Budi Santoso", "+6281234567890", "budi@example.com",
     {"city": "Jakarta", "note": 'said "call, later"\nthen hung up'}),
    ("José O'Brien", "+6281298765432", None, {"city": "Medan", "balance": "-5"}),
    ("Siti", "+919876543210", "siti@example.com", {}),
]


def export_text(filters=None):
    return "".join(exporter.export_rows(service.filter_contacts(filters or Filters())))


def snapshot():
    return sorted((c.name, c.phone, c.email, c.fields) for c in Contact.select())


def test_export_then_import_round_trips(ctx, run_import):
    vip = service.create_list("VIP")
    for name, phone, email, fields in PEOPLE:
        contact = service.create_contact(name, phone, email, fields)
        service.add_to_list([contact.id], vip.id)
    before = snapshot()
    text = export_text()
    service.delete_contacts([c.id for c in Contact.select()])
    job = run_import(text.encode("utf-8"))
    assert (job.created_count, job.error_count) == (3, 0)
    assert snapshot() == before


def test_export_columns_and_filter(ctx):
    for name, phone, email, fields in PEOPLE:
        service.create_contact(name, phone, email, fields)
    optouts.add_number("+6281298765432", "complained")
    rows = list(csv.DictReader(io.StringIO(export_text().lstrip("\ufeff"))))
    assert list(rows[0]) == exporter.BASE_COLUMNS + ["balance", "city", "note"]
    assert [r["name"] for r in rows] == ["Budi Santoso", "José O'Brien", "Siti"]
    assert rows[1]["opted_out"] == "yes" and rows[1]["opted_out_reason"] == "complained"
    assert rows[1]["balance"] == "'-5" and rows[0]["phone"] == "'+6281234567890"
    filtered = list(csv.DictReader(io.StringIO(export_text(Filters(q="medan")).lstrip("\ufeff"))))
    assert [r["name"] for r in filtered] == ["José O'Brien"]


@pytest.mark.parametrize("value, cell", [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\tTAB"),
    ("\rCR", "'\rCR"),
    ("plain", "plain"),
    ("a=b", "a=b"),
    (None, ""),
])
def test_formula_injection_is_neutralised(value, cell):
    assert exporter.neutralise(value) == cell


def test_export_streams_in_chunks(ctx, monkeypatch):
    monkeypatch.setattr(exporter, "ROWS_PER_QUERY", 2)
    for i in range(5):
        service.create_contact(f"P{i}", f"08120000000{i}")
    chunks = list(exporter.export_rows(service.filter_contacts(Filters())))
    assert len(chunks) == 4
    assert sum(chunk.count("\n") for chunk in chunks) == 6
