"""Contacts and lists as plain functions: validation, search, paging, bulk changes, events."""
import math
import re
from dataclasses import dataclass

from peewee import IntegrityError, fn

from webapp.extensions import db
from webapp.models import Contact, ContactEvent, ContactList, ContactListMember, OptOut, utcnow
from webapp.params import id_list, id_value
from webapp.phones import PhoneError, to_e164

PER_PAGE = 50
# Counting every match of a broad search costs a full scan per request; past this the page says "10,000+".
COUNT_CAP = 10_000
# A keyword for IN (...) lists and batched writes, well under SQLite's bound-parameter limit.
CHUNK = 500

SORTS = {
    "name": (Contact.name, Contact.id),
    "-name": (Contact.name.desc(), Contact.id.desc()),
    "created": (Contact.created_at, Contact.id),
    "-created": (Contact.created_at.desc(), Contact.id.desc()),
    "phone": (Contact.phone,),
    "-phone": (Contact.phone.desc(),),
}
STATUSES = {"all": "All", "active": "Reachable", "opted_out": "Opted out", "verified": "Verified"}

# Field keys that would shadow a template variable or an export column.
RESERVED_KEYS = {"name", "phone", "email", "lists", "opted_out", "opted_out_reason", "verified_at", "created_at"}
MAX_FIELD_KEY = 40
MAX_FIELD_VALUE = 500
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_TERM_RE = re.compile(r"^[+\d][\d\s().-]*$")


class ContactError(ValueError):
    """A refused change, with a message fit for the page."""


# --- validation --------------------------------------------------------------------------------------------

def normalize_key(raw):
    return re.sub(r"[^0-9a-z]+", "_", (raw or "").strip().lower()).strip("_")


def field_key(raw):
    """A custom field name usable as a template variable: lower-case letters, digits and underscores."""
    key = normalize_key(raw)
    if not key:
        raise ContactError(f"'{raw}' cannot be used as a field name: use letters and digits.")
    if key[0].isdigit():
        key = "field_" + key
    key = key[:MAX_FIELD_KEY]
    if key in RESERVED_KEYS:
        raise ContactError(f"'{key}' is a built-in column and cannot be a custom field name.")
    return key


def clean_fields(pairs):
    """(key, value) pairs to the stored dict; empty values are dropped rather than stored as ''."""
    fields = {}
    for raw_key, value in pairs:
        value = str(value or "").strip()
        if not (raw_key or "").strip():
            continue
        key = field_key(raw_key)
        if value:
            fields[key] = value[:MAX_FIELD_VALUE]
    return fields


def clean_email(raw):
    email = (raw or "").strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ContactError(f"'{email}' is not a valid e-mail address.")
    return email


def clean_phone(raw):
    try:
        return to_e164(raw)
    except PhoneError as exc:
        raise ContactError(f"Phone: {exc}.") from exc


# --- contacts ----------------------------------------------------------------------------------------------

def record_event(contact, kind, detail="", user_id=None):
    contact_id = contact.id if isinstance(contact, Contact) else contact
    return ContactEvent.create(contact=contact_id, kind=kind, detail=detail, user_id=user_id)


def find_by_phone(raw):
    try:
        phone = to_e164(raw)
    except PhoneError:
        return None
    return Contact.get_or_none(Contact.phone == phone)


def create_contact(name, phone, email=None, fields=None, list_ids=(), user_id=None):
    phone = clean_phone(phone)
    contact = Contact(name=(name or "").strip()[:200], phone=phone, email=clean_email(email))
    contact.fields = fields or {}
    # A number on the do-not-contact list stays opted out when it becomes a contact again.
    blocked = OptOut.get_or_none(OptOut.phone == phone)
    if blocked:
        contact.opted_out, contact.opted_out_at, contact.opted_out_reason = True, blocked.created_at, blocked.reason
    try:
        with db.atomic():
            contact.save()
    except IntegrityError as exc:
        raise ContactError("A contact with this phone number already exists.") from exc
    record_event(contact, "created", user_id=user_id)
    for list_id in list_ids:
        add_to_list([contact.id], list_id)
    return contact


def update_contact(contact, name, phone, email, fields, user_id=None):
    phone = clean_phone(phone)
    taken = Contact.select().where((Contact.phone == phone) & (Contact.id != contact.id)).exists()
    if phone != contact.phone and taken:
        raise ContactError("Another contact already has this phone number.")
    changed = []
    for attr, value in (("name", (name or "").strip()[:200]), ("phone", phone), ("email", clean_email(email))):
        if getattr(contact, attr) != value:
            setattr(contact, attr, value)
            changed.append(attr)
    if contact.fields != fields:
        contact.fields = fields
        changed.append("fields")
    if changed:
        contact.save()
        record_event(contact, "edited", ", ".join(changed), user_id=user_id)
    return changed


def delete_contacts(ids):
    deleted = 0
    for chunk in chunks(ids):
        with db.atomic():
            deleted += Contact.delete().where(Contact.id.in_(chunk)).execute()
    return deleted


def mark_verified(contact_or_phone, user_id=None):
    """The person proved they hold this number (OTP). Returns the contact, or None for an unknown number."""
    if isinstance(contact_or_phone, Contact):
        contact = contact_or_phone
    else:
        contact = find_by_phone(contact_or_phone)
    if contact is None:
        return None
    contact.verified_at = utcnow()
    Contact.update(verified_at=contact.verified_at).where(Contact.id == contact.id).execute()
    record_event(contact, "verified", user_id=user_id)
    return contact


# --- lists -------------------------------------------------------------------------------------------------

def create_list(name, description=""):
    name = (name or "").strip()
    if not name:
        raise ContactError("Enter a list name.")
    if len(name) > 120:
        raise ContactError("List names are at most 120 characters.")
    try:
        with db.atomic():
            return ContactList.create(name=name, description=(description or "").strip())
    except IntegrityError as exc:
        raise ContactError(f"A list named '{name}' already exists.") from exc


def rename_list(contact_list, name, description=None):
    name = (name or "").strip()
    if not name:
        raise ContactError("Enter a list name.")
    if ContactList.select().where((ContactList.name == name) & (ContactList.id != contact_list.id)).exists():
        raise ContactError(f"A list named '{name}' already exists.")
    contact_list.name = name[:120]
    if description is not None:
        contact_list.description = description.strip()
    contact_list.save()


def list_or_error(list_id):
    contact_list = ContactList.get_or_none(ContactList.id == list_id) if str(list_id or "").isdigit() else None
    if contact_list is None:
        raise ContactError("Choose a list.")
    return contact_list


def add_to_list(ids, list_id):
    """Returns how many were not in the list yet."""
    now = utcnow()
    added = 0
    for chunk in chunks(ids):
        rows = [{"contact": cid, "list": list_id, "added_at": now} for cid in chunk]
        with db.atomic():
            inserted = ContactListMember.insert_many(rows).on_conflict_ignore().returning(ContactListMember.id)
            added += len(list(inserted.execute()))
    return added


def remove_from_list(ids, list_id):
    removed = 0
    for chunk in chunks(ids):
        with db.atomic():
            removed += (
                ContactListMember.delete()
                .where((ContactListMember.list == list_id) & (ContactListMember.contact.in_(chunk)))
                .execute()
            )
    return removed


def all_lists():
    return list(ContactList.select().order_by(ContactList.name))


def list_sizes():
    query = (
        ContactListMember.select(ContactListMember.list, fn.COUNT(ContactListMember.id).alias("n"))
        .group_by(ContactListMember.list)
    )
    return {row.list_id: row.n for row in query}


def lists_by_contact(contact_ids):
    result = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return result
    query = (
        ContactListMember.select(ContactListMember.contact, ContactList)
        .join(ContactList)
        .where(ContactListMember.contact.in_(list(contact_ids)))
        .order_by(ContactList.name)
    )
    for row in query:
        result[row.contact_id].append(row.list)
    return result


# --- search and paging -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    q: str = ""
    list_id: int | None = None
    status: str = "all"
    sort: str = "name"

    @classmethod
    def from_args(cls, args):
        list_id = args.get("list", "")
        status = args.get("status", "all")
        sort = args.get("sort", "name")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            list_id=id_value(list_id),
            status=status if status in STATUSES else "all",
            sort=sort if sort in SORTS else "name",
        )

    @property
    def active(self):
        return bool(self.q or self.list_id or self.status != "all")

    def args(self, **overrides):
        """Query-string arguments for links that keep the current filter (defaults left out)."""
        values = {"q": self.q, "list": self.list_id, "status": self.status, "sort": self.sort, **overrides}
        defaults = {"status": "all", "sort": "name", "page": 1}
        return {k: v for k, v in values.items() if v not in (None, "") and defaults.get(k) != v}


def search_terms(q):
    """Words to match; a phone typed with spaces or punctuation is reduced to its digits."""
    if PHONE_TERM_RE.match(q or ""):
        digits = re.sub(r"\D", "", q)
        return [digits] if digits else []
    return [term.lower() for term in (q or "").split()]


def filter_contacts(filters):
    query = Contact.select()
    for term in search_terms(filters.q):
        query = query.where(Contact.search.contains(term))
    if filters.list_id:
        members = ContactListMember.select(ContactListMember.contact).where(ContactListMember.list == filters.list_id)
        query = query.where(Contact.id.in_(members))
    if filters.status == "active":
        query = query.where(Contact.opted_out == False)  # noqa: E712 (peewee expression)
    elif filters.status == "opted_out":
        query = query.where(Contact.opted_out == True)  # noqa: E712
    elif filters.status == "verified":
        query = query.where(Contact.verified_at.is_null(False))
    return query.order_by(*SORTS[filters.sort])


@dataclass
class Page:
    items: list
    number: int
    total: int
    capped: bool
    has_next: bool

    @property
    def first(self):
        return (self.number - 1) * PER_PAGE + 1 if self.items else 0

    @property
    def last(self):
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def pages(self):
        return None if self.capped else max(1, math.ceil(self.total / PER_PAGE))


def paginate(query, number):
    number = max(1, number)
    rows = list(query.limit(PER_PAGE + 1).offset((number - 1) * PER_PAGE))
    total = query.order_by().select(Contact.id).limit(COUNT_CAP + 1).count()
    return Page(items=rows[:PER_PAGE], number=number, total=min(total, COUNT_CAP), capped=total > COUNT_CAP,
                has_next=len(rows) > PER_PAGE)


def selected_ids(form, filters):
    """The contacts a bulk action applies to: the ticked rows, or every contact matching the filter."""
    if form.get("scope") == "all":
        return [c.id for c in filter_contacts(filters).select(Contact.id).order_by(Contact.id)]
    return id_list(form.getlist("ids"))


def chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]
