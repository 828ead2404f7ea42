"""Airtel CCP click-to-call (spec airtel-ccp-click-to-call): one JSON POST, Basic auth, then callbacks.

Airtel calls the agent first; when the agent answers, recording starts and the customer is called; the two
are bridged when the customer answers. Progress arrives as real-time events on the "ALL" callBackURL and
the call's outcome as a CDR on the "CDR" callBackURL after hang-up. CDR durations are milliseconds.

Sample callbacks (JSON POST to the notifyURLs this client puts in the request):

    events: {"eventType": "CALL", "event": "Disconnected", "vmSessionId": "vm-5f1c",
             "clientCorrelationId": "Xchange123863", "participantAddress": "9876540000",
             "participantName": "Customer", "time": "2024-02-12T01:07:25.000+0000",
             "metaData": {"timestamp": 1707700045000, "causeCode": "16",
                          "causeCodeDescription": "NORMAL_CLEARING", "sipCode": "200"}}
    cdr:    {"vmSessionId": "vm-5f1c", "clientCorrelationId": "Xchange123863", "callType": "OUTBOUND",
             "overallCallStatus": "Answered", "hangupCause": "NORMAL_CLEARING",
             "callerNumber": "9876500001", "destinationNumber": "9876540000",
             "callerNumberStatus": "Answered", "destinationNumberStatus": "Answered",
             "startTime": 1707700031000, "callAnswerTime": 1707700041000, "endTime": 1707700045000,
             "fromWaitingTime": 6000, "conversationDuration": 4000, "callerDuration": 10000,
             "billableDuration": 14000, "recordingURL": "https://.../Xchange123863.mp3", "participants": [...]}
"""
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from phonenumbers import NumberParseException

from webapp.phones import national
from webapp.providers.base import (
    BaseClient,
    CallbackInvalid,
    CheckResult,
    ProviderError,
    StatusUpdate,
    basic_auth_header,
    dumps,
)

# The only endpoint: runs a call flow (here the click-to-call flow Airtel provisioned for the account).
WORKFLOW_PATH = "v2/execute/workflow"
# Where Airtel posts real-time events and the CDR (paths of webapp/callbacks).
EVENTS_CALLBACK = "{base}/callbacks/airtel/{token}/events"
CDR_CALLBACK = "{base}/callbacks/airtel/{token}/cdr"
# Airtel refuses more retries per participant than this.
MAX_RETRIES = 3
# Participants and caller ids are 10-digit Indian numbers without a prefix.
NATIONAL_NUMBER = re.compile(r"\d{10}")
INDIA_PREFIX = "+91"
# Names given to the two legs; they come back as participantName in events and the CDR.
AGENT_NAME = "Agent"
CUSTOMER_NAME = "Customer"
# participantName -> leg; "A"/"B" are the names the spec's own sample uses.
LEG_NAMES = {"agent": "agent", "a": "agent", "customer": "customer", "b": "customer"}
# The CDR's overallCallStatus of a call whose two parties talked.
ANSWERED = "Answered"
# Per-party statuses in a CDR -> how an agent reads them.
PARTY_STATUS_TEXT = {
    "Busy": "was busy",
    "Noanswer": "did not answer",
    "Missed": "did not answer",
    "NotReachable": "could not be reached",
    "NetworkError": "could not be reached (network error)",
}
# CDR millisecond fields -> seconds keys in StatusUpdate.details.
CDR_DURATIONS = {
    "callerDuration": "caller_seconds",
    "conversationDuration": "conversation_seconds",
    "fromWaitingTime": "waiting_seconds",
    "billableDuration": "billable_seconds",
}
# CDR epoch-millisecond fields -> ISO 8601 keys in details.
CDR_TIMES = {"startTime": "started_at", "callAnswerTime": "answered_at", "endTime": "ended_at"}
# Event fields (and metaData fields) worth keeping, renamed for details.
EVENT_FIELDS = {
    "eventType": "event_type", "event": "event", "participantAddress": "participant_address",
    "vmSessionId": "vm_session_id", "eventId": "event_id", "time": "time",
    "requestMessageType": "request_type", "responseType": "response_type", "errorMessage": "error_message",
}
EVENT_META_FIELDS = {
    "causeCode": "cause_code", "causeCodeDescription": "cause", "sipCode": "sip_code",
    "recordingName": "recording_name", "timestamp": "timestamp",
}

# errorCode (and our "unauthorized" for the 401) -> (message for an agent, retryable). Every 4xx means the
# call was not placed; retryable additionally says a re-send may succeed unchanged (a transient failure or
# credentials an operator can fix), as opposed to refusals that repeat the same way every time.
ERROR_CODES = {
    "INCORRECT_CALL_FLOW_ID": (
        "Click-to-call is misconfigured: Airtel does not recognise the call flow ID (AIRTEL_CALL_FLOW_ID)", False),
    "CUSTOMER_DETAILS_NOT_AVAILABLE": ("Airtel has no account details for this customer ID; contact Airtel", False),
    "INCORRECT_CUSTOMER_ID": (
        "Click-to-call is misconfigured: Airtel does not recognise the customer ID (AIRTEL_CUSTOMER_ID)", False),
    "INVALID_CALLER_ID": ("The caller ID is not registered with Airtel (AIRTEL_CALLER_ID)", False),
    "CALLER_ID_REGEX_ERROR": ("The caller ID is not a valid 10-digit number (AIRTEL_CALLER_ID)", False),
    "DUPLICATE_PARTICIPANT_ADDRESS_FOUND": ("The agent and the customer have the same phone number", False),
    "UNABLE_TO_CREATE_SECRET_KEY": ("Airtel could not start the call (secret key error); try again shortly", True),
    "CLICK_TO_CALL_REQUEST_NULL_ERROR": ("Airtel received an empty click-to-call request", False),
    "FROM_BODY_NULL_ERROR": ("The request did not say which agent to call first", False),
    "TO_BODY_NULL_ERROR": ("The request did not say which customer to call", False),
    "CUSTOMER_ID_NULL_ERROR": ("The Airtel customer ID is not configured (AIRTEL_CUSTOMER_ID)", False),
    "CALL_FLOW_ID_NULL_ERROR": ("The Airtel call flow ID is not configured (AIRTEL_CALL_FLOW_ID)", False),
    "ROUNDROBIN_AGENT_ID_MISSING": ("Round-robin calling needs an Airtel agent pool ID", False),
    "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED": (
        "Round-robin calling takes an agent pool ID, not a list of numbers", False),
    "FROM_NUMBER_NULL_ERROR": ("No agent number was given for the call", False),
    "FROM_PARTICIPANT_NUMBER_NULL_ERROR": ("The agent has no phone number", False),
    "FROM_PARTICIPANT_NUMBER_REGEX_ERROR": ("The agent's number is not a valid 10-digit Indian number", False),
    "FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": (
        f"Airtel allows at most {MAX_RETRIES} retries to the agent", False),
    "CALLER_ID_NULL_ERROR": ("The caller ID is not configured (AIRTEL_CALLER_ID)", False),
    "TO_NUMBER_NULL_ERROR": ("No customer number was given for the call", False),
    "TO_PARTICIPANT_NUMBER_NULL_ERROR": ("The customer has no phone number", False),
    "TO_PARTICIPANT_NUMBER_REGEX_ERROR": ("The customer's number is not a valid 10-digit Indian number", False),
    "TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": (
        f"Airtel allows at most {MAX_RETRIES} retries to the customer", False),
    "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER": (
        "Airtel does not allow a conference merge for the customer's leg", False),
    "unauthorized": ("Airtel refused the username or password (AIRTEL_USERNAME / AIRTEL_PASSWORD)", True),
    # The documented 500. It may come after the call started, so it is raised as "bad_status" (outcome
    # unknown: the send becomes unknown, never re-sent blindly); this entry only supplies the message.
    "AIRTEL_ONLINE_UNCAUGHT_ERROR": ("Airtel had an internal error; the call may or may not have started", False),
}


@dataclass
class CallResult:
    correlation_id: str  # Airtel's id of the call ("Xchange..."): callbacks carry it as clientCorrelationId
    status: str  # "success"
    # Our own id when one was sent; GUESS: callbacks then carry it instead, so a handler matches both.
    client_correlation_id: str | None = None


class Client(BaseClient):
    name = "airtel"

    def __init__(self, base_url, username, password, customer_id, call_flow_id, caller_id, events_url, cdr_url,
                 **kwargs):
        super().__init__(base_url, basic_pairs=((username, password),), **kwargs)
        self.auth_header = basic_auth_header(username, password)
        self.customer_id = customer_id
        self.call_flow_id = call_flow_id
        self.caller_id = caller_id
        self.events_url = events_url
        self.cdr_url = cdr_url

    @classmethod
    def from_config(cls, config, log_sink=None, session=None):
        base = str(config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        token = config.get("CALLBACK_TOKEN") or ""
        username = config.get("AIRTEL_USERNAME") or ""
        password = config.get("AIRTEL_PASSWORD") or ""
        return cls(
            config.get("AIRTEL_BASE_URL"), username, password, config.get("AIRTEL_CUSTOMER_ID") or "",
            config.get("AIRTEL_CALL_FLOW_ID") or "", config.get("AIRTEL_CALLER_ID") or "",
            EVENTS_CALLBACK.format(base=base, token=token), CDR_CALLBACK.format(base=base, token=token),
            # The callback token travels in the request body's notifyURLs: it is a secret too.
            secrets=(username, password, token), log_sink=log_sink, session=session,
        )

    def click_to_call(self, agent_e164, customer_e164, max_retries=1, client_correlation_id=None):
        """Ring the agent, then the customer; returns once Airtel accepted the flow (callbacks follow)."""
        body = self.workflow_body(agent_e164, customer_e164, max_retries, client_correlation_id)
        data = self._post("click_to_call", body)
        correlation_id = data.get("correlationId")
        if data.get("status") != "success" or not correlation_id:
            raise ProviderError("unparseable", "Airtel answered 200 without success and a correlationId",
                                http_status=200, raw=str(data)[:500])
        return CallResult(str(correlation_id), data["status"], client_correlation_id)

    def workflow_body(self, agent_e164, customer_e164, max_retries=1, client_correlation_id=None):
        """The spec's sample body, validated first so Airtel's own refusals never cost a round trip.

        Raises ProviderError with Airtel's own code and message, so callers can check numbers up front."""
        self._check_account()
        agent = _participant_number(agent_e164, "FROM")
        if max_retries > MAX_RETRIES:
            raise _refused("FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE")
        customer = _participant_number(customer_e164, "TO")
        if agent == customer:
            raise _refused("DUPLICATE_PARTICIPANT_ADDRESS_FOUND")
        initiate = {
            "callerId": self.caller_id,
            "mergingStrategy": "SEQUENTIAL",
            "participants": [self._participant(agent, AGENT_NAME, max_retries)],
            "maxTime": 0,
            "callBackURLs": [_callback("CDR", self.cdr_url), _callback("ALL", self.events_url)],
        }
        if client_correlation_id:
            # GUESS: the component takes clientCorrelationId like the initiateCall API (airteliq
            # InitiateCallRequestDO); the spec's sample has none, so it is sent only when asked for.
            initiate["clientCorrelationId"] = client_correlation_id
        return {
            "callFlowId": self.call_flow_id,
            "customerId": self.customer_id,
            "callType": "OUTBOUND",
            "callFlowConfiguration": {
                "initiateCall_1": initiate,
                "addParticipant_1": {
                    "mergingStrategy": "SEQUENTIAL",
                    "maxTime": 0,
                    "participants": [
                        {**self._participant(customer, CUSTOMER_NAME, max_retries), "enableEarlyMedia": True},
                    ],
                },
                "record": {"enabled": True},
            },
        }

    def check(self):
        """Test connection. Airtel has no harmless endpoint, so post an empty workflow: the documented
        CLICK_TO_CALL_REQUEST_NULL_ERROR proves the credentials were accepted and no call can start."""
        try:
            self._post("check", {})
        except ProviderError as exc:
            if exc.code == "CLICK_TO_CALL_REQUEST_NULL_ERROR":
                return CheckResult(True, "Credentials accepted (an empty click-to-call request was refused as "
                                         "expected; no call was placed)", {"http_status": exc.http_status})
            return CheckResult(False, exc.message, {"code": exc.code, "http_status": exc.http_status})
        return CheckResult(False, "Airtel accepted an empty click-to-call request; check the base URL")

    def _check_account(self):
        for value, code in ((self.customer_id, "CUSTOMER_ID_NULL_ERROR"),
                            (self.call_flow_id, "CALL_FLOW_ID_NULL_ERROR"),
                            (self.caller_id, "CALLER_ID_NULL_ERROR")):
            if not value:
                raise _refused(code)
        if not NATIONAL_NUMBER.fullmatch(self.caller_id):
            raise _refused("CALLER_ID_REGEX_ERROR")

    def _participant(self, address, name, max_retries):
        return {"participantAddress": address, "callerId": self.caller_id, "participantName": name,
                "maxRetries": max_retries, "maxTime": 0}

    def _post(self, operation, body):
        headers = {"Authorization": self.auth_header, "Content-Type": "application/json"}
        response = self.request(operation, "POST", WORKFLOW_PATH, data=dumps(body).encode(), headers=headers)
        if response.status_code == 401:
            raise _refused("unauthorized", http_status=401, raw=response.text[:500])
        data = self.json_body(response)
        if response.status_code == 200:
            return data if isinstance(data, dict) else {}
        raise _answer_error(response.status_code, data)


def _callback(event_type, url):
    return {"eventType": event_type, "notifyURL": url, "method": "POST", "headers": {}}


def _participant_number(e164, side):
    """10-digit national number of an Indian E.164 number; other countries cannot be dialled."""
    if not e164:
        raise _refused(f"{side}_PARTICIPANT_NUMBER_NULL_ERROR")
    try:
        number = national(e164) if e164.startswith(INDIA_PREFIX) else ""
    except NumberParseException:
        number = ""
    if not NATIONAL_NUMBER.fullmatch(number):
        raise _refused(f"{side}_PARTICIPANT_NUMBER_REGEX_ERROR")
    return number


def _refused(code, http_status=None, raw=None):
    message, retryable = ERROR_CODES[code]
    return ProviderError(code, message, retryable, http_status=http_status, raw=raw)


def _answer_error(status, data):
    """A 4xx with an errorCode is a refusal; a 5xx or a bare status leaves the outcome unknown."""
    code = data.get("errorCode") if isinstance(data, dict) else None
    if status >= 500 or not code:
        known = ERROR_CODES.get(code, (f"Airtel answered HTTP {status}; the call may or may not have started",))
        return ProviderError("bad_status", known[0], http_status=status, raw=str(data)[:500])
    if code in ERROR_CODES:
        return _refused(code, http_status=status, raw=data)
    return ProviderError(code, str(data.get("errorMessage") or code), http_status=status, raw=data)


# --- callbacks ---------------------------------------------------------------------------------------------

def parse_callback(kind, payload):
    """kind "events": one real-time event (informational); kind "cdr": the call's final record."""
    if not isinstance(payload, dict):
        raise CallbackInvalid("Airtel callbacks are JSON objects")
    reference = str(payload.get("clientCorrelationId") or "")
    if not reference:
        raise CallbackInvalid("no clientCorrelationId: the callback cannot be tied to a call")
    if kind == "events":
        return [_event_update(reference, payload)]
    if kind == "cdr":
        return [_cdr_update(reference, payload)]
    raise CallbackInvalid(f"unknown Airtel callback kind {kind!r}")


def _event_update(reference, event):
    # The CDR settles the call; events only tell its progress, so none of them moves the state.
    meta = event.get("metaData") if isinstance(event.get("metaData"), dict) else {}
    details = {"leg": _leg(event.get("participantName"))}
    details.update(_renamed(event, EVENT_FIELDS))
    details.update(_renamed(meta, EVENT_META_FIELDS))
    name = str(event.get("event") or event.get("requestMessageType") or "")
    return StatusUpdate(reference, None, provider_status=name, kind="events", details=details)


def _leg(name):
    # An unknown name stays "": the handler can still match participant_address against the send.
    return LEG_NAMES.get(str(name or "").strip().lower(), "")


def _renamed(source, names):
    return {new: source[old] for old, new in names.items() if source.get(old) not in (None, "")}


def _cdr_update(reference, cdr):
    status = str(cdr.get("overallCallStatus") or "")
    if not status:
        raise CallbackInvalid("CDR without overallCallStatus")
    millis = {field: _millis(cdr, field) for field in CDR_DURATIONS}
    if millis["billableDuration"] is None:
        millis["billableDuration"] = _billable(cdr, millis)
    details = {key: round(millis[field] / 1000, 3) for field, key in CDR_DURATIONS.items()
               if millis[field] is not None}
    details.update({key: _iso(cdr.get(field)) for field, key in CDR_TIMES.items() if cdr.get(field)})
    details.update(_renamed(cdr, {
        "vmSessionId": "vm_session_id", "hangupCause": "hangup_cause", "recordingURL": "recording_url",
        "callerNumberStatus": "agent_status", "destinationNumberStatus": "customer_status",
        "participants": "participants",
    }))
    if status == ANSWERED:
        return StatusUpdate(reference, "delivered", provider_status=status, kind="cdr", details=details)
    hangup = str(cdr.get("hangupCause") or "")
    return StatusUpdate(reference, "failed", provider_status=status, error_code=hangup or status,
                        error_text=_failure_text(cdr, status, hangup), kind="cdr", details=details)


def _millis(cdr, field):
    value = cdr.get(field)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise CallbackInvalid(f"CDR {field} is not a number of milliseconds: {value!r}") from exc


def _billable(cdr, millis):
    """CDR document: inbound bills the conversation; outbound bills waiting time plus twice the conversation
    (both legs are Airtel calls)."""
    waiting, talk = millis["fromWaitingTime"], millis["conversationDuration"]
    if talk is None:
        return None
    if str(cdr.get("callType") or "OUTBOUND").upper() == "INBOUND":
        return talk
    return (waiting or 0) + 2 * talk


def _iso(epoch_ms):
    try:
        return datetime.fromtimestamp(float(epoch_ms) / 1000, UTC).isoformat()
    except (TypeError, ValueError, OverflowError) as exc:
        raise CallbackInvalid(f"CDR time is not epoch milliseconds: {epoch_ms!r}") from exc


def _failure_text(cdr, status, hangup):
    """Which party ended the attempt and how, e.g. "The customer was busy (USER_BUSY)"."""
    agent_status = str(cdr.get("callerNumberStatus") or "")
    customer_status = str(cdr.get("destinationNumberStatus") or "")
    if agent_status and agent_status != ANSWERED:
        party, party_status = "agent", agent_status
    elif customer_status:
        party, party_status = "customer", customer_status
    else:
        party, party_status = "call", status
    text = f"The {party} {PARTY_STATUS_TEXT.get(party_status, f'ended as {party_status}')}"
    return f"{text} ({hangup})" if hangup else text
