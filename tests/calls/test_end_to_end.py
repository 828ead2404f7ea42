"""Click-to-call end to end: the button's POST, the dispatcher, the Airtel simulator's events and CDR over
loopback HTTP, and the live panel an agent watches."""
import pytest
import requests
from markupsafe import escape

from tests.calls.helpers import customer, new_key
from webapp.dispatch.dispatcher import drain
from webapp.models import Call, CallEvent, Send
from webapp.models.calls import RANK
from webapp.providers.airtel import ERROR_CODES


def place_call(auth, app, suffix="0000", **data):
    """The agent presses the call button; the dispatcher sends the request to the simulator."""
    response = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer(suffix), **data})
    assert response.status_code == 200, response.get_data(as_text=True)
    call = Call.select().order_by(Call.id.desc()).get()
    assert drain(app)
    return call


def panel(auth, call):
    response = auth.htmx("GET", f"/calls/{call.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# customer suffix -> (CDR status, final state, cause shown, recorded, events in arrival order)
OUTCOMES = [
    ("0000", "Answered", "ended", "", True,
     [("agent", "CalledNumber"), ("agent", "Ringing"), ("agent", "Answer"), ("agent", "RecordingStarted"),
      ("customer", "Ringing"), ("customer", "Answer"), ("customer", "Disconnected"), ("agent", "Disconnected")]),
    ("0486", "Busy", "failed", "The customer was busy (USER_BUSY)", True,
     [("agent", "CalledNumber"), ("agent", "Ringing"), ("agent", "Answer"), ("agent", "RecordingStarted"),
      ("customer", "Disconnected"), ("agent", "Disconnected")]),
    ("0480", "Missed", "failed", "The customer did not answer (NO_ANSWER)", True,
     [("agent", "CalledNumber"), ("agent", "Ringing"), ("agent", "Answer"), ("agent", "RecordingStarted"),
      ("customer", "Ringing"), ("customer", "Disconnected"), ("agent", "Disconnected")]),
    ("0999", "Missed", "failed", "The agent did not answer (NO_ANSWER)", False,
     [("agent", "CalledNumber"), ("agent", "Ringing"), ("agent", "Disconnected")]),
    ("0500", "Answered", "ended", "", True,
     [("agent", "CalledNumber"), ("agent", "Answer"), ("agent", "Ringing"), ("agent", "RecordingStarted"),
      ("customer", "Answer"), ("customer", "Ringing"), ("customer", "Disconnected"), ("agent", "Disconnected")]),
]


@pytest.mark.parametrize(("suffix", "status", "state", "cause", "recorded", "events"), OUTCOMES,
                         ids=[o[0] for o in OUTCOMES])
def test_customer_test_numbers(suffix, status, state, cause, recorded, events, app, auth, staff, sandbox, live_url):
    auth.login("agent")
    call = place_call(auth, app, suffix)
    assert Call.get_by_id(call.id).state == "calling_agent"
    assert "hx-trigger=\"load delay:1s\"" in panel(auth, call)
    states = []
    while sandbox.pending():
        sandbox.flush(until_idle=False)
        states.append(Call.get_by_id(call.id).state)
    assert [RANK[s] for s in states] == sorted(RANK[s] for s in states), f"moved backwards: {states}"
    call = Call.get_by_id(call.id)
    assert (call.status, call.state, call.cause) == (status, state, cause)
    assert bool(call.recording_url) == recorded
    stored = CallEvent.select().where(CallEvent.call == call.id).order_by(CallEvent.id)
    assert [(e.leg, e.event) for e in stored] == events
    assert Send.get(Send.subject_id == call.id).state == ("delivered" if status == "Answered" else "failed")
    html = panel(auth, call)
    assert "hx-trigger" not in html.split(">")[0], "the panel stops polling when final"
    assert f'data-call-state="{state}"' in html and status in html
    if cause:
        assert cause in html


def test_answered_call_record_durations_and_recording(app, auth, staff, sandbox, live_url):
    auth.login("agent")
    call = place_call(auth, app)
    sandbox.flush()
    call = Call.get_by_id(call.id)
    # Airtel's milliseconds become seconds; billable is waiting + 2 x conversation for an outbound call.
    assert (call.conversation_seconds, call.waiting_seconds, call.agent_seconds, call.billable_seconds) == (
        4.0, 6.0, 10.0, 14.0)
    assert call.airtel_id.startswith("Xchange") and call.recording_url.endswith(f"{call.airtel_id}.mp3")
    page = auth.client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'<audio controls preload="none" src="{call.recording_url}">' in page
    assert "0:14" in page and "RecordingStarted" in page


def test_the_request_carries_our_reference(app, auth, staff, sandbox, live_url):
    auth.login("agent")
    call = place_call(auth, app)
    (request,) = sandbox.requests_to("/airtel/v2/execute/workflow")
    flow = request["json"]["callFlowConfiguration"]
    assert flow["initiateCall_1"]["clientCorrelationId"] == f"call-{call.id}"
    assert flow["initiateCall_1"]["participants"][0]["participantAddress"] == "9876500002"
    assert flow["addParticipant_1"]["participants"][0]["participantAddress"] == "9876540000"


def test_duplicate_event_is_stored_once(app, auth, staff, sandbox, live_url):
    auth.login("agent")
    call = place_call(auth, app, "0500")
    sandbox.flush()
    answers = [c for c in sandbox.callbacks_sent
               if c["json"].get("event") == "Answer" and c["json"]["participantName"] == "Customer"]
    assert len(answers) == 2
    stored = CallEvent.select().where((CallEvent.call == call.id) & (CallEvent.event == "Answer")
                                      & (CallEvent.leg == "customer"))
    assert stored.count() == 1


def test_an_event_that_overtakes_the_dispatcher_still_reaches_the_call(app, auth, staff, sandbox, live_url):
    """The reference is ours and stored with the send, so an event arriving before Airtel's answer is
    recorded applies at once instead of waiting as an orphan."""
    auth.login("agent")
    auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer()})
    call = Call.select().order_by(Call.id.desc()).get()
    ringing = {"eventType": "CALL", "event": "Ringing", "clientCorrelationId": f"call-{call.id}",
               "participantAddress": "9876500002", "participantName": "Agent", "eventId": "early-1"}
    answer = requests.post(f"{live_url}/callbacks/airtel/test-callback-token/events", json=ringing, timeout=5)
    assert answer.json() == {"status": "applied"}
    assert Call.get_by_id(call.id).state == "calling_agent"
    assert drain(app)
    sandbox.flush()
    assert Call.get_by_id(call.id).state == "ended"


FORCED = [code for code in ERROR_CODES if code not in ("unauthorized", "AIRTEL_ONLINE_UNCAUGHT_ERROR")]


@pytest.mark.parametrize("code", FORCED)
def test_documented_refusals_are_shown_in_words(code, app, auth, staff, sandbox, live_url):
    auth.login("agent")
    sandbox.simulators["airtel"].fail_next(code)
    call = place_call(auth, app)
    call = Call.get_by_id(call.id)
    assert (call.state, call.error_code, call.cause) == ("failed", code, ERROR_CODES[code][0])
    html = panel(auth, call)
    assert str(escape(ERROR_CODES[code][0])) in html and "Traceback" not in html
    assert "hx-get" not in html.split(">")[0]


def test_wrong_credentials_are_shown_in_words(app, auth, staff, sandbox, live_url):
    app.config["AIRTEL_PASSWORD"] = "not-the-password"
    auth.login("agent")
    call = place_call(auth, app)
    call = Call.get_by_id(call.id)
    assert (call.state, call.error_code) == ("failed", "unauthorized")
    assert str(escape(ERROR_CODES["unauthorized"][0])) in panel(auth, call)


def test_airtel_internal_error_is_shown_in_words(app, auth, staff, sandbox, live_url):
    sandbox.configure(SANDBOX_FAILURE_RATIO=1)
    auth.login("agent")
    call = place_call(auth, app)
    call = Call.get_by_id(call.id)
    assert Send.get(Send.subject_id == call.id).state == "unknown"
    assert (call.state, call.error_code) == ("failed", "bad_status")
    assert str(escape(ERROR_CODES["AIRTEL_ONLINE_UNCAUGHT_ERROR"][0])) in panel(auth, call)
