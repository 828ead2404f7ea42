"""CSV export of a filtered contact query, streamed row by row, safe to open in a spreadsheet."""
from webapp.contacts.service import chunks, lists_by_contact
from webapp.csv_export import BOM, csv_line, neutralise  # noqa: F401  (neutralise: part of this module's API)
from webapp.models import Contact

BASE_COLUMNS = ["name", "phone", "email", "lists", "opted_out", "opted_out_reason", "verified_at", "created_at"]
ROWS_PER_QUERY = 1000


def field_keys(query):
    keys = set()
    for contact in query.select(Contact.custom_fields).order_by():
        keys.update(contact.fields)
    return sorted(keys)


def export_rows(query):
    """Yields CSV text: a header, then one line per contact (custom fields as their own columns)."""
    keys = field_keys(query)
    yield BOM + csv_line(BASE_COLUMNS + keys)
    ids = [c.id for c in query.select(Contact.id)]
    for chunk in chunks(ids, ROWS_PER_QUERY):
        contacts = {c.id: c for c in Contact.select().where(Contact.id.in_(chunk))}
        lists = lists_by_contact(chunk)
        lines = []
        for contact_id in chunk:
            contact = contacts.get(contact_id)
            if contact is None:
                continue
            fields = contact.fields
            lines.append(csv_line([
                contact.name, contact.phone, contact.email or "", "; ".join(lst.name for lst in lists[contact_id]),
                "yes" if contact.opted_out else "", contact.opted_out_reason,
                iso(contact.verified_at), iso(contact.created_at), *(fields.get(k, "") for k in keys),
            ]))
        yield "".join(lines)


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
