"""Callbacks of calls placed before per-call callback URLs, when their body carries no id.

Such a callback reached the shared URL and names only numbers: an event its participant's, a CDR both
parties'. An agent has one call at a time (webapp.calls.service refuses a second), so the call of a
number at the callback's time is found without guessing; anything but exactly one candidate stays
unmatched. Calls with a callback_ref are never candidates: their callbacks come to their own URL.
"""
from datetime import UTC, datetime, timedelta

from webapp.models import Call, utcnow

INDIA = "+91"
# Clocks differ: a callback stamped slightly before the call row was written still belongs to it.
CLOCK_SKEW = timedelta(minutes=2)


def call_by_numbers(details, window):
    """The one pre-upgrade call the numbers in ``details`` and its time point to, else None."""
    at = _callback_time(details)
    query = Call.select().where(Call.callback_ref.is_null() & (Call.created_at <= at + CLOCK_SKEW)
                                & (Call.created_at >= at - window))
    agent, customer = _e164(details.get("agent_number")), _e164(details.get("customer_number"))
    participant = _e164(details.get("participant_address"))
    if agent and customer:
        query = query.where((Call.agent_number == agent) & (Call.customer_number == customer))
    elif participant:
        query = query.where((Call.agent_number == participant) | (Call.customer_number == participant))
    else:
        return None
    # Newest first: an agent's earlier call had ended before the newest started, so the agent's number
    # (alone or with the customer's) points to the newest; a customer's number alone must be unambiguous.
    candidates = list(query.order_by(Call.created_at.desc(), Call.id.desc()).limit(2))
    if candidates and (agent or candidates[0].agent_number == participant or len(candidates) == 1):
        return candidates[0]
    return None


def _e164(number):
    digits = "".join(ch for ch in str(number or "") if ch.isdigit())
    return INDIA + digits[-10:] if len(digits) >= 10 else ""


def _callback_time(details):
    """When the callback says it happened (event timestamp or time, CDR start), as naive UTC; else now."""
    stamp = details.get("timestamp")
    if stamp not in (None, ""):
        try:
            return datetime.fromtimestamp(float(stamp) / 1000, UTC).replace(tzinfo=None)
        except (TypeError, ValueError, OverflowError):
            pass
    for key, parse in (("time", _spec_time), ("started_at", datetime.fromisoformat)):
        try:
            return parse(str(details.get(key) or "")).astimezone(UTC).replace(tzinfo=None)
        except ValueError:
            continue
    return utcnow()


def _spec_time(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
