"""Click-to-call: placing a call (a Call and its Send, one transaction), its sender, and the call history."""
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from flask_login import current_user
from peewee import JOIN, IntegrityError

from webapp.calls import legacy
from webapp.calls.progress import settle_from_send
from webapp.contacts.optouts import is_opted_out
from webapp.contacts.timeline import TimelineItem
from webapp.db import dialect
from webapp.dispatch.registry import Outcome
from webapp.extensions import db
from webapp.models import Call, Contact, Send, User, utcnow
from webapp.models.calls import FINAL
from webapp.params import id_value
from webapp.phones import PhoneError, display, to_e164
from webapp.providers import module, shared_client
from webapp.providers.base import ProviderError

KIND = "c2c.airtel"
PROVIDER = "airtel"
# A call not ended after this long (its CDR never came) stops keeping its agent from calling again.
ACTIVE_FOR = timedelta(hours=2)
# Airtel dials only Indian numbers, so a number typed without a country code is read as Indian.
DIAL_REGION = "IN"
KEY = re.compile(r"[0-9a-f]{32}")
# The clientCorrelationId the previous version put in its requests.
LEGACY_REFERENCE = re.compile(r"call-(\d+)")
PER_PAGE = 50
# Outcomes offered by the history filter besides the CDR statuses found in the table.
STATUS_FILTERS = {"active": "In progress", "not_placed": "Not placed (refused or error)"}
KNOWN_STATUSES = ("Answered", "Busy", "Missed")


OPTED_OUT = "This number is on the do-not-contact list, so it cannot be called."


class CallError(ValueError):
    """A call refused before anything was sent; the message is written for the agent."""


def new_key():
    return uuid.uuid4().hex


def new_callback_ref():
    """Our reference of a call, in the path of its callback URLs (webapp.callbacks): 64 random bits."""
    return secrets.token_hex(8)


def call_refusal(number, opted_out=None):
    """Why ``number`` cannot be called through the click-to-call provider, or "" when it can. ``opted_out``
    spares the query when the caller already knows. The call button shows this disabled, start_call refuses."""
    provider = module(PROVIDER)
    if not number:
        return "There is no phone number to call."
    if not provider.dialable(number):
        return f"{provider.NOT_DIALLABLE}; {display(number)} is not one."
    if opted_out if opted_out is not None else is_opted_out(number):
        return OPTED_OUT
    return ""


def agents_with_phones():
    return list(User.select().where(User.active & User.phone.is_null(False) & (User.phone != ""))
                .order_by(User.name))


# --- placing a call ----------------------------------------------------------------------------------------

def start_call(user, key, phone="", contact_id=None, agent_id=None):
    """Queue a call that rings the agent's phone, then the customer's. Returns (call, created).

    The same key (one per rendered button) always answers with the call it made first, so a double click
    or a resent form never rings anyone twice.
    """
    key = (key or "").strip().lower()
    if not KEY.fullmatch(key):
        raise CallError("This call button has expired. Reload the page and try again.")
    existing = Call.get_or_none(Call.idempotency_key == key)
    if existing is not None:
        return _made_by(existing, user), False
    agent = _agent(user, agent_id)
    contact, customer = _customer(phone, contact_id)
    _check_numbers(agent.phone, customer)
    try:
        with db.atomic():
            _lock(agent)
            # Checked again under the lock: a concurrent click with this key may have just committed.
            existing = Call.get_or_none(Call.idempotency_key == key)
            if existing is not None:
                return _made_by(existing, user), False
            _refuse_if_busy(agent, user)
            # The callback reference is ours, so it exists before the request: callbacks find the call even
            # while its request is in flight, or when its outcome is unknown (timeout, Airtel 500) and the
            # call went ahead anyway.
            call = Call.create(agent=agent.id, created_by=user.id, contact=contact.id if contact else None,
                               agent_number=agent.phone, customer_number=customer, idempotency_key=key,
                               callback_ref=new_callback_ref())
            Send.create(kind=KIND, provider=PROVIDER, to_number=customer, contact_id=call.contact_id,
                        user_id=agent.id, subject_id=call.id,
                        payload=json.dumps({"agent": agent.phone, "call_ref": call.callback_ref}))
    except IntegrityError:
        existing = Call.get_or_none(Call.idempotency_key == key)
        if existing is None:
            raise
        return _made_by(existing, user), False
    return call, True


def _made_by(call, user):
    if call.created_by_id != user.id:
        raise CallError("This call button was already used. Reload the page and try again.")
    return call


def _agent(user, agent_id):
    if agent_id in (None, user.id):
        agent = user
    elif not user.has_role("supervisor"):
        raise CallError("Only supervisors can place a call for another agent.")
    else:
        agent = User.get_or_none((User.id == agent_id) & User.active)
        if agent is None:
            raise CallError("Choose an agent to place the call.")
    if not agent.phone:
        if agent.id == user.id:
            raise CallError("You have no phone number in your profile, so there is nothing to ring first. "
                            "Ask an admin to add it on Settings > Users.")
        raise CallError(f"{agent.name} has no phone number in their profile.")
    return agent


def _customer(phone, contact_id):
    if contact_id:
        contact = Contact.get_or_none(Contact.id == contact_id)
        if contact is None:
            raise CallError("This contact no longer exists.")
        number = contact.phone
    else:
        try:
            number = to_e164(phone, region=DIAL_REGION)
        except PhoneError as exc:
            raise CallError(f"Number to call: {exc}.") from exc
        contact = Contact.get_or_none(Contact.phone == number)
    refusal = call_refusal(number)
    if refusal:
        raise CallError(refusal)
    return contact, number


def _check_numbers(agent_number, customer_number):
    """Airtel's own checks (account settings, 10-digit Indian numbers, two different parties), run before
    anything is queued so the agent reads the reason now rather than on a failed call."""
    try:
        shared_client(PROVIDER).workflow_body(agent_number, customer_number)
    except ProviderError as exc:
        raise CallError(exc.message) from exc


def _lock(agent):
    # SQLite transactions already begin IMMEDIATE (webapp.db); PostgreSQL needs the agent's row locked so
    # two clicks from two tabs cannot both find the agent free.
    if dialect() == "postgresql":
        list(User.select(User.id).where(User.id == agent.id).for_update())


def active_call(agent_id):
    return (Call.select().where((Call.agent == agent_id) & Call.state.not_in(list(FINAL))
                                & (Call.created_at > utcnow() - ACTIVE_FOR))
            .order_by(Call.id.desc()).first())


def _refuse_if_busy(agent, user):
    active = active_call(agent.id)
    if active is None or settle_from_send(active, call_send(active)).final:
        return
    if agent.id == user.id:
        raise CallError("You are already on a call. Wait for it to end before starting another.")
    raise CallError(f"{agent.name} is already on a call. Wait for it to end before starting another.")


def send_call(send):
    """The dispatcher's send function for click-to-call."""
    data = send.data
    result = shared_client(PROVIDER).click_to_call(data["agent"], send.to_number, call_ref=data.get("call_ref"))
    # Airtel's correlationId is the send's reference: callbacks that carry it, and their orphans, match it.
    return Outcome(provider_ref=result.correlation_id, details={"airtel_id": result.correlation_id})


def call_send(call):
    return (Send.select().where((Send.kind == KIND) & (Send.subject_id == call.id))
            .order_by(Send.id.desc()).first())


# --- which call a callback is about ------------------------------------------------------------------------

def send_for_callback(update):
    """The send an Airtel callback is about, by what ties it to a call beyond the body's correlationId
    (which webapp.dispatch.updates matches itself when this returns None).

    Its own URL's reference first. Then, for calls placed before per-call URLs, the "call-<id>" reference
    they sent, or, for a callback with no id at all, the numbers it names (webapp.calls.legacy)."""
    call_ref = update.details.get("call_ref")
    if call_ref:
        call = Call.get_or_none(Call.callback_ref == str(call_ref))
        return call_send(call) if call is not None else None
    old_reference = LEGACY_REFERENCE.fullmatch(update.reference or "")
    if old_reference:
        call = Call.get_or_none(Call.id == int(old_reference.group(1)))
        return call_send(call) if call is not None else None
    if update.reference:
        return None
    call = legacy.call_by_numbers(update.details, ACTIVE_FOR)
    return call_send(call) if call is not None else None


# --- who sees what -----------------------------------------------------------------------------------------

def may_see(user, call):
    return user.has_role("supervisor") or user.id in (call.agent_id, call.created_by_id)


def visible_call(user, call_id):
    call = Call.get_or_none(Call.id == call_id)
    return call if call is not None and may_see(user, call) else None


# --- history -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    agent: int | None = None
    contact: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args):
        agent = args.get("agent", "")
        return cls(agent=id_value(agent), contact=args.get("contact", "").strip()[:100],
                   status=args.get("status", "").strip()[:32], date_from=_date(args.get("from")),
                   date_to=_date(args.get("to")))

    @property
    def active(self):
        return bool(self.args())

    def args(self, **overrides):
        values = {"agent": self.agent, "contact": self.contact, "status": self.status,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None, **overrides}
        return {name: value for name, value in values.items() if value not in (None, "")}


# A filter date outside these years is no filter anyone means, and at the ends of the calendar the day after
# (or the shift to UTC) would overflow.
DATE_YEARS = range(1900, 9999)


def _date(text):
    try:
        value = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value if value.year in DATE_YEARS else None


@dataclass
class Page:
    items: list = field(default_factory=list)
    number: int = 1
    total: int = 0

    @property
    def has_next(self):
        return self.number * PER_PAGE < self.total

    @property
    def first(self):
        return (self.number - 1) * PER_PAGE + 1 if self.items else 0

    @property
    def last(self):
        return self.first + len(self.items) - 1 if self.items else 0


def _visible(user):
    query = (Call.select(Call, User, Contact).join(User, on=(Call.agent == User.id), attr="agent")
             .switch(Call).join(Contact, JOIN.LEFT_OUTER, on=(Call.contact == Contact.id), attr="contact"))
    if not user.has_role("supervisor"):
        query = query.where(Call.agent == user.id)
    return query


def filter_calls(user, filters):
    query = _visible(user)
    if filters.agent and user.has_role("supervisor"):
        query = query.where(Call.agent == filters.agent)
    if filters.contact:
        matches = Contact.name.contains(filters.contact)
        digits = re.sub(r"\D", "", filters.contact)
        if digits:
            matches |= Call.customer_number.contains(digits)
        query = query.where(matches)
    if filters.status == "active":
        query = query.where(Call.state.not_in(list(FINAL)))
    elif filters.status == "not_placed":
        query = query.where(Call.error_code != "")
    elif filters.status:
        query = query.where(Call.status == filters.status)
    zone = ZoneInfo(getattr(user, "timezone", None) or "Asia/Jakarta")
    if filters.date_from:
        query = query.where(Call.created_at >= _utc(filters.date_from, zone))
    if filters.date_to:
        query = query.where(Call.created_at < _utc(filters.date_to + timedelta(days=1), zone))
    return query.order_by(Call.id.desc())


def _utc(day, zone):
    """Midnight of ``day`` where the viewer is, as the naive UTC the table stores."""
    return datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def paginate(query, number):
    number = max(1, number)
    total = query.order_by().count()
    return Page(items=list(query.paginate(number, PER_PAGE)), number=number, total=total)


def status_choices(user):
    """(value, label) for the history's status filter: in progress, each CDR status, not placed."""
    found = {row.status for row in _visible(user).select(Call.status).where(Call.status != "").distinct()}
    statuses = sorted(found | set(KNOWN_STATUSES))
    return [("active", STATUS_FILTERS["active"]), *((s, s) for s in statuses),
            ("not_placed", STATUS_FILTERS["not_placed"])]


def duration_text(seconds):
    """0:07, 12:31 or 1:02:05; blank when unknown."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# --- contact timeline --------------------------------------------------------------------------------------

def calls_timeline(contact):
    calls = (Call.select(Call, User).join(User, on=(Call.agent == User.id), attr="agent")
             .where(Call.contact == contact.id).order_by(Call.id.desc()).limit(100))
    items = []
    for call in calls:
        outcome = call.status or (call.label.lower() if call.final else "in progress")
        title = f"Call {outcome} · {call.agent.name}"
        detail = call.cause or (f"Talked {duration_text(call.talk_seconds)}" if call.talk_seconds else "")
        # Everyone sees that a contact was called; only those who may open the call get its page.
        url = url_for("calls.detail", call_id=call.id) if may_see(current_user, call) else None
        items.append(TimelineItem(at=call.created_at, kind="call", title=title, detail=detail, url=url))
    return items
