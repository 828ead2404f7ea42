"""The provider log browser's queries: every stored HTTP exchange with a provider (credentials were redacted
when it was stored), filtered."""
from dataclasses import dataclass

from peewee import SQL

from webapp.models import ChannelLog, Send
from webapp.ops.filters import day_range, text
from webapp.params import id_value

# "ok": the provider answered 2xx and the client raised nothing; "error": anything else (no answer, 4xx/5xx,
# an answer the client refused).
STATUSES = ("ok", "error")


@dataclass
class LogFilters:
    provider: str = ""
    operation: str = ""
    status: str = ""
    send_id: int | None = None
    campaign_id: int | None = None
    since: object = None
    until: object = None

    @classmethod
    def from_args(cls, args):
        since, until = day_range(args)
        status = text(args, "status")
        return cls(provider=text(args, "provider", 16), operation=text(args, "operation", 32),
                   status=status if status in STATUSES else "", send_id=id_value(args.get("send")),
                   campaign_id=id_value(args.get("campaign")), since=since, until=until)


# Written out literally, as in migration m0021's partial index: SQLite uses a partial index only for a query
# repeating its condition with the same constants (a bound parameter does not count).
TROUBLE = "(status_code IS NULL OR status_code NOT BETWEEN 200 AND 299 OR error <> '')"


def exchanges(filters):
    """The matching exchanges (unordered: the caller pages them by id)."""
    query = ChannelLog.select()
    if filters.provider and filters.status == "error":
        # Failures are few: read them from their partial index and check the provider on each, rather than
        # walk every exchange of the provider (a planner without statistics picks the provider's index).
        query = query.where(ChannelLog.provider.concat("") == filters.provider)
    elif filters.provider:
        query = query.where(ChannelLog.provider == filters.provider)
    if filters.operation:
        query = query.where(ChannelLog.operation == filters.operation)
    if filters.status == "ok":
        query = query.where(SQL(f"NOT {TROUBLE}"))
    elif filters.status == "error":
        query = query.where(SQL(TROUBLE))
    if filters.send_id:
        query = query.where(ChannelLog.send_id == filters.send_id)
    if filters.campaign_id:
        query = query.where(ChannelLog.send_id.in_(Send.select(Send.id).where(Send.campaign_id == filters.campaign_id)))
    if filters.since:
        query = query.where(ChannelLog.created_at >= filters.since)
    if filters.until:
        query = query.where(ChannelLog.created_at < filters.until)
    return query
