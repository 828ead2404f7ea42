"""Recording what providers tell us about a send: answers to requests, callbacks and polled reports.

Every write is conditional on the state it was computed from, so concurrent callbacks and a late poll
cannot overwrite each other, and states only move forward.
"""
import json
import logging
import zlib

from webapp.db import dialect
from webapp.dispatch import adoption, states
from webapp.dispatch.registry import ON_UPDATE
from webapp.extensions import db
from webapp.models import CallbackEvent, Send, utcnow
from webapp.providers.base import StatusUpdate

log = logging.getLogger(__name__)
OPTIMISTIC_RETRIES = 5
# First keys of the PostgreSQL advisory locks taken per provider id and per send (see serialize_reference).
REFERENCE_LOCK_SPACE = 7300
SEND_LOCK_SPACE = 7301


def _owned(send, owner):
    return (Send.id == send.id) & (Send.state.in_([states.SENDING, states.UNKNOWN])) & (
        (Send.lease_owner == owner) | Send.lease_owner.is_null())


def apply_outcome(send, outcome, owner):
    """The provider accepted the request: store its reference, then apply reports that arrived before it."""
    now = utcnow()
    values = {
        "state": outcome.state, "provider_ref": outcome.provider_ref, "lease_owner": None, "lease_until": None,
        "submitted_at": now, "updated_at": now, "provider_status": outcome.provider_status, "error_code": "",
        "error_text": "",
    }
    if outcome.segments is not None:
        values["segments"] = outcome.segments
    if outcome.price is not None:
        values["price"] = outcome.price
        values["currency"] = outcome.currency
    if outcome.details:
        values["details"] = json.dumps({**send.detail, **outcome.details})
    if outcome.state in states.FINAL:
        values["final_at"] = now
    # One transaction under the id's lock: a callback about this id (already on its way: it may overtake the
    # answer) is applied either before the id is stored (then as an orphan, applied here) or after this
    # answer's hooks ran, never in between, so a hook working from the answer cannot undo the callback's.
    with db.atomic():
        serialize_reference(send.provider, outcome.provider_ref)
        if not _update_owned(send.id, owner, values):
            log.warning("send %s changed while its request was in flight; answer kept in the channel log", send.id)
            return
        if ON_UPDATE.get(send.kind):
            _run_hooks(Send.get_by_id(send.id), StatusUpdate(
                reference=outcome.provider_ref, state=outcome.state, provider_status=outcome.provider_status,
                details=outcome.details))
        apply_orphans(send.provider, outcome.provider_ref)


def _update_owned(send_id, owner, values):
    """UPDATE one send still `sending`/`unknown` under this owner (or none). Once per send on the dispatcher's
    hot path, so written as plain SQL: the same statement the ORM builds from _owned(), without building it."""
    p = db.param
    assignments = ", ".join(f"{column} = {p}" for column in values)
    sql = (f"UPDATE send SET {assignments} WHERE id = {p} AND state IN ({p}, {p}) "
           f"AND (lease_owner = {p} OR lease_owner IS NULL)")
    params = (*values.values(), send_id, states.SENDING, states.UNKNOWN, owner)
    return db.execute_sql(sql, params).rowcount == 1


def requeue_or_fail(send, error, owner, delay, max_tries=5, count_try=True):
    """Nothing reached the provider: queue the same row again after ``delay``, or give up after max_tries."""
    now = utcnow()
    if count_try and send.tries >= max_tries:
        settle_failure(send, error, owner)
        return
    Send.update({
        Send.state: states.QUEUED, Send.not_before: now + delay, Send.lease_owner: None, Send.lease_until: None,
        Send.error_code: error.code, Send.error_text: error.message, Send.updated_at: now,
        Send.tries: Send.tries if count_try else Send.tries - 1,
    }).where(_owned(send, owner)).execute()


def skip(send, reason, owner):
    """Decided not to send before any request was made: the send ends cancelled with the reason."""
    now = utcnow()
    Send.update({Send.state: states.CANCELLED, Send.error_code: "skipped", Send.error_text: reason,
                 Send.lease_owner: None, Send.lease_until: None, Send.final_at: now, Send.updated_at: now}
                ).where(_owned(send, owner)).execute()


def settle_failure(send, error, owner):
    """A refusal ends the send as failed; an answer we could not read leaves it unknown for reconciliation."""
    now = utcnow()
    state = states.FAILED if error.outcome_known else states.UNKNOWN
    fields = {Send.state: state, Send.error_code: error.code, Send.error_text: error.message,
              Send.lease_owner: None, Send.lease_until: None, Send.updated_at: now}
    if state == states.FAILED:
        fields[Send.final_at] = now
    if Send.update(fields).where(_owned(send, owner)).execute():
        _run_hooks(Send.get_by_id(send.id), StatusUpdate(reference=send.provider_ref or "", state=state,
                                                         error_code=error.code, error_text=error.message))


# provider -> finder(update) returning the send a callback is about by something other than the provider's
# reference (Airtel: our per-call reference in the callback URL), or None to match on the reference.
SEND_FINDERS = {}


def _send_for(provider, update):
    finder = SEND_FINDERS.get(provider)
    return (finder(update) if finder else None) or find_send(provider, update.reference)


def find_send(provider, reference):
    if not reference:
        return None
    return (Send.select().where((Send.provider == provider) & (Send.provider_ref == str(reference)))
            .order_by(Send.id.desc()).first())


def apply_update(provider, update, send=None):
    """Apply one StatusUpdate; returns 'applied', 'ignored' (nothing new), 'stale' (the send was already
    final: a late report changes neither its state nor its details) or 'orphan' (reference unknown).

    ``send``: the row the caller just read for this update, used as the first snapshot (the write is
    conditional on its updated_at, so a stale one only costs a retry)."""
    for attempt in range(OPTIMISTIC_RETRIES):
        if send is None or attempt:
            send = _send_for(provider, update)
        if send is None:
            return "orphan"
        if send.state in states.FINAL:
            return "stale"
        fields = _update_fields(send, update)
        if not fields:
            return "ignored"
        fields[Send.updated_at] = utcnow()
        # One transaction with the kind's hooks: a call that ended unanswered and the retry it gets appear
        # together, so no page ever counts that recipient as finished in between. The brake looks after the
        # commit: it counts other sends' outcomes, which concurrent callbacks commit in their own transactions.
        with db.atomic():
            applied = Send.update(fields).where(
                (Send.id == send.id) & (Send.updated_at == send.updated_at)).execute()
            if applied:
                send = Send.get_by_id(send.id)
                _run_kind_hooks(send, update)
        if applied:
            _observe_brake(send)
            return "applied"
    raise RuntimeError(f"send {update.reference} kept changing while applying an update")


def _update_fields(send, update):
    fields = {}
    if update.details:
        merged = {**send.detail, **update.details}
        if merged != send.detail:
            fields[Send.details] = json.dumps(merged)
    if update.price is not None and update.price != send.price:
        fields[Send.price] = update.price
        fields[Send.currency] = update.currency or send.currency
    if states.may_move(send.state, update.state):
        now = utcnow()
        fields[Send.state] = update.state
        fields[Send.provider_status] = update.provider_status
        fields[Send.error_code] = update.error_code
        fields[Send.error_text] = update.error_text
        if update.state in states.FINAL:
            fields[Send.final_at] = now
        if send.submitted_at is None:
            fields[Send.submitted_at] = now
    return fields


def _run_hooks(send, update):
    _run_kind_hooks(send, update)
    _observe_brake(send)


def _run_kind_hooks(send, update):
    for hook in ON_UPDATE.get(send.kind, []):
        hook(send, update)


def _observe_brake(send):
    if send.campaign_id is not None and send.state in (states.FAILED, states.UNDELIVERABLE):
        from webapp.dispatch import brake

        brake.observe(send)


def apply_orphans(provider, reference):
    """Callbacks that arrived before their send's reference was stored are applied now, in arrival order."""
    # Asked after every accepted request and almost always empty: a compact indexed lookup first. On SQLite
    # it may run outside the lock: a callback's lookup and its "orphan" verdict are one write transaction,
    # and write transactions are serialised, so a verdict is either visible here or saw the stored id.
    if dialect() != "postgresql" and not _has_orphans(provider, reference):
        return
    with db.atomic():
        serialize_reference(provider, reference)
        if _has_orphans(provider, reference):
            _apply_stored_orphans(provider, reference)


def _has_orphans(provider, reference):
    probe = "SELECT 1 FROM callback_event WHERE reference = {p} AND status = 'orphan' AND provider = {p} LIMIT 1"
    return db.execute_sql(probe.format(p=db.param), (str(reference), provider)).fetchone() is not None


def serialize_reference(provider, reference):
    """Take the lock of one provider id until the transaction ends, so that the callbacks about it and the
    dispatcher's orphan pass are applied one at a time: an orphan verdict cannot race the id being stored,
    two appliers never apply the same orphans, and a later report never overtakes an earlier orphan.
    PostgreSQL: an advisory lock keyed on the id. SQLite: every transaction already begins IMMEDIATE
    (webapp.db), which serialises all writers."""
    if reference and dialect() == "postgresql":
        key = zlib.crc32(f"{provider}:{reference}".encode()) - 2 ** 31  # a signed int4
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (REFERENCE_LOCK_SPACE, key))


def serialize_send(send_id):
    """The same for one send (adopting an `unknown` send: two callbacks must not both adopt it)."""
    if dialect() == "postgresql":
        db.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (SEND_LOCK_SPACE, send_id))


def _apply_stored_orphans(provider, reference, before=None):
    from webapp.callbacks.bodies import stored_payload
    from webapp.callbacks.ingest import apply

    query = (CallbackEvent.select()
             .where((CallbackEvent.provider == provider) & (CallbackEvent.reference == str(reference))
                    & (CallbackEvent.status == "orphan")))
    if before is not None:
        query = query.where(CallbackEvent.id < before)
    # Materialised before any write: an SQLite read cursor left open across a write fails "database is locked".
    for event in list(query.order_by(CallbackEvent.id)):
        apply(event, stored_payload(event))


def provider_callback_handler(provider):
    """The callbacks blueprint's handler for a provider: parse with its module, apply each update."""

    def handle(event, payload):
        from webapp.providers import module

        updates = module(provider).parse_callback(event.kind, payload)
        if not updates:
            return "ignored"
        event.reference = str(updates[0].reference)
        results = []
        for update in updates:
            serialize_reference(provider, update.reference)
            # An id no send has yet may be an `unknown` send's: adopted when the number names exactly one.
            send = _send_for(provider, update) or adoption.adopt(provider, update, event.received_at or utcnow())
            if send is not None:
                if send.provider_ref and send.provider_ref != str(update.reference):
                    serialize_reference(provider, send.provider_ref)  # found by other means (Airtel's URL)
                if send.provider_ref and event.id:
                    # An orphan stored before this callback is older news: it goes first, whoever applies it.
                    _apply_stored_orphans(provider, send.provider_ref, before=event.id)
            results.append(apply_update(provider, update, send))
        for status in ("applied", "stale", "ignored"):
            if status in results:
                return status
        return "orphan"

    return handle


def provider_callback_check(provider):
    """The web's check before storing: the provider module parses the payload (no database touched)."""

    def check(kind, payload):
        from webapp.providers import module

        module(provider).parse_callback(kind, payload)

    return check
