"""The callback browser's queries and its replay: every raw callback as stored, what applying it did, and the
send it was about."""
from dataclasses import dataclass

from webapp.callbacks import bodies, ingest, lookup
from webapp.models import CallbackEvent, Send
from webapp.ops.filters import day_range, text
from webapp.params import id_value

# What a stored callback can have become (see webapp.callbacks.ingest; a duplicate is answered but never
# stored twice, so it has no row of its own).
STATUSES = ("received", "applied", "orphan", "stale", "ignored", "invalid", "failed")


class ReplayRefused(ValueError):
    pass


@dataclass
class CallbackFilters:
    provider: str = ""
    status: str = ""
    send_id: int | None = None
    campaign_id: int | None = None
    reference: str = ""
    since: object = None
    until: object = None

    @classmethod
    def from_args(cls, args):
        since, until = day_range(args)
        status = text(args, "status")
        return cls(provider=text(args, "provider", 16), status=status if status in STATUSES else "",
                   send_id=id_value(args.get("send")), campaign_id=id_value(args.get("campaign")),
                   reference=text(args, "reference", 128), since=since, until=until)


def events(filters):
    """The matching callbacks (unordered: the caller pages them by id)."""
    query = CallbackEvent.select()
    if filters.provider:
        query = query.where(CallbackEvent.provider == filters.provider)
    if filters.status:
        query = query.where(CallbackEvent.status == filters.status)
    if filters.reference:
        query = query.where(CallbackEvent.reference == filters.reference)
    if filters.send_id:
        send = Send.get_or_none(Send.id == filters.send_id)
        # A send without a provider id yet has no callback that can name it.
        if send is None or not send.provider_ref:
            return query.where(CallbackEvent.id.is_null())
        query = query.where((CallbackEvent.provider == send.provider) & (CallbackEvent.reference == send.provider_ref))
    if filters.campaign_id:
        refs = Send.select(Send.provider_ref).where((Send.campaign_id == filters.campaign_id)
                                                   & Send.provider_ref.is_null(False))
        query = query.where(CallbackEvent.reference.in_(refs))
    if filters.since:
        query = query.where(CallbackEvent.received_at >= filters.since)
    if filters.until:
        query = query.where(CallbackEvent.received_at < filters.until)
    return query


def sends_for(events):
    """(provider, reference) -> send id, for the events shown."""
    return {key: send.id for key, send in lookup.sends_for(events, Send.id).items()}


def body_text(event):
    return bodies.raw_body(event).decode("utf-8", "replace")


def replay(event_id):
    """Apply a failed callback again through the same path as the worker; returns (status, error)."""
    event = CallbackEvent.get_or_none(CallbackEvent.id == event_id)
    if event is None or event.status != "failed":
        raise ReplayRefused("Only a failed callback can be replayed.")
    return ingest.apply(event)
