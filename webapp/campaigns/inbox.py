"""The masking inbox: poll inbox.php, store each inbound SMS once, opt out STOP/BERHENTI senders, and keep the
lines the answer held that are no message (raw, counted on the Inbox page, logged) instead of dropping them.

inbox.php lists messages again on every poll, with or without ids (its format is not public, see
webapp/providers/masking_inbox.py), so every row is keyed (the provider's id, else a hash of number, time, text
and occurrence) and the unique (provider, external_id) index makes repeated and concurrent polls store it once.
"""
import logging
from collections import Counter

from peewee import IntegrityError

from webapp.extensions import db
from webapp.models import Contact, InboxMessage
from webapp.providers import shared_client
from webapp.providers.base import ProviderError
from webapp.providers.masking_inbox import raw_key

log = logging.getLogger(__name__)

PROVIDER = "masking"
# Keys looked up per query (well under SQLite's bound-parameter limit).
CHUNK = 500
# Lines not understood shown on the Inbox page, newest first.
SHOWN_NOT_UNDERSTOOD = 20


def poll_masking_inbox(app):
    """Store new inbound SMS; a STOP / BERHENTI reply opts its sender out. Returns how many messages were new."""
    try:
        answer = shared_client(PROVIDER, app).inbox()
    except ProviderError as exc:
        log.warning("inbox poll failed: %s", exc)
        return 0
    rows = [(message.key, message) for message in answer.messages]
    occurrences = Counter()
    for line in answer.not_understood:
        occurrences[line] += 1
        rows.append((raw_key(line, occurrences[line]), line))
    known = _known_keys([key for key, _row in rows])
    stored = 0
    for key, row in rows:
        if key in known:
            continue
        known.add(key)
        if isinstance(row, str):
            if _store_line(key, row):
                log.warning("masking inbox: a line was not understood and is kept raw: %r", row[:300])
        elif _store_message(key, row):
            stored += 1
    return stored


def _known_keys(keys):
    known = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        known.update(row.external_id for row in InboxMessage.select(InboxMessage.external_id)
                     .where((InboxMessage.provider == PROVIDER) & InboxMessage.external_id.in_(chunk)))
    return known


def _store_message(key, message):
    """Insert one message and apply its opt-out in one transaction; False when another poll stored it first."""
    from webapp.contacts.optouts import handle_inbound_sms

    try:
        with db.atomic():
            contact = Contact.get_or_none(Contact.phone == message.sender_e164)
            row = InboxMessage.create(provider=PROVIDER, external_id=key, sender=message.sender_e164,
                                      text=message.text, received_at=message.received_at, raw=message.raw,
                                      contact_id=contact.id if contact else None)
            # After the insert: a duplicate fails above and never opts anyone out twice.
            if handle_inbound_sms(message.sender_e164, message.text):
                InboxMessage.update(opted_out=True).where(InboxMessage.id == row.id).execute()
    except IntegrityError:
        return False
    return True


def _store_line(key, line):
    try:
        with db.atomic():
            InboxMessage.create(provider=PROVIDER, external_id=key, sender="", text="", raw=line, understood=False)
    except IntegrityError:
        return False
    return True


def messages():
    """Inbound SMS the parser read, newest first (a query, for paging)."""
    return InboxMessage.select().where(InboxMessage.understood).order_by(InboxMessage.id.desc())


def not_understood(limit=SHOWN_NOT_UNDERSTOOD):
    """(how many lines were not understood, the newest of them)."""
    query = InboxMessage.select().where(~InboxMessage.understood)
    return query.count(), list(query.order_by(InboxMessage.id.desc()).limit(limit))
