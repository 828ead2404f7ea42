"""Do-not-contact: per contact and for any number. An OptOut row (keyed by E.164 phone) is the source of
truth that campaigns check; a contact's ``opted_out`` flag mirrors it for the pages."""
from webapp.contacts.service import chunks, clean_phone, record_event
from webapp.extensions import db
from webapp.models import Contact, ContactEvent, OptOut, utcnow
from webapp.phones import PhoneError, to_e164

# Replies that withdraw consent, compared case-insensitively after trimming (BERHENTI: Indonesian "stop").
STOP_WORDS = {"stop", "berhenti", "unsubscribe"}
SOURCES = {"manual": "Added by staff", "contact": "Contact opted out", "sms": "STOP reply", "import": "Import"}


def _normalize(phone):
    try:
        return to_e164(phone)
    except PhoneError:
        return None


def is_opted_out(phone):
    e164 = _normalize(phone)
    return e164 is not None and OptOut.select().where(OptOut.phone == e164).exists()


def opted_out_phones(phones):
    """The subset of ``phones`` (E.164) that must not be contacted."""
    blocked = set()
    for chunk in chunks(set(phones)):
        blocked.update(row.phone for row in OptOut.select(OptOut.phone).where(OptOut.phone.in_(chunk)))
    return blocked


def opt_out_contacts(ids, reason="", source="contact", user_id=None):
    """Opt out every listed contact not opted out yet; returns how many changed."""
    now = utcnow()
    reason = (reason or "").strip()[:255]
    changed = 0
    for chunk in chunks(ids):
        with db.atomic():
            rows = list(
                Contact.select(Contact.id, Contact.phone)
                .where(Contact.id.in_(chunk) & (Contact.opted_out == False))  # noqa: E712
            )
            if not rows:
                continue
            Contact.update(opted_out=True, opted_out_at=now, opted_out_reason=reason, updated_at=now).where(
                Contact.id.in_([r.id for r in rows])
            ).execute()
            OptOut.insert_many(
                [{"phone": r.phone, "reason": reason, "source": source, "user_id": user_id, "created_at": now}
                 for r in rows]
            ).on_conflict_ignore().execute()
            ContactEvent.insert_many(
                [{"contact": r.id, "kind": "opted_out", "detail": reason, "user_id": user_id, "created_at": now}
                 for r in rows]
            ).execute()
            changed += len(rows)
    return changed


def opt_in_contact(contact, user_id=None):
    """Consent given again: the number leaves the do-not-contact list."""
    with db.atomic():
        OptOut.delete().where(OptOut.phone == contact.phone).execute()
        if contact.opted_out:
            contact.opted_out, contact.opted_out_at, contact.opted_out_reason = False, None, ""
            Contact.update(opted_out=False, opted_out_at=None, opted_out_reason="", updated_at=utcnow()).where(
                Contact.id == contact.id
            ).execute()
            record_event(contact, "opted_in", user_id=user_id)


def add_number(phone, reason="", source="manual", user_id=None):
    """Block a number, and opt out the contact holding it if there is one. Returns the OptOut row."""
    phone = clean_phone(phone)
    reason = (reason or "").strip()[:255]
    with db.atomic():
        entry = OptOut.get_or_none(OptOut.phone == phone)
        if entry is None:
            entry = OptOut.create(phone=phone, reason=reason, source=source, user_id=user_id)
        contact = Contact.get_or_none(Contact.phone == phone)
        if contact is not None:
            opt_out_contacts([contact.id], reason or SOURCES.get(source, ""), source, user_id)
    return entry


def remove_number(entry, user_id=None):
    contact = Contact.get_or_none(Contact.phone == entry.phone)
    with db.atomic():
        entry.delete_instance()
        if contact is not None:
            opt_in_contact(contact, user_id)


def handle_inbound_sms(sender_e164, text):
    """Opt out the sender of a STOP/BERHENTI/UNSUBSCRIBE reply. True when the message was such a request
    (the sender is opted out afterwards, whether or not they already were)."""
    if (text or "").strip().casefold() not in STOP_WORDS:
        return False
    if _normalize(sender_e164) is None:
        return False
    add_number(sender_e164, "Replied " + text.strip().upper(), source="sms")
    return True


def search_numbers(q=""):
    query = OptOut.select().order_by(OptOut.created_at.desc(), OptOut.id.desc())
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits.startswith("0"):
        # Typed the Indonesian local way (0812...): stored numbers read +62812...
        digits = "62" + digits[1:]
    if digits:
        query = query.where(OptOut.phone.contains(digits))
    return query
