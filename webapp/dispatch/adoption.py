"""Unknown sends reconciled by their callbacks.

A send is `unknown` when its request started and the worker died before the answer was stored: it has no
provider id, so no poll can settle it, and its callbacks arrive as orphans. When a callback whose provider id
matches no send names the number of exactly one such send, of a kind that callback can be about, whose request
started within UNKNOWN_ADOPT_HOURS before the callback arrived, that send adopts the callback's id
(``adopted_at`` says so) and the callback is applied to it. With two candidates nothing is guessed: the
callback stays an orphan.

Only callbacks that name the number can be matched: the masking DLR (msisdn) and CitCALL's missed-call
callback (msisdn). CitCALL's SMS callbacks carry no number, OCA has no callbacks, and an Airtel call is found
by its own callback URL whatever its state.
"""
import logging
from datetime import timedelta

from flask import current_app

from webapp.dispatch import states
from webapp.models import CallbackEvent, Send, utcnow
from webapp.phones import PhoneError, to_e164

log = logging.getLogger(__name__)

# (provider, kind of the parsed update) -> the send kinds such a callback can be about. The number is the
# update's details["msisdn"], as both parsers keep it.
ADOPTABLE = {
    ("masking", "dlr"): ("sms.masking",),
    ("citcall", "miscall"): ("otp.miscall",),
}
RETRY_BATCH = 500


def window():
    return timedelta(hours=int(current_app.config["UNKNOWN_ADOPT_HOURS"]))


def _number(update):
    try:
        return to_e164(str(update.details.get("msisdn") or ""))
    except PhoneError:
        return None


def candidate(provider, update, received_at):
    """The one unknown send this orphan update can be about, or None (none, or more than one)."""
    kinds = ADOPTABLE.get((provider, update.kind))
    number = _number(update) if kinds and update.reference else None
    if number is None:
        return None
    found = list(Send.select().where(
        (Send.provider == provider) & Send.kind.in_(kinds) & (Send.state == states.UNKNOWN)
        & Send.provider_ref.is_null() & (Send.to_number == number)
        & Send.sent_at.between(received_at - window(), received_at)).limit(2))
    return found[0] if len(found) == 1 else None


def adopt(provider, update, received_at):
    """Store the update's provider id on the one unknown send it can be about; returns that send or None.
    Runs inside the callback's transaction, under the send's lock, so two callbacks cannot both adopt it."""
    from webapp.dispatch.updates import find_send, serialize_send

    send = candidate(provider, update, received_at)
    if send is None:
        return None
    serialize_send(send.id)
    now = utcnow()
    if Send.update(provider_ref=str(update.reference), adopted_at=now, updated_at=now).where(
            (Send.id == send.id) & (Send.state == states.UNKNOWN) & Send.provider_ref.is_null()).execute():
        log.info("unknown send %s adopted %s id %s from a callback naming its number", send.id, provider,
                 update.reference)
    return find_send(provider, update.reference)


def retry_orphans(app=None, now=None):
    """Scheduler job: orphans stored while their send was still `sending` (the worker had just died, its
    lease not yet expired) are tried again once the send has become `unknown`. Only orphans of providers
    with such sends, received since the oldest of them started, are read; returns how many were applied."""
    from webapp.callbacks.bodies import stored_payload
    from webapp.callbacks.ingest import apply

    now = now or utcnow()
    providers = sorted({provider for provider, _ in ADOPTABLE})
    oldest = (Send.select(Send.provider, Send.sent_at)
              .where(Send.provider.in_(providers) & (Send.state == states.UNKNOWN) & Send.provider_ref.is_null()
                     & (Send.sent_at > now - window()))
              .order_by(Send.sent_at).first())
    if oldest is None:
        return 0
    applied, after = 0, 0
    while True:
        # Materialised before any write: an SQLite read cursor left open across a write fails "database is locked".
        batch = list(CallbackEvent.select()
                     .where((CallbackEvent.status == "orphan") & CallbackEvent.provider.in_(providers)
                            & (CallbackEvent.received_at >= oldest.sent_at) & (CallbackEvent.id > after))
                     .order_by(CallbackEvent.id).limit(RETRY_BATCH))
        for event in batch:
            applied += apply(event, stored_payload(event))[0] == "applied"
        if len(batch) < RETRY_BATCH:
            return applied
        after = batch[-1].id
