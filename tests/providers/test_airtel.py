"""Airtel CCP click-to-call: outgoing cases against the simulator, callback parsing, call lifecycles."""
import copy
import json
import socket
import uuid

import pytest
import requests

from tests.calls.helpers import in_mode
from tests.providers.harness import ListSink, OutCase, assert_no_secrets, make_client, params, run_out_case
from webapp.models import CallbackEvent
from webapp.providers.airtel import ERROR_CODES, parse_callback
from webapp.providers.base import CallbackInvalid, ProviderError, basic_auth_header

PREFIX = "/airtel"
PATH = "/v2/execute/workflow"
AGENT = "+919876500001"
AUTH = basic_auth_header("sandbox", "sandbox-airtel-pass")
TOKEN = "test-callback-token"


def customer(suffix="0000"):
    return f"+91987654{suffix}"


def expected_body(live_url, customer_number="9876540000", retries=1, call_ref=None):
    """The spec's sample body, filled in as the client must send it."""
    tail = f"/{call_ref}" if call_ref else ""
    return {
        "callFlowId": "SANDBOX_FLOW",
        "customerId": "SANDBOX_CUSTOMER",
        "callType": "OUTBOUND",
        "callFlowConfiguration": {
            "initiateCall_1": {
                "callerId": "8048248411",
                "mergingStrategy": "SEQUENTIAL",
                "participants": [{"participantAddress": "9876500001", "callerId": "8048248411",
                                  "participantName": "Agent", "maxRetries": retries, "maxTime": 0}],
                "maxTime": 0,
                "callBackURLs": [
                    {"eventType": "CDR", "notifyURL": f"{live_url}/callbacks/airtel/{TOKEN}/cdr{tail}",
                     "method": "POST", "headers": {}},
                    {"eventType": "ALL", "notifyURL": f"{live_url}/callbacks/airtel/{TOKEN}/events{tail}",
                     "method": "POST", "headers": {}},
                ],
            },
            "addParticipant_1": {
                "mergingStrategy": "SEQUENTIAL",
                "maxTime": 0,
                "participants": [{"participantAddress": customer_number, "callerId": "8048248411",
                                  "participantName": "Customer", "maxRetries": retries, "maxTime": 0,
                                  "enableEarlyMedia": True}],
            },
            "record": {"enabled": True},
        },
    }


def call(agent=AGENT, to=None, **kwargs):
    return lambda client: client.click_to_call(agent, to or customer(), **kwargs)


def configured(**attrs):
    """The default call from a client whose configuration differs (customer id, flow, caller id, password)."""
    def run(client):
        for name, value in attrs.items():
            setattr(client, name, value)
        return client.click_to_call(AGENT, customer())
    return run


def forced(code):
    return lambda sandbox: sandbox.simulators["airtel"].fail_next(code)


def accepted(result):
    assert result.correlation_id.startswith("Xchange") and result.correlation_id[7:].isdigit()
    assert result.status == "success"




@pytest.fixture
def sandbox(sandbox):
    """The shared sandbox, with lifecycle steps held until flush(): they run in order, and no callback of
    this test reaches the app after it ends."""
    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    return sandbox


SENT = dict(method="POST", path=PATH)
OUT_CASES = [
    OutCase("success", call(), **SENT, result=accepted,
            request={"headers": {"Authorization": AUTH, "Content-Type": "application/json"}}),
    OutCase("three_retries_allowed", call(max_retries=3), **SENT, result=accepted,
            request={"json": {"callFlowConfiguration": {"initiateCall_1": {"participants": [
                {"participantAddress": "9876500001", "callerId": "8048248411", "participantName": "Agent",
                 "maxRetries": 3, "maxTime": 0}]}}}}),
    OutCase("own_callback_urls", call(call_ref="c0ffee42"), **SENT, result=accepted),
    # Refused by Airtel.
    OutCase("wrong_password", configured(auth_header=basic_auth_header("sandbox", "nope")), **SENT,
            error="unauthorized", retryable=True),
    OutCase("wrong_flow", configured(call_flow_id="OTHER_FLOW"), **SENT,
            error="INCORRECT_CALL_FLOW_ID", retryable=False, request={"json": {"callFlowId": "OTHER_FLOW"}}),
    OutCase("wrong_customer_id", configured(customer_id="SOMEONE_ELSE"), **SENT,
            error="INCORRECT_CUSTOMER_ID", retryable=False),
    OutCase("unregistered_caller_id", configured(caller_id="8000000000"), **SENT,
            error="INVALID_CALLER_ID", retryable=False),
    # The documented 500 AIRTEL_ONLINE_UNCAUGHT_ERROR: the call may have started, so the outcome is unknown.
    OutCase("server_fault", call(), **SENT, setup=lambda s: s.configure(SANDBOX_FAILURE_RATIO=1),
            error="bad_status", retryable=False),
    # Refused before sending: no request may reach the simulator (path "" asserts that below).
    OutCase("too_many_retries", call(max_retries=4),
            error="FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE", retryable=False),
    OutCase("agent_not_indian", call(agent="+6281234567890"), error="FROM_PARTICIPANT_NUMBER_REGEX_ERROR"),
    OutCase("agent_garbage", call(agent="+91abc"), error="FROM_PARTICIPANT_NUMBER_REGEX_ERROR"),
    OutCase("agent_missing", call(agent=""), error="FROM_PARTICIPANT_NUMBER_NULL_ERROR"),
    OutCase("customer_short", call(to="+91987654048"), error="TO_PARTICIPANT_NUMBER_REGEX_ERROR"),
    OutCase("customer_is_agent", call(to=AGENT), error="DUPLICATE_PARTICIPANT_ADDRESS_FOUND", retryable=False),
    OutCase("caller_id_short", configured(caller_id="80482484"), error="CALLER_ID_REGEX_ERROR"),
    OutCase("caller_id_missing", configured(caller_id=""), error="CALLER_ID_NULL_ERROR"),
    OutCase("customer_id_missing", configured(customer_id=""), error="CUSTOMER_ID_NULL_ERROR"),
    OutCase("flow_missing", configured(call_flow_id=""), error="CALL_FLOW_ID_NULL_ERROR"),
] + [
    # Every documented 400 errorCode reaches the caller with its own message and retry advice.
    OutCase(f"answer_{code}", call(), **SENT, setup=forced(code), error=code, retryable=ERROR_CODES[code][1])
    for code in ERROR_CODES if code not in ("unauthorized", "AIRTEL_ONLINE_UNCAUGHT_ERROR")
]


@pytest.mark.parametrize("case", params(OUT_CASES))
def test_click_to_call(case, app, sandbox, live_url):
    client = make_client("airtel", app)
    before = len(sandbox.requests_to(PREFIX))
    outcome = run_out_case(case, client, sandbox, PREFIX)
    if not case.path:
        assert len(sandbox.requests_to(PREFIX)) == before, "a refused call must not reach Airtel"
    if case.error == "bad_status":
        assert not outcome.outcome_known and outcome.http_status == 500
        assert outcome.message == ERROR_CODES["AIRTEL_ONLINE_UNCAUGHT_ERROR"][0]
    elif case.error:
        assert outcome.outcome_known and outcome.message == ERROR_CODES[case.error][0]


def test_body_is_exactly_the_spec_sample(app, sandbox, live_url):
    make_client("airtel", app).click_to_call(AGENT, customer())
    assert sandbox.last_request(PREFIX)["json"] == expected_body(live_url)


def test_body_with_a_call_reference_differs_only_in_the_callback_urls(app, sandbox, live_url):
    make_client("airtel", app).click_to_call(AGENT, customer(), call_ref="c0ffee42")
    assert sandbox.last_request(PREFIX)["json"] == expected_body(live_url, call_ref="c0ffee42")


def facts(result):
    return {fact.label: fact.proved for fact in result.details["facts"]}


def test_check_sends_a_complete_body_with_undiallable_numbers(app, sandbox, live_url):
    result = make_client("airtel", app).check()
    assert result.ok and "no call was placed" in result.summary
    assert facts(result) == {"Reachable": True, "Credentials accepted": True, "Request understood": True,
                             "Customer ID, call flow ID and caller ID accepted": None}
    seen = sandbox.last_request(PREFIX)
    assert (seen["path"], seen["headers"]["Authorization"]) == (PREFIX + PATH, AUTH)
    # The real request minus the callback URLs, with numbers no network can dial.
    sent = expected_body(live_url)
    del sent["callFlowConfiguration"]["initiateCall_1"]["callBackURLs"]
    sent["callFlowConfiguration"]["initiateCall_1"]["participants"][0]["participantAddress"] = "0000"
    sent["callFlowConfiguration"]["addParticipant_1"]["participants"][0]["participantAddress"] = "0001"
    assert seen["json"] == sent
    assert not sandbox.simulators["airtel"].calls


def test_check_tells_bad_credentials_apart_from_a_wrong_flow(app, sandbox):
    refused = make_client("airtel", app, AIRTEL_PASSWORD="wrong").check()
    assert not refused.ok and refused.details["code"] == "unauthorized" and "password" in refused.summary
    assert facts(refused) == {"Reachable": True, "Credentials accepted": False}
    wrong_flow = make_client("airtel", app, AIRTEL_CALL_FLOW_ID="OTHER").check()
    assert not wrong_flow.ok and wrong_flow.details["code"] == "INCORRECT_CALL_FLOW_ID"
    assert facts(wrong_flow) == {"Reachable": True, "Credentials accepted": True, "Call flow ID accepted": False}
    assert "Credentials accepted, but" in wrong_flow.summary and "AIRTEL_CALL_FLOW_ID" in wrong_flow.summary


def test_check_without_settings_sends_nothing(app, sandbox):
    before = len(sandbox.requests_to(PREFIX))
    result = make_client("airtel", app, AIRTEL_CUSTOMER_ID="").check()
    assert not result.ok and facts(result) == {"Settings complete": False, "Reachable": None}
    assert len(sandbox.requests_to(PREFIX)) == before


def test_check_of_an_unreachable_host(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = make_client("airtel", app, AIRTEL_BASE_URL=f"http://127.0.0.1:{port}/airtel").check()
    assert not result.ok and facts(result) == {"Reachable": False}


def test_connection_refused_is_retryable(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client("airtel", app, AIRTEL_BASE_URL=f"http://127.0.0.1:{port}/airtel")
    with pytest.raises(ProviderError) as info:
        client.click_to_call(AGENT, customer())
    assert (info.value.code, info.value.retryable) == ("connection_failed", True)


def test_no_secret_is_logged(app, sandbox):
    sink = ListSink()
    client = make_client("airtel", app, sink)
    client.click_to_call(AGENT, customer())
    client.check()
    assert_no_secrets(sink, ["sandbox-airtel-pass", AUTH.split()[1], TOKEN])


# --- the simulator's own refusals, for bodies our client never sends --------------------------------------

def _without(*path):
    def edit(body):
        *parents, last = path
        for key in parents:
            body = body[key]
        del body[last]
    return edit


def _set(value, *path):
    def edit(body):
        *parents, last = path
        for key in parents:
            body = body[key]
        body[last] = value
    return edit


FROM = ("callFlowConfiguration", "initiateCall_1")
TO = ("callFlowConfiguration", "addParticipant_1")
SIMULATOR_REFUSALS = [
    ("CUSTOMER_ID_NULL_ERROR", _without("customerId")),
    ("CALL_FLOW_ID_NULL_ERROR", _set("", "callFlowId")),
    ("FROM_BODY_NULL_ERROR", _without("callFlowConfiguration")),
    ("TO_BODY_NULL_ERROR", _without(*TO)),
    ("CALLER_ID_NULL_ERROR", _without(*FROM, "callerId")),
    ("FROM_NUMBER_NULL_ERROR", _set([], *FROM, "participants")),
    ("FROM_PARTICIPANT_NUMBER_NULL_ERROR", _without(*FROM, "participants", 0, "participantAddress")),
    ("FROM_PARTICIPANT_NUMBER_REGEX_ERROR", _set("98765", *FROM, "participants", 0, "participantAddress")),
    ("FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE", _set(4, *FROM, "participants", 0, "maxRetries")),
    ("TO_NUMBER_NULL_ERROR", _without(*TO, "participants")),
    ("TO_PARTICIPANT_NUMBER_NULL_ERROR", _set("", *TO, "participants", 0, "participantAddress")),
    ("TO_PARTICIPANT_NUMBER_REGEX_ERROR", _set("+919876540000", *TO, "participants", 0, "participantAddress")),
    ("TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE", _set(9, *TO, "participants", 0, "maxRetries")),
    ("CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER", _set("CONFERENCE", *TO, "mergingStrategy")),
    ("ROUNDROBIN_AGENT_ID_MISSING", _set("ROUND ROBIN", *FROM, "mergingStrategy")),
    ("ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED",
     lambda b: b["callFlowConfiguration"]["initiateCall_1"].update(mergingStrategy="ROUND_ROBIN", agentPoolId="p1")),
    ("CUSTOMER_DETAILS_NOT_AVAILABLE",
     lambda b: b["callFlowConfiguration"]["initiateCall_1"].update(mergingStrategy="ROUND_ROBIN", agentPoolId="p1",
                                                                   participants=[])),
    ("DUPLICATE_PARTICIPANT_ADDRESS_FOUND", _set("9876500001", *TO, "participants", 0, "participantAddress")),
]


def _post_raw(app, data, auth=AUTH):
    return requests.post(app.config["AIRTEL_BASE_URL"] + PATH, data=data, timeout=5,
                         headers={"Authorization": auth, "Content-Type": "application/json"})


@pytest.mark.parametrize(("code", "edit"), SIMULATOR_REFUSALS, ids=[c for c, _ in SIMULATOR_REFUSALS])
def test_simulator_refusals(code, edit, app, live_url):
    body = copy.deepcopy(expected_body(live_url))
    edit(body)
    response = _post_raw(app, json.dumps(body))
    assert (response.status_code, response.json()["errorCode"]) == (400, code)


def test_simulator_error_and_auth_bodies(app):
    assert _post_raw(app, "").json() == {
        "httpStatus": 400, "displayMessage": None, "errorMessage": "click to call request cannot be null/blank",
        "errorCode": "CLICK_TO_CALL_REQUEST_NULL_ERROR", "errorType": None, "apiPath": None, "errorDetails": None,
        "resourceLayer": "CONTROLLER", "errorMeta": None,
    }
    refused = _post_raw(app, "{}", auth=basic_auth_header("sandbox", "guess"))
    assert (refused.status_code, refused.json()) == (401, {"message": "Unauthorized"})


# --- callbacks --------------------------------------------------------------------------------------------

EVENT = {"eventType": "CALL", "event": "Ringing", "vmSessionId": "vm-1", "clientCorrelationId": "Xchange7",
         "participantAddress": "9876500001", "participantName": "Agent", "time": "2024-02-12T01:07:12.000+0000",
         "metaData": {"timestamp": 1707700032000}}
# Section 3 of the spec, verbatim but for the participantAddress placeholder.
SPEC_EVENT = {"eventType": "CALL", "participantAddress": "9876540000", "event": "Removed",
              "time": "2020-02-26T12:19:46.399+0000",
              "metaData": {"causeCode": "16", "sipCode": "699", "causeCodeDescription": "Normal call clearing"}}
CDR = {"vmSessionId": "vm-1", "clientCorrelationId": "Xchange7", "callType": "OUTBOUND",
       "overallCallStatus": "Answered", "hangupCause": "NORMAL_CLEARING", "callerNumberStatus": "Answered",
       "destinationNumberStatus": "Answered", "startTime": 1707700031000, "callAnswerTime": 1707700041000,
       "endTime": 1707700045000, "fromWaitingTime": 6000, "conversationDuration": 4000, "callerDuration": 10000,
       "recordingURL": "https://rec.example/Xchange7.mp3"}
BUSY_CDR = {**CDR, "overallCallStatus": "Busy", "hangupCause": "USER_BUSY", "destinationNumberStatus": "Busy",
            "conversationDuration": 0, "fromWaitingTime": 2000, "callerDuration": 2000, "recordingURL": None}


def fields(**expected):
    """Checks the single update's attributes; details compare as a subset."""
    def check(updates):
        (update,) = updates
        details = expected.pop("details", {})
        for name, value in expected.items():
            assert getattr(update, name) == value, name
        assert details.items() <= update.details.items(), update.details
    return check


CALLBACK_CASES = [
    ("events", EVENT, fields(reference="Xchange7", state=None, provider_status="Ringing",
                             details={"leg": "agent", "event_type": "CALL", "vm_session_id": "vm-1",
                                      "timestamp": 1707700032000})),
    ("events", {**EVENT, "event": "Disconnected", "participantName": "B",
                "metaData": {"causeCode": "17", "causeCodeDescription": "USER_BUSY", "sipCode": "486"}},
     fields(state=None, provider_status="Disconnected",
            details={"leg": "customer", "cause_code": "17", "cause": "USER_BUSY", "sip_code": "486"})),
    ("events", {**EVENT, "eventType": "RECORD", "event": "RecordingStarted", "participantName": "someone",
                "metaData": {"recordingName": "Xchange7.mp3"}},
     fields(state=None, details={"leg": "", "event_type": "RECORD", "recording_name": "Xchange7.mp3"})),
    ("cdr", CDR, fields(reference="Xchange7", state="delivered", provider_status="Answered", error_text="",
                        details={"conversation_seconds": 4.0, "waiting_seconds": 6.0, "caller_seconds": 10.0,
                                 "billable_seconds": 14.0, "recording_url": "https://rec.example/Xchange7.mp3",
                                 "answered_at": "2024-02-12T01:07:21+00:00"})),
    ("cdr", {**CDR, "billableDuration": 99000}, fields(details={"billable_seconds": 99.0})),
    ("cdr", {**CDR, "callType": "INBOUND"}, fields(details={"billable_seconds": 4.0})),
    ("cdr", BUSY_CDR, fields(state="failed", error_code="USER_BUSY", error_text="The customer was busy (USER_BUSY)",
                             details={"billable_seconds": 2.0})),
    ("cdr", {**BUSY_CDR, "overallCallStatus": "Missed", "callerNumberStatus": "Noanswer", "hangupCause": "",
             "destinationNumberStatus": None},
     fields(state="failed", error_code="Missed", error_text="The agent did not answer")),
    # No id in the body is not invalid: the callback URL (kind "events/<ref>") or nothing ties it to a call.
    ("events", {**EVENT, "clientCorrelationId": ""}, fields(reference="", provider_status="Ringing")),
    ("events", {**EVENT, "clientCorrelationId": None, "correlationId": "Xchange9"}, fields(reference="Xchange9")),
    ("events/ab12", SPEC_EVENT, fields(reference="", state=None, provider_status="Removed",
                                       details={"call_ref": "ab12", "leg": "", "participant_address": "9876540000",
                                                "cause_code": "16", "cause": "Normal call clearing",
                                                "sip_code": "699", "time": "2020-02-26T12:19:46.399+0000"})),
    ("cdr/ab12", {k: v for k, v in CDR.items() if k != "clientCorrelationId"},
     fields(reference="", state="delivered", details={"call_ref": "ab12"})),
    ("events", ["not", "an", "object"], CallbackInvalid),
    ("cdr", {**CDR, "overallCallStatus": ""}, CallbackInvalid),
    ("cdr", {**CDR, "conversationDuration": "4 s"}, CallbackInvalid),
    ("cdr", {**CDR, "startTime": "yesterday"}, CallbackInvalid),
    ("report", CDR, CallbackInvalid),
]


@pytest.mark.parametrize(("kind", "payload", "expect"), CALLBACK_CASES)
def test_parse_callback(kind, payload, expect):
    if expect is CallbackInvalid:
        with pytest.raises(CallbackInvalid):
            parse_callback(kind, payload)
    else:
        expect(parse_callback(kind, payload))


# --- lifecycles: callbacks reach the app ------------------------------------------------------------------

def _run_call(app, sandbox, suffix):
    """Places a call with its own callback URLs; returns the (participant, event) pairs and the CDR the app
    stored for it. Participants are told by number: strict mode names none."""
    call_ref = uuid.uuid4().hex[:16]
    make_client("airtel", app).click_to_call(AGENT, customer(suffix), call_ref=call_ref)
    sandbox.flush()
    with app.app_context():
        query = CallbackEvent.select().where(CallbackEvent.provider == "airtel").order_by(CallbackEvent.id)
        rows = [(row.kind, json.loads(row.body)) for row in query]
    cdrs = [body for kind, body in rows if kind == f"cdr/{call_ref}"]
    assert len(cdrs) == 1, "exactly one CDR per call"
    names = {AGENT[3:]: "Agent", customer(suffix)[3:]: "Customer"}
    return [(names[body["participantAddress"]], body["event"]) for kind, body in rows
            if kind == f"events/{call_ref}"], cdrs[0]


LIFECYCLES = [
    ("0000", "Answered", [("Agent", "CalledNumber"), ("Agent", "Ringing"), ("Agent", "Answer"),
                          ("Agent", "RecordingStarted"), ("Customer", "Ringing"), ("Customer", "Answer"),
                          ("Customer", "Disconnected"), ("Agent", "Disconnected")]),
    ("0486", "Busy", [("Agent", "CalledNumber"), ("Agent", "Ringing"), ("Agent", "Answer"),
                      ("Agent", "RecordingStarted"), ("Customer", "Disconnected"), ("Agent", "Disconnected")]),
    ("0480", "Missed", [("Agent", "CalledNumber"), ("Agent", "Ringing"), ("Agent", "Answer"),
                        ("Agent", "RecordingStarted"), ("Customer", "Ringing"), ("Customer", "Disconnected"),
                        ("Agent", "Disconnected")]),
    ("0999", "Missed", [("Agent", "CalledNumber"), ("Agent", "Ringing"), ("Agent", "Disconnected")]),
]


@pytest.mark.parametrize(("suffix", "status", "events"), LIFECYCLES, ids=[s for s, *_ in LIFECYCLES])
def test_lifecycle(suffix, status, events, app, sandbox, live_url, sandbox_mode):
    seen, cdr = _run_call(app, sandbox, suffix)
    assert seen == in_mode(sandbox_mode, events)
    assert cdr["overallCallStatus"] == status
    (update,) = parse_callback("cdr", cdr)
    assert update.state == ("delivered" if status == "Answered" else "failed")


def test_busy_and_no_answer_causes(app, sandbox, live_url):
    _, busy = _run_call(app, sandbox, "0486")
    assert (busy["hangupCause"], busy["destinationNumberStatus"]) == ("USER_BUSY", "Busy")
    agent_missed = parse_callback("cdr", _run_call(app, sandbox, "0999")[1])[0]
    assert agent_missed.error_text == "The agent did not answer (NO_ANSWER)"
    assert "recording_url" not in agent_missed.details


def test_disordered_events_and_duplicate_answer(app, sandbox, live_url):
    seen, cdr = _run_call(app, sandbox, "0500")
    assert seen.index(("Agent", "Answer")) < seen.index(("Agent", "Ringing"))
    assert seen.index(("Customer", "Answer")) < seen.index(("Customer", "Ringing"))
    # Delivered twice, stored once: the second delivery is a duplicate of the same body.
    answers = [c for c in sandbox.callbacks_sent
               if c["json"].get("event") == "Answer" and c["json"]["participantName"] == "Customer"]
    assert len(answers) == 2 and answers[0]["json"] == answers[1]["json"]
    assert all(c["status"] == 200 for c in answers) and seen.count(("Customer", "Answer")) == 1
    assert cdr["overallCallStatus"] == "Answered"


def test_answered_call_has_a_playable_recording(app, sandbox, live_url):
    _, cdr = _run_call(app, sandbox, "0000")
    (update,) = parse_callback("cdr", cdr)
    assert (update.details["conversation_seconds"], update.details["billable_seconds"]) == (4.0, 14.0)
    response = requests.get(update.details["recording_url"], timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"] == "audio/mpeg"
    audio = response.content
    assert audio and len(audio) % 417 == 0
    for offset in range(0, len(audio), 417):
        # MPEG-1 Layer III sync, 128 kbit/s, 44.1 kHz: every frame starts with the same header.
        assert audio[offset:offset + 3] == b"\xff\xfb\x90"
    missing = requests.get(update.details["recording_url"].replace("Xchange", "Xnothing"), timeout=5)
    assert missing.status_code == 404


def test_strict_callbacks_carry_no_id_and_only_the_spec_fields(app, sandbox, live_url):
    sandbox.configure(SANDBOX_STRICT="1")
    seen, cdr = _run_call(app, sandbox, "0486")
    events = [c["json"] for c in sandbox.callbacks_sent if "/events/" in c["url"]]
    assert len(events) == len(seen) == 6
    for event in events:
        assert set(event) - {"metaData"} == {"eventType", "participantAddress", "event", "time", "xTraceId"}
        assert set(event.get("metaData", {})) <= {"causeCode", "sipCode", "causeCodeDescription"}
    assert [e["metaData"]["causeCodeDescription"] for e in events if "metaData" in e] == ["USER_BUSY",
                                                                                          "NORMAL_CLEARING"]
    assert not {"vmSessionId", "clientCorrelationId", "correlationId", "participants", "billableDuration",
                "callAnswerTime"} & set(cdr)
    assert cdr["xTraceId"] == "cdr"
    (update,) = parse_callback("cdr", cdr)
    assert (update.reference, update.state, update.details["billable_seconds"]) == ("", "failed", 2.0)


def test_simulator_never_echoes_request_fields_the_spec_does_not_define(app, sandbox, live_url, sandbox_mode):
    body = expected_body(live_url, call_ref="e0e0e0")
    body["callFlowConfiguration"]["initiateCall_1"]["clientCorrelationId"] = "ours-123"
    answer = _post_raw(app, json.dumps(body)).json()
    # Strict: the response table's answer, without the sample's "status".
    fields = {"default": {"status", "correlationId"}, "strict": {"correlationId"}}[sandbox_mode]
    assert set(answer) == fields and answer["correlationId"].startswith("Xchange")
    sandbox.flush()
    sent = [c["json"] for c in sandbox.callbacks_sent if c["url"].endswith("/e0e0e0")]
    assert sent and "ours-123" not in json.dumps(sent)
    expected_ids = {"default": {answer["correlationId"]}, "strict": set()}[sandbox_mode]
    assert {body.get("clientCorrelationId") for body in sent} - {None} == expected_ids
