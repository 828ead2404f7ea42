"""Placing a call (validation, one Call + one Send, no double call) and applying Airtel's updates to it."""
import threading
from datetime import timedelta

import pytest

from tests.calls.helpers import customer, new_key
from webapp.calls import progress, service
from webapp.calls.service import CallError
from webapp.contacts.optouts import opt_out_contacts
from webapp.extensions import db
from webapp.models import Call, CallEvent, Send, User, utcnow
from webapp.models.calls import RANK
from webapp.providers.airtel import ERROR_CODES
from webapp.providers.base import StatusUpdate


def start(user, suffix="0000", **kwargs):
    kwargs.setdefault("phone", customer(suffix))
    return service.start_call(user, kwargs.pop("key", new_key()), **kwargs)


# --- placing a call ----------------------------------------------------------------------------------------

def test_a_call_is_a_call_row_and_a_queued_send(ctx, staff, contact):
    call, created = start(staff["agent"], contact_id=contact.id, phone="")
    assert created
    assert (call.agent_id, call.created_by_id, call.contact_id) == (staff["agent"].id, staff["agent"].id, contact.id)
    assert (call.agent_number, call.customer_number, call.state) == ("+919876500002", "+919876540000", "queued")
    send = Send.get(Send.subject_id == call.id)
    assert (send.kind, send.provider, send.state, send.to_number) == ("c2c.airtel", "airtel", "queued", "+919876540000")
    # Airtel's correlationId becomes the reference once it answers; until then our own callback_ref is the key.
    assert (send.provider_ref, send.data, send.contact_id) == (
        None, {"agent": "+919876500002", "call_ref": call.callback_ref}, contact.id)


def test_a_typed_number_is_read_as_indian_and_finds_its_contact(ctx, staff, contact):
    call, _ = start(staff["agent"], phone="98765 40000")
    assert (call.customer_number, call.contact_id) == ("+919876540000", contact.id)


def test_the_same_key_never_calls_twice(ctx, staff):
    key = new_key()
    first, created = start(staff["agent"], key=key)
    again, created_again = start(staff["agent"], key=key)
    assert created and not created_again and again.id == first.id
    assert Send.select().where(Send.kind == "c2c.airtel").count() == 1


def test_another_users_key_is_refused(ctx, staff):
    key = new_key()
    start(staff["agent"], key=key)
    with pytest.raises(CallError, match="already used"):
        start(staff["supervisor"], key=key)


def test_an_agent_with_a_call_not_ended_cannot_start_another(ctx, staff):
    first, _ = start(staff["agent"])
    with pytest.raises(CallError, match="You are already on a call"):
        start(staff["agent"], "0486")
    Call.update(state="ended").where(Call.id == first.id).execute()
    assert start(staff["agent"], "0486")[1]


def test_a_call_whose_record_never_came_stops_blocking_after_a_while(ctx, staff):
    first, _ = start(staff["agent"])
    Call.update(created_at=utcnow() - service.ACTIVE_FOR - timedelta(minutes=1)).where(Call.id == first.id).execute()
    assert start(staff["agent"], "0486")[1]


def test_two_tabs_clicking_at_once_place_one_call(app, staff):
    barrier = threading.Barrier(2)
    outcomes = []

    def click(suffix):
        with app.app_context(), db.connection_context():
            barrier.wait()
            try:
                outcomes.append(start(User.get_by_id(staff["agent"].id), suffix)[1])
            except CallError as exc:
                outcomes.append(str(exc))

    threads = [threading.Thread(target=click, args=(suffix,)) for suffix in ("0000", "0486")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes, key=str) == [True, "You are already on a call. Wait for it to end before starting another."]
    assert Call.select().count() == 1 and Send.select().count() == 1


def test_supervisor_places_a_call_for_an_agent(ctx, staff):
    call, _ = start(staff["supervisor"], agent_id=staff["agent"].id)
    assert (call.agent_id, call.created_by_id, call.agent_number) == (
        staff["agent"].id, staff["supervisor"].id, "+919876500002")
    with pytest.raises(CallError, match="Agent is already on a call"):
        start(staff["admin"], "0486", agent_id=staff["agent"].id)


def test_an_agent_cannot_ring_someone_elses_phone(ctx, staff):
    with pytest.raises(CallError, match="Only supervisors"):
        start(staff["agent"], agent_id=staff["supervisor"].id)


NOT_INDIAN = "dials only Indian 10-digit numbers (+91); +62 812-3456-7890 is not one"
REFUSALS = [
    ("no phone", {"phone": None}, {}, "You have no phone number in your profile"),
    ("agent not Indian", {"phone": "+6281234567890"}, {}, ERROR_CODES["FROM_PARTICIPANT_NUMBER_REGEX_ERROR"][0]),
    ("customer not Indian", {}, {"phone": "+6281234567890"}, NOT_INDIAN),
    ("same number", {}, {"phone": "+919876500002"}, ERROR_CODES["DUPLICATE_PARTICIPANT_ADDRESS_FOUND"][0]),
    ("not a number", {}, {"phone": "12"}, "Number to call:"),
    ("bad key", {}, {"key": "x' OR 1=1"}, "This call button has expired"),
    ("unknown contact", {}, {"phone": "", "contact_id": 999}, "This contact no longer exists"),
]


@pytest.mark.parametrize(("agent_fields", "call_args", "message"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refused_before_anything_is_queued(ctx, staff, agent_fields, call_args, message):
    if agent_fields:
        User.update(**agent_fields).where(User.id == staff["agent"].id).execute()
    with pytest.raises(CallError) as refused:
        start(User.get_by_id(staff["agent"].id), **call_args)
    assert message in str(refused.value)
    assert Call.select().count() == 0 and Send.select().count() == 0


def test_airtel_account_settings_are_checked_first(ctx, staff):
    ctx.config["AIRTEL_CALLER_ID"] = ""
    with pytest.raises(CallError, match=r"caller ID is not configured \(AIRTEL_CALLER_ID\)"):
        start(staff["agent"])


def test_a_number_on_the_do_not_contact_list_is_not_called(ctx, staff, contact):
    opt_out_contacts([contact.id], "asked")
    with pytest.raises(CallError, match="do-not-contact"):
        start(staff["agent"], contact_id=contact.id)


# --- applying updates --------------------------------------------------------------------------------------

def event(call, leg, name, event_id, cause=None):
    details = {"leg": leg, "event": name, "event_id": event_id, "timestamp": 1707700031000}
    if cause:
        details["cause"] = cause
    return StatusUpdate(f"call-{call.id}", None, provider_status=name, kind="events", details=details)


def cdr(call, status, **details):
    state = "delivered" if status == "Answered" else "failed"
    return StatusUpdate(f"call-{call.id}", state, provider_status=status, kind="cdr", details=details,
                        error_text="" if status == "Answered" else f"The customer ended as {status}")


def apply(call, update):
    progress.on_send_update(Send.get(Send.subject_id == call.id), update)
    return Call.get_by_id(call.id)


def test_events_only_move_the_call_forward(ctx, staff):
    call, _ = start(staff["agent"])
    seen = []
    for index, (leg, name) in enumerate([("agent", "Answer"), ("agent", "Ringing"), ("agent", "RecordingStarted"),
                                         ("customer", "Answer"), ("customer", "Ringing"), ("agent", "CalledNumber")]):
        seen.append(apply(call, event(call, leg, name, f"e{index}")).state)
    assert seen == ["agent_answered"] * 3 + ["connected"] * 3
    assert [RANK[s] for s in seen] == sorted(RANK[s] for s in seen)
    assert CallEvent.select().where(CallEvent.call == call.id).count() == 6


def test_a_repeated_event_is_stored_once(ctx, staff):
    call, _ = start(staff["agent"])
    apply(call, event(call, "customer", "Answer", "same"))
    apply(call, event(call, "customer", "Answer", "same"))
    assert CallEvent.select().where(CallEvent.call == call.id).count() == 1


def test_a_hang_up_before_the_customer_answered_fails_the_call_with_the_cause(ctx, staff):
    call, _ = start(staff["agent"])
    apply(call, event(call, "agent", "Answer", "1"))
    failed = apply(call, event(call, "customer", "Disconnected", "2", cause="USER_BUSY"))
    assert (failed.state, failed.cause) == ("failed", "The customer was busy (USER_BUSY)")
    assert failed.ended_at is not None and failed.live, "the panel keeps polling for the CDR"


def test_the_cdr_settles_the_call_even_over_events(ctx, staff):
    call, _ = start(staff["agent"])
    # A hang-up that overtook the customer's Answer looked like a failure; Airtel's record says otherwise.
    apply(call, event(call, "customer", "Disconnected", "1", cause="NORMAL_CLEARING"))
    settled = apply(call, cdr(call, "Answered", conversation_seconds=4.0, waiting_seconds=6.0, caller_seconds=10.0,
                              billable_seconds=14.0, recording_url="https://r.example/x.mp3",
                              answered_at="2024-02-12T01:07:21+00:00"))
    assert (settled.state, settled.status, settled.cause, settled.live) == ("ended", "Answered", "", False)
    assert (settled.conversation_seconds, settled.billable_seconds, settled.talk_seconds) == (4.0, 14.0, 4.0)
    again = apply(call, cdr(call, "Busy"))
    assert (again.state, again.status) == ("ended", "Answered"), "only the first CDR counts"


def test_a_refused_request_fails_the_call_with_airtels_message(ctx, staff):
    call, _ = start(staff["agent"])
    message = ERROR_CODES["INVALID_CALLER_ID"][0]
    failed = apply(call, StatusUpdate("", "failed", error_code="INVALID_CALLER_ID", error_text=message))
    assert (failed.state, failed.cause, failed.error_code, failed.live) == ("failed", message, "INVALID_CALLER_ID",
                                                                           False)


def test_an_unknown_outcome_after_events_leaves_the_call_to_its_events(ctx, staff):
    call, _ = start(staff["agent"])
    apply(call, event(call, "agent", "Ringing", "1"))
    after = apply(call, StatusUpdate("", "unknown", error_code="timeout", error_text="airtel did not answer in time"))
    assert after.state == "calling_agent"


def test_a_send_lost_with_its_worker_fails_the_call_instead_of_blocking_the_agent(ctx, staff):
    from webapp.dispatch.claim import expire_leases

    call, _ = start(staff["agent"])
    Send.update(state="sending", lease_until=utcnow() - timedelta(seconds=1), sent_at=utcnow()).where(
        Send.subject_id == call.id).execute()
    expire_leases()
    assert Call.get_by_id(call.id).state == "queued", "the lease job does not run send hooks"
    second, created = start(staff["agent"], "0486")
    assert created
    lost = Call.get_by_id(call.id)
    assert (lost.state, lost.error_code, lost.live) == ("failed", "unknown", False)
    assert "may or may not have accepted it" in lost.cause


def test_duration_text():
    assert [service.duration_text(s) for s in (None, 0, 7.4, 751, 3725)] == ["", "0:00", "0:07", "12:31", "1:02:05"]
