"""Callbacks the previous version stored but could not apply (it matched only on the clientCorrelationId its
own request invented) are applied after the upgrade: migration 0008 hands them back to the replay job."""
import json
from datetime import UTC, timedelta

import pytest

from tests.calls.helpers import PHONES, customer
from webapp.callbacks.jobs import apply_received
from webapp.extensions import db
from webapp.migrations import m0008_airtel_call_refs
from webapp.models import Call, CallbackEvent, CallEvent, Send, utcnow

AGENT = PHONES["agent"]


def _stamp(at):
    """The spec's event time format, e.g. 2020-02-26T12:19:46.399+0000."""
    return at.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _old_call(agent, suffix, started, airtel_id=""):
    """A call as the previous version left it: no callback_ref, its send's reference our own call-<id>."""
    call = Call.create(agent=agent.id, created_by=agent.id, agent_number=AGENT, customer_number=customer(suffix),
                       idempotency_key=f"old-{suffix}", state="calling_agent", airtel_id=airtel_id,
                       created_at=started, updated_at=started)
    Send.create(kind="c2c.airtel", provider="airtel", state="submitted", to_number=customer(suffix),
                user_id=agent.id, subject_id=call.id, provider_ref=f"call-{call.id}", created_at=started,
                payload=json.dumps({"agent": AGENT}), details=json.dumps({"airtel_id": airtel_id}))
    return call


def _stored(kind, body, status, at):
    CallbackEvent.create(provider="airtel", kind=kind, dedupe_key=f"airtel:{len(CallbackEvent.select())}",
                         method="POST", body=json.dumps(body), status=status, received_at=at,
                         error="no clientCorrelationId: the callback cannot be tied to a call" if status == "invalid"
                         else "")


def _event(event, address, at, **ids):
    return {"eventType": "CALL", "participantAddress": address[3:], "event": event, "time": _stamp(at), **ids}


def _cdr(status, suffix, started, **ids):
    start_ms = int(started.replace(tzinfo=UTC).timestamp() * 1000)
    return {"overallCallStatus": status, "callType": "OUTBOUND", "callerNumber": AGENT[3:],
            "destinationNumber": customer(suffix)[3:], "startTime": start_ms, "endTime": start_ms + 20000,
            "conversationDuration": 4000 if status == "Answered" else 0, "fromWaitingTime": 6000,
            "recordingURL": f"https://rec.example/{suffix}.mp3" if status == "Answered" else None, **ids}


@pytest.fixture
def old_calls(ctx, staff):
    """Two calls of the agent a few minutes apart, stuck where the previous version left them."""
    now = utcnow()
    earlier, later = now - timedelta(minutes=30), now - timedelta(minutes=10)
    # Airtel answered the first one and its callbacks carried the id as correlationId (never applied).
    first = _old_call(staff["agent"], "0000", earlier, airtel_id="Xchange555")
    _stored("events", _event("Answer", AGENT, earlier + timedelta(seconds=4), correlationId="Xchange555"),
            "invalid", earlier + timedelta(seconds=4))
    _stored("events", _event("Answer", customer("0000"), earlier + timedelta(seconds=9),
                             clientCorrelationId="Xchange555"), "orphan", earlier + timedelta(seconds=9))
    _stored("cdr", _cdr("Answered", "0000", earlier, correlationId="Xchange555"), "invalid",
            earlier + timedelta(seconds=20))
    # The second one's callbacks carried no id at all, like the spec's sample.
    second = _old_call(staff["agent"], "0486", later, airtel_id="Xchange556")
    _stored("events", _event("Answer", AGENT, later + timedelta(seconds=4)), "invalid", later + timedelta(seconds=4))
    _stored("events", {**_event("Removed", customer("0486"), later + timedelta(seconds=6)),
                       "metaData": {"causeCode": "17", "sipCode": "486", "causeCodeDescription": "USER_BUSY"}},
            "invalid", later + timedelta(seconds=6))
    _stored("cdr", _cdr("Busy", "0486", later), "invalid", later + timedelta(seconds=20))
    return first, second


def _upgrade():
    """Migration 0008's data steps, as an upgrade runs them over the previous version's rows."""
    with db.atomic():
        for statement in m0008_airtel_call_refs.STEPS[2:]:
            db.execute_sql(statement)


def test_stored_callbacks_are_applied_after_the_upgrade(old_calls):
    first, second = old_calls
    _upgrade()
    assert Send.get(Send.subject_id == first.id).provider_ref == "Xchange555"
    assert CallbackEvent.select().where(CallbackEvent.status == "received").count() == 6
    apply_received(older_than_seconds=0)
    statuses = [e.status for e in CallbackEvent.select().order_by(CallbackEvent.id)]
    assert statuses == ["applied"] * 6
    first, second = Call.get_by_id(first.id), Call.get_by_id(second.id)
    assert (first.state, first.status, first.recording_url) == ("ended", "Answered", "https://rec.example/0000.mp3")
    assert (second.state, second.status) == ("failed", "Busy")
    events = [(e.call_id, e.leg, e.event) for e in CallEvent.select().order_by(CallEvent.id)]
    assert events == [(first.id, "agent", "Answer"), (first.id, "customer", "Answer"),
                      (second.id, "agent", "Answer"), (second.id, "customer", "Removed")]
    assert Send.get(Send.subject_id == second.id).state == "failed"


def test_replaying_again_changes_nothing(old_calls):
    _upgrade()
    apply_received(older_than_seconds=0)
    before = [(c.id, c.state, c.status, c.updated_at) for c in Call.select()]
    _upgrade()
    apply_received(older_than_seconds=0)
    assert [(c.id, c.state, c.status, c.updated_at) for c in Call.select()] == before
    assert CallEvent.select().count() == 4


def test_an_id_less_callback_never_goes_to_a_call_with_its_own_urls(ctx, staff):
    """New calls get their callbacks on their own URLs; the shared URL's id-less ones are not theirs."""
    now = utcnow()
    call = _old_call(staff["agent"], "0000", now - timedelta(minutes=1))
    Call.update(callback_ref="0123456789abcdef").where(Call.id == call.id).execute()
    _stored("events", _event("Answer", AGENT, now), "invalid", now)
    _upgrade()
    apply_received(older_than_seconds=0)
    assert CallbackEvent.get().status == "orphan"
    assert Call.get_by_id(call.id).state == "calling_agent"


def test_a_customer_number_called_by_two_agents_is_left_unmatched(ctx, staff):
    now = utcnow()
    _old_call(staff["agent"], "0000", now - timedelta(minutes=3))
    Call.create(agent=staff["supervisor"].id, created_by=staff["supervisor"].id, agent_number=PHONES["supervisor"],
                customer_number=customer("0000"), idempotency_key="old-sup", state="calling_agent",
                created_at=now - timedelta(minutes=2))
    _stored("events", _event("Ringing", customer("0000"), now), "invalid", now)
    _upgrade()
    apply_received(older_than_seconds=0)
    assert CallbackEvent.get().status == "orphan"
    assert not CallEvent.select().exists()

