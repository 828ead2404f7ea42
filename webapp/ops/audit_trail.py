"""The audit trail as plain functions: who did what, to what, from where, newest first."""
from dataclasses import dataclass

from peewee import JOIN

from webapp.models import AuditLog, User
from webapp.ops.filters import day_range, text
from webapp.params import id_value

PER_PAGE = 50
CSV_HEADER = ["time_utc", "actor", "action", "target", "detail", "remote_addr"]


@dataclass
class AuditFilters:
    actor: int | None = None  # a user id
    action: str = ""  # an action, or its prefix ("campaign." for every campaign action)
    since: object = None
    until: object = None

    @classmethod
    def from_args(cls, args):
        since, until = day_range(args)
        return cls(actor=id_value(args.get("actor")), action=text(args, "action"), since=since, until=until)


def entries(filters):
    """Audit rows matching the filters, newest first, each with ``actor_email`` (empty for the system)."""
    query = (AuditLog.select(AuditLog, User.email.alias("actor_email"))
             .join(User, JOIN.LEFT_OUTER, on=(AuditLog.user_id == User.id)))
    if filters.actor:
        query = query.where(AuditLog.user_id == filters.actor)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action))
    if filters.since:
        query = query.where(AuditLog.created_at >= filters.since)
    if filters.until:
        query = query.where(AuditLog.created_at < filters.until)
    return query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).objects()


def csv_rows(filters):
    for row in entries(filters).iterator():
        yield (row.created_at, row.actor_email or "", row.action, row.target, row.detail, row.remote_addr)


def actions():
    """The distinct actions recorded so far, for the filter's choices."""
    return [a for (a,) in AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action).tuples()]


def actors():
    return list(User.select(User.id, User.email).order_by(User.email))
