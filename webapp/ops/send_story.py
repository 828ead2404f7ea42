"""One send's story on one timeline: its states, its provider exchanges and its callbacks.

No table records each state change, so the states are read from the send's own timestamps and the source of
each change is inferred from what happened just before it: the answer to our request, a callback, a
report poll, or an operator (a cancel, a resend). Where nothing explains a change its source is left empty
rather than guessed.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from webapp.dispatch import states
from webapp.models import CallbackEvent, ChannelLog, Send

# How long before a state change the exchange or callback that caused it was recorded (the change is
# written right after the answer or the callback is stored).
CAUSE_WINDOW = timedelta(seconds=5)
# Callbacks and exchanges shown at most (a send has a handful; a runaway provider must not hang the page).
LIMIT = 200


@dataclass
class Moment:
    at: object
    kind: str  # state | exchange | callback | attempt
    title: str
    source: str = ""
    detail: str = ""
    row: object = None
    links: list = field(default_factory=list)


def exchanges(send):
    return list(ChannelLog.select().where(ChannelLog.send_id == send.id).order_by(ChannelLog.id).limit(LIMIT))


def callbacks(send):
    if not send.provider_ref:
        return []
    return list(CallbackEvent.select()
                .where((CallbackEvent.provider == send.provider) & (CallbackEvent.reference == send.provider_ref))
                .order_by(CallbackEvent.id).limit(LIMIT))


def _cause(at, exchange_rows, callback_rows, request_operation):
    """The source of a state change at ``at``: the latest exchange or applied callback shortly before it."""
    candidates = [(e.created_at, "request answer" if e.operation == request_operation else "poll")
                  for e in exchange_rows if at - CAUSE_WINDOW <= e.created_at <= at]
    candidates += [(c.received_at, "callback") for c in callback_rows
                   if c.status == "applied" and at - CAUSE_WINDOW <= c.received_at <= at]
    return max(candidates)[1] if candidates else ""


def story(send):
    """Every moment of the send, oldest first."""
    exchange_rows, callback_rows = exchanges(send), callbacks(send)
    # The first request made for a send is the one that sends it; later operations are polls.
    request_operation = exchange_rows[0].operation if exchange_rows else ""
    origin = (f"campaign #{send.campaign_id}" if send.campaign_id else "operator" if send.user_id else "system")
    moments = [Moment(send.created_at, "state", states.QUEUED, origin)]
    if send.retry_of:
        moments.append(Moment(send.created_at, "attempt", f"attempt {send.attempt}, after send #{send.retry_of}",
                              "operator", links=[send.retry_of]))
    if send.sent_at:
        moments.append(Moment(send.sent_at, "state", states.SENDING, "dispatcher"))
    moments += [Moment(e.created_at, "exchange", f"{e.operation}: {e.status_code or 'no answer'}",
                       detail=e.error, row=e) for e in exchange_rows]
    moments += [Moment(c.received_at, "callback", f"{c.kind or 'callback'}: {c.status}", detail=c.error, row=c)
                for c in callback_rows]
    if send.submitted_at:
        # Only the answer to our request stores the provider id while the send is in flight (a callback that
        # overtakes it waits as an orphan); its log row may be written a moment after the state, so no window.
        answered = any(e.operation == request_operation and e.status_code for e in exchange_rows)
        moments.append(Moment(send.submitted_at, "state", states.SUBMITTED, "request answer" if answered else
                              _cause(send.submitted_at, exchange_rows, callback_rows, request_operation)))
    if send.adopted_at:
        moments.append(Moment(send.adopted_at, "state", "provider id found", "callback",
                              "was unknown; a callback naming its number gave it its provider id"))
    if send.final_at or send.state == states.UNKNOWN:
        at = send.final_at or send.updated_at
        source = _cause(at, exchange_rows, callback_rows, request_operation)
        if send.state == states.CANCELLED and not source:
            source = "operator" if send.error_code != "skipped" else "dispatcher"
        moments.append(Moment(at, "state", send.state, source, send.error_text))
    moments += [Moment(r.created_at, "attempt", f"resent as attempt {r.attempt}", "operator", links=[r.id])
                for r in Send.select(Send.id, Send.attempt, Send.created_at).where(Send.retry_of == send.id)]
    order = {"state": 1, "attempt": 2, "exchange": 0, "callback": 0}
    return sorted(moments, key=lambda m: (m.at, order[m.kind]))
