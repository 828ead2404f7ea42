"""Click-to-call end to end: the button's POST, the dispatcher, the Airtel simulator's events and CDR over
loopback HTTP, and the live panel an agent watches."""
import re

import pytest
import requests
from markupsafe import escape

from tests.calls.helpers import customer, in_mode, new_key
from tests.conftest import AuthActions
from webapp.dispatch.dispatcher import drain
from webapp.live import STOP_POLLING
from webapp.models import Call, CallbackEvent, CallEvent, Send
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
    html = response.get_data(as_text=True)
    # htmx's "stop polling" once the call can no longer change (webapp.live).
    assert response.status_code == (200 if 'hx-trigger="every 1s"' in html.split(">")[0] else STOP_POLLING)
    return html


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
def test_customer_test_numbers(suffix, status, state, cause, recorded, events, app, auth, staff, sandbox, live_url,
                               sandbox_mode):
    auth.login("agent")
    call = place_call(auth, app, suffix)
    assert Call.get_by_id(call.id).state == "calling_agent"
    assert "hx-trigger=\"every 1s\"" in panel(auth, call)
    states = []
    while sandbox.pending():
        sandbox.flush(until_idle=False)
        states.append(Call.get_by_id(call.id).state)
    assert [RANK[s] for s in states] == sorted(RANK[s] for s in states), f"moved backwards: {states}"
    call = Call.get_by_id(call.id)
    assert (call.status, call.state, call.cause) == (status, state, cause)
    assert bool(call.recording_url) == recorded
    stored = CallEvent.select().where(CallEvent.call == call.id).order_by(CallEvent.id)
    assert [(e.leg, e.event) for e in stored] == in_mode(sandbox_mode, events, suffix == "0500")
    assert Send.get(Send.subject_id == call.id).state == ("delivered" if status == "Answered" else "failed")
    html = panel(auth, call)
    assert "hx-trigger" not in html.split(">")[0], "the panel stops polling when final"
    assert f'data-call-state="{state}"' in html and status in html
    if cause:
        assert cause in html


def test_answered_call_record_durations_and_recording(app, auth, staff, sandbox, live_url, sandbox_mode):
    auth.login("agent")
    call = place_call(auth, app)
    sandbox.flush()
    call = Call.get_by_id(call.id)
    # Airtel's milliseconds become seconds; billable is waiting + 2 x conversation for an outbound call.
    assert (call.conversation_seconds, call.waiting_seconds, call.agent_seconds, call.billable_seconds) == (
        4.0, 6.0, 10.0, 14.0)
    assert call.airtel_id.startswith("Xchange") and call.recording_url.endswith(f"{call.airtel_id}.mp3")
    assert Send.get(Send.subject_id == call.id).provider_ref == call.airtel_id
    page = auth.client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'<audio controls preload="none" src="{call.recording_url}">' in page
    assert "0:14" in page and "RecordingStarted" in page
    assert requests.get(call.recording_url, timeout=5).status_code == 200


def test_the_request_carries_only_spec_fields_and_the_calls_own_urls(app, auth, staff, sandbox, live_url):
    auth.login("agent")
    call = Call.get_by_id(place_call(auth, app).id)
    (request,) = sandbox.requests_to("/airtel/v2/execute/workflow")
    initiate = request["json"]["callFlowConfiguration"]["initiateCall_1"]
    assert set(initiate) == {"callerId", "mergingStrategy", "participants", "maxTime", "callBackURLs"}
    assert initiate["participants"][0]["participantAddress"] == "9876500002"
    assert request["json"]["callFlowConfiguration"]["addParticipant_1"]["participants"][0][
        "participantAddress"] == "9876540000"
    base = f"{live_url}/callbacks/airtel/test-callback-token"
    assert [(u["eventType"], u["notifyURL"]) for u in initiate["callBackURLs"]] == [
        ("CDR", f"{base}/cdr/{call.callback_ref}"), ("ALL", f"{base}/events/{call.callback_ref}")]
    assert re.fullmatch(r"[0-9a-f]{16}", call.callback_ref)


def test_events_of_two_calls_without_ids_reach_their_own_call(app, auth, users, staff, sandbox, live_url):
    """Strict mode: no id in any body. Two agents call at once; only the URL tells the calls apart."""
    sandbox.configure(SANDBOX_STRICT="1")
    auth.login("agent")
    first = place_call(auth, app, "0000")
    other = AuthActions(app.test_client(), users)
    other.login("supervisor")
    second = place_call(other, app, "0486")
    sandbox.flush()
    bodies = [c["json"] for c in sandbox.callbacks_sent]
    assert bodies and not any({"correlationId", "clientCorrelationId", "vmSessionId"} & set(b) for b in bodies)
    first, second = Call.get_by_id(first.id), Call.get_by_id(second.id)
    assert (first.state, first.status, second.state, second.status) == ("ended", "Answered", "failed", "Busy")
    assert first.recording_url and second.cause == "The customer was busy (USER_BUSY)"
    assert not CallbackEvent.select().where(CallbackEvent.status.in_(["orphan", "invalid"])).exists()
    # Neither agent is left blocked: the next call starts.
    again = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer("0480")})
    assert "already on a call" not in again.get_data(as_text=True) and Call.select().count() == 3


def test_an_id_less_event_for_an_unknown_call_is_kept_as_an_orphan(app, live_url):
    spec_sample = {"eventType": "CALL", "participantAddress": "9876540000", "event": "Removed",
                   "time": "2020-02-26T12:19:46.399+0000",
                   "metaData": {"causeCode": "16", "sipCode": "699", "causeCodeDescription": "Normal call clearing"}}
    base = f"{live_url}/callbacks/airtel/test-callback-token"
    for url in (f"{base}/events/0123456789abcdef", f"{base}/events"):
        answer = requests.post(url, json=spec_sample, timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"status": "orphan"})
    assert CallbackEvent.select().where(CallbackEvent.status == "orphan").count() == 2


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
    """The callback reference is ours and exists before the request, so an event arriving before Airtel's
    answer is recorded applies at once instead of waiting as an orphan."""
    auth.login("agent")
    auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer()})
    call = Call.select().order_by(Call.id.desc()).get()
    ringing = {"eventType": "CALL", "event": "Ringing", "participantAddress": "9876500002",
               "time": "2024-02-12T01:07:12.000+0000"}
    answer = requests.post(f"{live_url}/callbacks/airtel/test-callback-token/events/{call.callback_ref}",
                           json=ringing, timeout=5)
    assert answer.json() == {"status": "applied"}
    assert Call.get_by_id(call.id).state == "calling_agent"
    assert drain(app)
    sandbox.flush()
    assert Call.get_by_id(call.id).state == "ended"


def test_a_correlation_id_event_before_the_answer_is_applied_when_the_id_is_stored(app, auth, staff, sandbox,
                                                                                   live_url):
    """On the shared URL an event is tied to its call only by Airtel's correlationId: stored as an orphan
    until the dispatcher records the id, then applied in arrival order."""
    auth.login("agent")
    auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer()})
    call = Call.select().order_by(Call.id.desc()).get()
    next_id = f"Xchange{next(sandbox.simulators['airtel'].ids) + 1}"
    url = f"{live_url}/callbacks/airtel/test-callback-token/events"
    for event in ("Ringing", "Answer"):
        body = {"eventType": "CALL", "event": event, "correlationId": next_id, "participantAddress": "9876500002"}
        assert requests.post(url, json=body, timeout=5).json() == {"status": "orphan"}
    assert drain(app)
    assert Send.get(Send.subject_id == call.id).provider_ref == next_id
    stored = CallEvent.select().where(CallEvent.call == call.id).order_by(CallEvent.id)
    assert [(e.leg, e.event) for e in stored] == [("agent", "Ringing"), ("agent", "Answer")]
    assert Call.get_by_id(call.id).state == "agent_answered"
    assert not CallbackEvent.select().where(CallbackEvent.status == "orphan").exists()


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


def test_per_call_urls_need_the_token(app, live_url):
    event = {"eventType": "CALL", "event": "Ringing", "participantAddress": "9876500002"}
    base = f"{live_url}/callbacks/airtel"
    assert requests.post(f"{base}/wrong-token/events/0123456789abcdef", json=event, timeout=5).status_code == 404
    assert requests.post(f"{base}/test-callback-token/events/{'a' * 25}", json=event, timeout=5).status_code == 404
    assert not CallbackEvent.select().exists()
