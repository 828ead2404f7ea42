"""What Airtel tells us about a call, applied to its Call row: the dispatcher's answer, real-time events, CDR.

Runs as the ON_UPDATE hook of the click-to-call send kind, inside the transaction that recorded the
update on the send. Events may arrive late, twice or out of order: each is stored once (CallEvent) and can
only raise the call's state (models.calls.RANK). The CDR comes once, after hang-up, and settles the call.
"""
from datetime import UTC, datetime

from phonenumbers import NumberParseException

from webapp.dispatch import states
from webapp.models import Call, CallEvent, utcnow
from webapp.models.calls import (
    AGENT_ANSWERED,
    CALLING_AGENT,
    CALLING_CUSTOMER,
    CONNECTED,
    ENDED,
    FAILED,
    QUEUED,
    RANK,
)
from webapp.phones import national
from webapp.providers.base import StatusUpdate

# (leg, event) -> the state it proves the call reached.
PROGRESS = {
    ("agent", "CalledNumber"): CALLING_AGENT,
    ("agent", "Ringing"): CALLING_AGENT,
    ("agent", "Answer"): AGENT_ANSWERED,
    ("customer", "CalledNumber"): CALLING_CUSTOMER,
    ("customer", "Ringing"): CALLING_CUSTOMER,
    ("customer", "Answer"): CONNECTED,
}
# Airtel starts recording when the agent answers, whichever participant the event names.
RECORDING_STARTED = "RecordingStarted"
# Events that end a leg; the spec's own sample uses "Removed".
HANG_UPS = {"Disconnected", "Removed", "NotReachable"}
# Q.850 cause descriptions -> how an agent reads them after "The customer ..." / "The agent ...".
CAUSE_TEXT = {
    "USER_BUSY": "was busy",
    "NO_ANSWER": "did not answer",
    "NO_USER_RESPONSE": "did not answer",
    "CALL_REJECTED": "rejected the call",
    "UNALLOCATED_NUMBER": "has a number that does not exist",
    "SUBSCRIBER_ABSENT": "could not be reached",
    "NORMAL_TEMPORARY_FAILURE": "could not be reached (network failure)",
    "NORMAL_CLEARING": "hung up",
}
RETRIES = 5
# Send states after which no answer from the dispatcher will come.
ENDED_SENDS = frozenset({states.UNKNOWN, states.FAILED, states.UNDELIVERABLE, states.CANCELLED})


def on_send_update(send, update):
    call = Call.get_or_none(Call.id == send.subject_id)
    if call is None:
        return
    if update.kind == "events":
        _apply_event(call, update)
    elif update.kind == "cdr":
        _apply_cdr(call, update)
    elif update.state == states.SUBMITTED:
        _move(call.id, CALLING_AGENT, fill={"airtel_id": update.details.get("airtel_id", "")})
    elif update.state in (states.FAILED, states.UNDELIVERABLE) or (
            update.state == states.UNKNOWN and call.state == QUEUED):
        # An unknown outcome with events already in means the call went ahead: they tell the rest.
        _request_failed(call, update)


def _move(call_id, target, fill=None, on_move=None):
    """Raise the call to ``target`` unless it is there or beyond; ``fill`` sets fields still empty and
    ``on_move`` fields that change only with the state. Conditional on the state read, retried on a race."""
    for _ in range(RETRIES):
        call = Call.get_by_id(call_id)
        fields = {getattr(Call, name): value for name, value in (fill or {}).items()
                  if value and not getattr(call, name)}
        if not call.final and RANK[target] > RANK[call.state]:
            fields[Call.state] = target
            fields.update({getattr(Call, name): value for name, value in (on_move or {}).items()})
        if not fields:
            return
        fields[Call.updated_at] = utcnow()
        if Call.update(fields).where((Call.id == call.id) & (Call.state == call.state)).execute():
            return
    raise RuntimeError(f"call {call_id} kept changing while applying an event")


def _apply_event(call, update):
    details = update.details
    name = update.provider_status
    leg = details.get("leg") or _leg_by_number(call, details.get("participant_address"))
    cause = str(details.get("cause") or details.get("error_message") or "")
    inserted = (CallEvent.insert(call=call.id, leg=leg, event=name[:64], cause=cause[:128],
                                 event_id=str(details["event_id"])[:128] if details.get("event_id") else None,
                                 at=_event_time(details), received_at=utcnow())
                .on_conflict_ignore().as_rowcount().execute())
    if not inserted:
        return
    now = utcnow()
    if name == RECORDING_STARTED:
        _move(call.id, AGENT_ANSWERED, fill={"agent_answered_at": now})
    elif (leg, name) in PROGRESS:
        target = PROGRESS[(leg, name)]
        stamp = {AGENT_ANSWERED: "agent_answered_at", CONNECTED: "connected_at"}.get(target)
        _move(call.id, target, fill={stamp: now} if stamp else None)
    elif name in HANG_UPS:
        _hang_up(call.id, leg, name, str(details.get("cause") or ""), now)


def _hang_up(call_id, leg, name, cause, now):
    """After the two were connected a hang-up ends the call; before, it is why the call failed."""
    if Call.get_by_id(call_id).connected_at is not None:
        _move(call_id, ENDED, fill={"ended_at": now})
        return
    if leg:
        text = "could not be reached" if name == "NotReachable" else CAUSE_TEXT.get(cause, "hung up")
        reason = f"The {leg} {text}"
    else:
        reason = "The call ended before it was connected"
    reason += f" ({cause})" if cause else ""
    _move(call_id, FAILED, fill={"ended_at": now}, on_move={"cause": reason})


def _apply_cdr(call, update):
    """The CDR is Airtel's final record: it decides between ended and failed, even over what events said."""
    details = update.details
    answered = update.state == states.DELIVERED
    values = {
        Call.status: update.provider_status[:32],
        Call.state: ENDED if answered else FAILED,
        Call.cause: "" if answered else update.error_text,
        Call.error_code: "",
        Call.hangup_cause: str(details.get("hangup_cause") or "")[:64],
        Call.agent_status: str(details.get("agent_status") or "")[:32],
        Call.customer_status: str(details.get("customer_status") or "")[:32],
        Call.conversation_seconds: details.get("conversation_seconds"),
        Call.waiting_seconds: details.get("waiting_seconds"),
        Call.agent_seconds: details.get("caller_seconds"),
        Call.billable_seconds: details.get("billable_seconds"),
        Call.recording_url: str(details.get("recording_url") or ""),
        Call.ended_at: call.ended_at or _iso(details.get("ended_at")) or utcnow(),
        Call.updated_at: utcnow(),
    }
    if call.connected_at is None and answered:
        values[Call.connected_at] = _iso(details.get("answered_at"))
    # Only the first CDR counts; a resent one with other bytes changes nothing.
    Call.update(values).where((Call.id == call.id) & (Call.status == "")).execute()


def settle_from_send(call, send):
    """A send that ended without telling its call (the worker died mid-request and its lease turned the send
    unknown) fails the call still waiting for it, so neither the panel nor the agent waits for nothing."""
    if call.state != QUEUED or send is None or send.state not in ENDED_SENDS:
        return call
    _request_failed(call, StatusUpdate(send.provider_ref or "", send.state, error_code=send.error_code,
                                       error_text=send.error_text))
    return Call.get_by_id(call.id)


def _request_failed(call, update):
    """Airtel refused the request (or its answer was unreadable): the panel shows why, in Airtel's words."""
    reason = update.error_text or "Airtel did not take the call."
    (Call.update({Call.state: FAILED, Call.cause: reason, Call.error_code: (update.error_code or update.state)[:64],
                  Call.ended_at: utcnow(), Call.updated_at: utcnow()})
     .where((Call.id == call.id) & (Call.status == "")).execute())


def _leg_by_number(call, address):
    """Events whose participantName we do not know still name the number they concern."""
    if not address:
        return ""
    for leg, number in (("agent", call.agent_number), ("customer", call.customer_number)):
        try:
            if national(number) == str(address)[-10:]:
                return leg
        except NumberParseException:
            continue
    return ""


def _event_time(details):
    """When Airtel says the event happened (metaData timestamp, else the time field), as naive UTC."""
    stamp = details.get("timestamp")
    if stamp not in (None, ""):
        try:
            return datetime.fromtimestamp(float(stamp) / 1000, UTC).replace(tzinfo=None)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        return datetime.strptime(str(details.get("time") or ""), "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC).replace(
            tzinfo=None)
    except ValueError:
        return utcnow()


def _iso(text):
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None
