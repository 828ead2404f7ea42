"""Airtel CCP click-to-call simulator, mounted at /airtel (spec: shared/specs/airtel-ccp-click-to-call.txt).

POST /v2/execute/workflow with Basic auth (401 {"message": "Unauthorized"} otherwise) and a JSON body like
the spec's sample. Refusals are the spec's 400 body with its errorCode/errorMessage, checked in this order:
empty body, customerId/callFlowId missing then wrong, initiateCall/addParticipant component missing,
callerId missing/not 10 digits/not the registered one, each leg (merging strategy, participants missing,
number missing/not 10 digits, maxRetries > 3), duplicate addresses. Acceptance answers
{"status": "success", "correlationId": "Xchange<digits>"} and plays the call through the request's
callBackURLs, one step per state.event_delay: real-time events to "ALL" (and to any CALL/RECORD url), then
the CDR to "CDR", whose recordingURL is served here (GET /recordings/<id>.mp3, a short silent MP3).

TEST NUMBERS, chosen by the last four digits of the CUSTOMER (addParticipant) number, e.g. 9876540000:
    0000  answered: agent CalledNumber/Ringing/Answer, RecordingStarted, customer Ringing/Answer, 4 s of
          conversation, both Disconnected (cause 16 NORMAL_CLEARING); CDR Answered with a recording
          (any other suffix behaves the same)
    0486  customer busy: customer Disconnected cause 17 USER_BUSY; CDR Busy
    0480  customer does not answer: rings 30 s, Disconnected cause 19 NO_ANSWER; CDR Missed (Noanswer)
    0999  agent does not answer: the customer is never called, no recording; CDR Missed
    0500  answered like 0000, but the agent's Ringing/Answer and the customer's Ringing/Answer arrive
          swapped, and the customer's Answer is delivered twice (byte-identical)
Callbacks never echo a request field the spec does not define. By default events and the CDR carry the
call's correlationId as clientCorrelationId (like Airtel's own sample code). In strict mode (state.strict,
SANDBOX_STRICT) events are the spec's sample and nothing more: no id of any kind, no participantName,
metaData only with a hang-up cause, hang-ups named "Removed", an unknown extra field, and every call's
events out of order (as 0500); the CDR has no ids and its optional fields are absent; the answer is the
response table's {"correlationId": ...} without the sample's "status". Only the callback
URL then tells which call a callback is about.
Round robin needs an agent pool and the sandbox account has none: a well-formed round-robin request gets
CUSTOMER_DETAILS_NOT_AVAILABLE (GUESS). Tests force any documented errorCode on the next request with
`state.simulators["airtel"].fail_next(code)`; state.should_fail() answers the documented 500.
"""
import hmac
import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from webapp.config import SANDBOX_CREDENTIALS
from webapp.providers.base import basic_auth_header

bp = Blueprint("airtel", __name__)

# 10-digit numbers: participants and caller ids.
NATIONAL_NUMBER = re.compile(r"\d{10}")
MAX_RETRIES = 3
# errorCode -> errorMessage, verbatim from the spec (CALLER_ID_REGEX_ERROR has two; the second is used).
ERROR_MESSAGES = {
    "INCORRECT_CALL_FLOW_ID": "incorrect call flow id",
    "CUSTOMER_DETAILS_NOT_AVAILABLE": "cpm details not found",
    "INCORRECT_CUSTOMER_ID": "incorrect customerId",
    "INVALID_CALLER_ID": "invalid called id",
    "CALLER_ID_REGEX_ERROR": "caller Id not valid",
    "DUPLICATE_PARTICIPANT_ADDRESS_FOUND": "participant address cannot be duplicate",
    "UNABLE_TO_CREATE_SECRET_KEY": "unable to create secret key data",
    "CLICK_TO_CALL_REQUEST_NULL_ERROR": "click to call request cannot be null/blank",
    "FROM_BODY_NULL_ERROR": "from body cannot be null/blank",
    "TO_BODY_NULL_ERROR": "to body cannot be null/blank",
    "CUSTOMER_ID_NULL_ERROR": "customerId cannot be null/blank",
    "CALL_FLOW_ID_NULL_ERROR": "callflowId cannot be null/blank",
    "ROUNDROBIN_AGENT_ID_MISSING": "Agent Pool Id cannot be null/empty in case of Round Robin",
    "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED":
        "Participant List not allowed in case of Round Robin. Please provide Agent pool Id",
    "FROM_NUMBER_NULL_ERROR": "There should be atleast one participant in from",
    "FROM_PARTICIPANT_NUMBER_NULL_ERROR": "from participant number null error",
    "FROM_PARTICIPANT_NUMBER_REGEX_ERROR": "from participant number not valid",
    "FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Max retries can't be greater than 3",
    "CALLER_ID_NULL_ERROR": "caller Id required",
    "TO_NUMBER_NULL_ERROR": "There should be atleast one participant in to",
    "TO_PARTICIPANT_NUMBER_NULL_ERROR": "to participant number null error",
    "TO_PARTICIPANT_NUMBER_REGEX_ERROR": "to participant number not valid",
    "TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Max retries can't be greater than 3",
    "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER": "CONFERENCE merging strategy not allowed in toNumber",
}
# The spec's 500 body, verbatim.
FAULT_BODY = {
    "httpStatus": 500, "displayMessage": None, "errorMessage": "2", "errorCode": "AIRTEL_ONLINE_UNCAUGHT_ERROR",
    "errorType": None, "apiPath": None, "errorDetails": None, "resourceLayer": "UNKNOWN", "errorMeta": None,
}
UNAUTHORIZED_BODY = {"message": "Unauthorized"}

# Hang-up causes: (causeCode, causeCodeDescription, sipCode) as Q.850 and SIP write them.
NORMAL = ("16", "NORMAL_CLEARING", "200")
BUSY = ("17", "USER_BUSY", "486")
NO_ANSWER = ("19", "NO_ANSWER", "480")
# Timelines in ms from the request: (offset, eventType, event, leg, cause). Offsets feed event times and
# CDR durations; the deliveries themselves are state.event_delay apart.
AGENT_ANSWERS = [(0, "CALL", "CalledNumber", "agent", None), (1000, "CALL", "Ringing", "agent", None),
                 (4000, "CALL", "Answer", "agent", None), (4500, "RECORD", "RecordingStarted", "agent", None)]
TIMELINES = {
    "answered": AGENT_ANSWERS + [
        (5000, "CALL", "Ringing", "customer", None), (10000, "CALL", "Answer", "customer", None),
        (14000, "CALL", "Disconnected", "customer", NORMAL), (14000, "CALL", "Disconnected", "agent", NORMAL)],
    "busy": AGENT_ANSWERS + [
        (5000, "CALL", "Disconnected", "customer", BUSY), (6000, "CALL", "Disconnected", "agent", NORMAL)],
    "no_answer": AGENT_ANSWERS + [
        (5000, "CALL", "Ringing", "customer", None), (35000, "CALL", "Disconnected", "customer", NO_ANSWER),
        (35000, "CALL", "Disconnected", "agent", NORMAL)],
    "agent_no_answer": [
        (0, "CALL", "CalledNumber", "agent", None), (1000, "CALL", "Ringing", "agent", None),
        (31000, "CALL", "Disconnected", "agent", NO_ANSWER)],
}
# Customer number suffix -> (timeline, CDR overallCallStatus, agent status, customer status, hangupCause).
OUTCOMES = {
    "0000": ("answered", "Answered", "Answered", "Answered", NORMAL),
    "0486": ("busy", "Busy", "Answered", "Busy", BUSY),
    "0480": ("no_answer", "Missed", "Answered", "Noanswer", NO_ANSWER),
    "0999": ("agent_no_answer", "Missed", "Noanswer", None, NO_ANSWER),
    "0500": ("answered", "Answered", "Answered", "Answered", NORMAL),
}
DISORDERED_SUFFIX = "0500"
# Strict mode: event names as the spec's own sample writes them, the CDR fields left out (the ids and the
# optional ones), and a field no document lists.
SPEC_EVENT_NAMES = {"Disconnected": "Removed"}
STRICT_CDR_ABSENT = {"vmSessionId", "clientCorrelationId", "callAnswerTime", "billableDuration", "participants"}
STRICT_EXTRA_FIELD = "xTraceId"
# One MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, mono, no CRC; 417-byte frames (144*128000/44100).
# All-zero side info and main data decode as silence; 10 frames is about a quarter second.
MP3_FRAME = bytes([0xFF, 0xFB, 0x90, 0xC4]) + bytes(413)
SILENT_MP3 = MP3_FRAME * 10


@dataclass
class Call:
    correlation_id: str  # our answer's "Xchange..." id; default-mode callbacks carry it as clientCorrelationId
    vm_session_id: str
    customer_id: str
    caller_id: str
    legs: dict  # leg -> participant dict from the request
    callbacks: list
    recording_url: str
    start_ms: int
    outcome: tuple
    strict: bool = False  # sent as the spec's sample shows: no ids, only the documented fields, out of order
    deliveries: list = field(default_factory=list)  # (urls, method, headers, payload) still to send


class Simulator:
    def __init__(self, state):
        self.state = state
        # Correlation ids keep growing across restarts so the app never sees one twice.
        self.ids = itertools.count(int(time.time() * 1000))
        self.reset()

    def reset(self):
        with self.state.lock:
            self.calls = {}
            self.recordings = set()
            self.forced = []

    def fail_next(self, code):
        """Answer the next workflow request with this documented errorCode (tests)."""
        with self.state.lock:
            self.forced.append(code)

    def take_forced(self):
        with self.state.lock:
            return self.forced.pop(0) if self.forced else None

    def start(self, body, recording_url_for):
        initiate, add = _component(body, "initiateCall"), _component(body, "addParticipant")
        with self.state.lock:
            correlation_id = f"Xchange{next(self.ids)}"
        customer = add["participants"][0]
        call = Call(
            correlation_id=correlation_id, vm_session_id=str(uuid.uuid4()), customer_id=body["customerId"],
            caller_id=_caller_id(body),
            legs={"agent": initiate["participants"][0], "customer": customer},
            callbacks=initiate.get("callBackURLs") or [], recording_url=recording_url_for(correlation_id),
            start_ms=int(time.time() * 1000),
            outcome=OUTCOMES.get(str(customer["participantAddress"])[-4:], OUTCOMES["0000"]),
            strict=self.state.strict,
        )
        call.deliveries = self._event_deliveries(call) + [self._cdr_delivery(call)]
        with self.state.lock:
            self.calls[correlation_id] = call
        self.state.later(self.state.event_delay, self._step, call)
        return call

    def _step(self, call):
        urls, method, headers, payload = call.deliveries.pop(0)
        if payload.get("recordingURL"):
            with self.state.lock:
                self.recordings.add(call.correlation_id)
        for url in urls:
            self.state.deliver(method, url, json=payload, headers=headers)
        if call.deliveries:
            self.state.later(self.state.event_delay, self._step, call)

    def _event_deliveries(self, call):
        make = self._spec_event if call.strict else self._event
        events = [make(call, index, *step) for index, step in enumerate(TIMELINES[call.outcome[0]])]
        if call.strict or call.legs["customer"]["participantAddress"].endswith(DISORDERED_SUFFIX):
            events = _disorder(events)
        return [self._delivery(call, event["eventType"], event) for event in events]

    def _event(self, call, index, offset, event_type, event, leg, cause):
        at = call.start_ms + offset
        meta = {"timestamp": at}
        if cause:
            meta.update(causeCode=cause[0], causeCodeDescription=cause[1], sipCode=cause[2])
        if event_type == "RECORD":
            meta["recordingName"] = f"{call.correlation_id}.mp3"
        participant = call.legs[leg]
        return {
            "eventType": event_type, "event": event, "vmSessionId": call.vm_session_id,
            "clientCorrelationId": call.correlation_id, "participantAddress": participant["participantAddress"],
            "participantName": participant.get("participantName", ""), "eventId": f"{call.vm_session_id}-{index}",
            "time": _event_time(at), "metaData": meta,
        }

    def _spec_event(self, call, index, offset, event_type, event, leg, cause):
        """The spec's sample event (section 3) and nothing more: no id of the call or the event, no name of
        the participant, metaData only for a hang-up's cause; the sample's "Removed" for a hang-up; and one
        field the spec does not list, which a client must ignore."""
        body = {"eventType": event_type, "participantAddress": call.legs[leg]["participantAddress"],
                "event": SPEC_EVENT_NAMES.get(event, event), "time": _event_time(call.start_ms + offset),
                STRICT_EXTRA_FIELD: f"{index}"}
        if cause:
            body["metaData"] = {"causeCode": cause[0], "sipCode": cause[2], "causeCodeDescription": cause[1]}
        return body

    def _cdr_delivery(self, call):
        _, status, agent_status, customer_status, cause = call.outcome
        steps = TIMELINES[call.outcome[0]]
        answers = {leg: offset for offset, _, event, leg, _ in steps if event == "Answer"}
        end = max(offset for offset, *_ in steps)
        talk = end - answers["customer"] if "customer" in answers else 0
        waiting = (end - talk - answers["agent"]) if "agent" in answers else 0
        recorded = any(event_type == "RECORD" for _, event_type, *_ in steps)
        cdr = {
            "vmSessionId": call.vm_session_id, "clientCorrelationId": call.correlation_id,
            "customerId": call.customer_id, "callType": "OUTBOUND", "callerId": call.caller_id,
            "callerNumber": call.legs["agent"]["participantAddress"],
            "destinationNumber": call.legs["customer"]["participantAddress"],
            "startTime": call.start_ms, "endTime": call.start_ms + end,
            "callAnswerTime": call.start_ms + answers["customer"] if "customer" in answers else None,
            "overallCallStatus": status, "hangupCause": cause[1],
            "callerNumberStatus": agent_status, "destinationNumberStatus": customer_status,
            "fromWaitingTime": waiting, "conversationDuration": talk, "callerDuration": waiting + talk,
            "billableDuration": waiting + 2 * talk,
            "recordingURL": call.recording_url if recorded else None,
            "participants": _cdr_participants(call, agent_status, customer_status),
        }
        if call.strict:
            # The spec shows no CDR at all: no id of the call, optional fields absent, an unknown one present.
            cdr = {name: value for name, value in cdr.items() if name not in STRICT_CDR_ABSENT and value is not None}
            cdr[STRICT_EXTRA_FIELD] = "cdr"
        return self._delivery(call, "CDR", cdr)

    def _delivery(self, call, event_type, payload):
        """Send to each callBackURL registered for this type; GUESS: "ALL" covers the real-time events but
        not the CDR, or the spec's sample (CDR + ALL) would receive every CDR twice."""
        targets = [cb for cb in call.callbacks if cb.get("eventType") == event_type
                   or (cb.get("eventType") == "ALL" and event_type != "CDR")]
        method = (targets[0].get("method") if targets else None) or "POST"
        headers = (targets[0].get("headers") if targets else None) or {}
        return [cb.get("notifyURL") for cb in targets], method, headers, payload


def _disorder(events):
    """0500 (and every call in strict mode): swap each leg's Ringing and Answer, and deliver the customer's
    Answer a second time."""
    position = {(e["participantAddress"], e["event"]): i for i, e in enumerate(events)}
    for address in {e["participantAddress"] for e in events}:
        ringing, answer = position.get((address, "Ringing")), position.get((address, "Answer"))
        if ringing is not None and answer is not None:
            events[ringing], events[answer] = events[answer], events[ringing]
    answers = [i for i, e in enumerate(events) if e["event"] == "Answer"]
    if len(answers) > 1:
        events.insert(answers[-1] + 1, events[answers[-1]])
    return events


def _cdr_participants(call, agent_status, customer_status):
    parties = [("agent", "From", agent_status), ("customer", "To", customer_status)]
    return [{"participantAddress": call.legs[leg]["participantAddress"],
             "participantName": call.legs[leg].get("participantName", ""), "participantType": kind,
             "status": status} for leg, kind, status in parties if status]


def _event_time(epoch_ms):
    # The spec's sample format: 2020-02-26T12:19:46.399+0000
    stamp = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}+0000"


# --- request validation ----------------------------------------------------------------------------------

def _expected(state, name):
    return state.setting(name) or SANDBOX_CREDENTIALS[name]


def _component(body, kind):
    """The first <kind>_<id> component of the call flow (the spec allows several; one is simulated)."""
    config = body.get("callFlowConfiguration")
    if not isinstance(config, dict):
        return None
    for key, value in config.items():
        if key.startswith(f"{kind}_") and isinstance(value, dict):
            return value
    return None


def _caller_id(body):
    # The spec lists a top-level callerId but its sample sets it only in the components; accept either.
    return body.get("callerId") or (_component(body, "initiateCall") or {}).get("callerId")


def _request_error(body, state):
    if not isinstance(body, dict) or not body:
        return "CLICK_TO_CALL_REQUEST_NULL_ERROR"
    return (_account_error(body, state) or _caller_id_error(body, state)
            or _leg_error(_component(body, "initiateCall"), "FROM")
            or _leg_error(_component(body, "addParticipant"), "TO")
            or _duplicate_error(body))


def _account_error(body, state):
    if not body.get("customerId"):
        return "CUSTOMER_ID_NULL_ERROR"
    if not body.get("callFlowId"):
        return "CALL_FLOW_ID_NULL_ERROR"
    if body["customerId"] != _expected(state, "AIRTEL_CUSTOMER_ID"):
        return "INCORRECT_CUSTOMER_ID"
    if body["callFlowId"] != _expected(state, "AIRTEL_CALL_FLOW_ID"):
        return "INCORRECT_CALL_FLOW_ID"
    if _component(body, "initiateCall") is None:
        return "FROM_BODY_NULL_ERROR"
    if _component(body, "addParticipant") is None:
        return "TO_BODY_NULL_ERROR"
    return None


def _caller_id_error(body, state):
    caller_id = _caller_id(body)
    if not caller_id:
        return "CALLER_ID_NULL_ERROR"
    if not NATIONAL_NUMBER.fullmatch(str(caller_id)):
        return "CALLER_ID_REGEX_ERROR"
    if caller_id != _expected(state, "AIRTEL_CALLER_ID"):
        return "INVALID_CALLER_ID"
    return None


def _leg_error(component, side):
    # The spec writes "ROUND ROBIN"; Airtel's MergingStrategy enum writes ROUND_ROBIN.
    strategy = str(component.get("mergingStrategy") or "SEQUENTIAL").upper().replace(" ", "_")
    participants = component.get("participants")
    participants = participants if isinstance(participants, list) else []
    if side == "TO" and strategy == "CONFERENCE":
        return "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER"
    if strategy == "ROUND_ROBIN":
        if not component.get("agentPoolId"):
            return "ROUNDROBIN_AGENT_ID_MISSING"
        return "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED" if participants else "CUSTOMER_DETAILS_NOT_AVAILABLE"
    if not participants:
        return f"{side}_NUMBER_NULL_ERROR"
    for participant in participants:
        address = participant.get("participantAddress") if isinstance(participant, dict) else None
        if not address:
            return f"{side}_PARTICIPANT_NUMBER_NULL_ERROR"
        if not NATIONAL_NUMBER.fullmatch(str(address)):
            return f"{side}_PARTICIPANT_NUMBER_REGEX_ERROR"
        if _retries(participant) > MAX_RETRIES:
            return f"{side}_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE"
    return None


def _retries(participant):
    try:
        return int(participant.get("maxRetries") or 0)
    except (TypeError, ValueError):
        return 0


def _duplicate_error(body):
    addresses = [p["participantAddress"] for kind in ("initiateCall", "addParticipant")
                 for p in _component(body, kind)["participants"]]
    return "DUPLICATE_PARTICIPANT_ADDRESS_FOUND" if len(set(addresses)) != len(addresses) else None


def _error_response(code):
    body = {
        "httpStatus": 400, "displayMessage": None, "errorMessage": ERROR_MESSAGES[code], "errorCode": code,
        "errorType": None, "apiPath": None, "errorDetails": None, "resourceLayer": "CONTROLLER", "errorMeta": None,
    }
    return jsonify(body), 400


def _authorized(state):
    expected = basic_auth_header(_expected(state, "AIRTEL_USERNAME"), _expected(state, "AIRTEL_PASSWORD"))
    return hmac.compare_digest(request.headers.get("Authorization", ""), expected)


# --- routes ----------------------------------------------------------------------------------------------

@bp.post("/v2/execute/workflow")
def execute_workflow():
    state = current_app.extensions["sandbox"]
    simulator = state.simulators["airtel"]
    if not _authorized(state):
        return jsonify(UNAUTHORIZED_BODY), 401
    if state.should_fail():
        return jsonify(FAULT_BODY), 500
    body = request.get_json(silent=True)
    code = simulator.take_forced() or _request_error(body, state)
    if code:
        return _error_response(code)
    call = simulator.start(body, lambda rid: url_for(".recording", rid=rid, _external=True))
    if call.strict:  # the spec's response table: { "correlationId": <correlation_id> }, no status
        return jsonify(correlationId=call.correlation_id)
    return jsonify(status="success", correlationId=call.correlation_id)


@bp.get("/recordings/<rid>.mp3")
def recording(rid):
    state = current_app.extensions["sandbox"]
    with state.lock:
        known = rid in state.simulators["airtel"].recordings
    if not known:
        return jsonify(message="Not Found"), 404
    return Response(SILENT_MP3, mimetype="audio/mpeg")
