"""Airtel CCP click-to-call (spec airtel-ccp-click-to-call): one JSON POST, Basic auth, then callbacks.

Airtel calls the agent first; when the agent answers, recording starts and the customer is called; the two
are bridged when the customer answers. Progress arrives as real-time events on the "ALL" callBackURL and
the call's outcome as a CDR on the "CDR" callBackURL after hang-up. CDR durations are milliseconds.

Each call's notifyURLs carry our own reference of the call (<base>/events/<ref>, <base>/cdr/<ref>), because
the spec's sample event carries no id at all; Airtel's correlationId, when a body has it, is the other key.
Sample callbacks as Airtel's sample code reads them (the spec's own event sample is the first, minus ids):

    spec:   {"eventType": "CALL", "participantAddress": "9876540000", "event": "Removed",
             "time": "2020-02-26T12:19:46.399+0000",
             "metaData": {"causeCode": "16", "sipCode": "699", "causeCodeDescription": "Normal call clearing"}}
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
# Where Airtel posts real-time events and the CDR (paths of webapp/callbacks): <base>/events/<call ref>.
CALLBACK_BASE = "{base}/callbacks/airtel/{token}"
# Participant numbers of the connection check: too short for Airtel's 10-digit rule, so no call can start.
CHECK_PARTICIPANTS = ("0000", "0001")
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
# Codes that refuse the account's configuration, not one call: every call would fail the same way.
ACCOUNT_CODES = frozenset({
    "INCORRECT_CALL_FLOW_ID", "CUSTOMER_DETAILS_NOT_AVAILABLE", "INCORRECT_CUSTOMER_ID", "INVALID_CALLER_ID",
    "CALLER_ID_REGEX_ERROR", "CUSTOMER_ID_NULL_ERROR", "CALL_FLOW_ID_NULL_ERROR", "CALLER_ID_NULL_ERROR",
    "unauthorized",
})


@dataclass
class CallResult:
    correlation_id: str  # Airtel's id of the call ("Xchange..."), "unique identifier of the call" (spec 2)
    status: str  # "success"


@dataclass(frozen=True)
class Fact:
    """One thing a connection check established (or could not), for the Providers page."""

    label: str  # e.g. "Credentials accepted"
    proved: bool | None  # True proved, False disproved, None not established by this check
    how: str  # what answer proved it, in words


class Client(BaseClient):
    name = "airtel"

    def __init__(self, base_url, username, password, customer_id, call_flow_id, caller_id, callback_base,
                 **kwargs):
        super().__init__(base_url, basic_pairs=((username, password),), **kwargs)
        self.auth_header = basic_auth_header(username, password)
        self.customer_id = customer_id
        self.call_flow_id = call_flow_id
        self.caller_id = caller_id
        self.callback_base = callback_base

    @classmethod
    def from_config(cls, config, log_sink=None, session=None):
        base = str(config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        token = config.get("CALLBACK_TOKEN") or ""
        username = config.get("AIRTEL_USERNAME") or ""
        password = config.get("AIRTEL_PASSWORD") or ""
        return cls(
            config.get("AIRTEL_BASE_URL"), username, password, config.get("AIRTEL_CUSTOMER_ID") or "",
            config.get("AIRTEL_CALL_FLOW_ID") or "", config.get("AIRTEL_CALLER_ID") or "",
            CALLBACK_BASE.format(base=base, token=token),
            # The callback token travels in the request body's notifyURLs: it is a secret too.
            secrets=(username, password, token), log_sink=log_sink, session=session,
        )

    def callback_url(self, kind, call_ref=None):
        """Where Airtel posts a call's events or CDR. With our reference in the path, a callback whose body
        carries no id at all (like the spec's sample event) still names its call."""
        return f"{self.callback_base}/{kind}/{call_ref}" if call_ref else f"{self.callback_base}/{kind}"

    def click_to_call(self, agent_e164, customer_e164, max_retries=1, call_ref=None):
        """Ring the agent, then the customer; returns once Airtel accepted the flow (callbacks follow)."""
        body = self.workflow_body(agent_e164, customer_e164, max_retries, call_ref)
        data = self._post("click_to_call", body)
        correlation_id = data.get("correlationId")
        # The spec's response table shows only {"correlationId": ...}; its sample adds "status": "success".
        if data.get("status", "success") != "success" or not correlation_id:
            raise ProviderError("unparseable", "Airtel answered 200 without success and a correlationId",
                                http_status=200, raw=str(data)[:500])
        return CallResult(str(correlation_id), str(data.get("status") or ""))

    def workflow_body(self, agent_e164, customer_e164, max_retries=1, call_ref=None):
        """The spec's sample body, validated first so Airtel's own refusals never cost a round trip.

        Raises ProviderError with Airtel's own code and message, so callers can check numbers up front.
        Only fields the spec defines are sent: nothing of ours is expected back but the callback URLs."""
        self._check_account()
        agent = _participant_number(agent_e164, "FROM")
        if max_retries > MAX_RETRIES:
            raise _refused("FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE")
        customer = _participant_number(customer_e164, "TO")
        if agent == customer:
            raise _refused("DUPLICATE_PARTICIPANT_ADDRESS_FOUND")
        callbacks = [_callback("CDR", self.callback_url("cdr", call_ref)),
                     _callback("ALL", self.callback_url("events", call_ref))]
        return self._body(agent, customer, max_retries, callbacks)

    def _body(self, agent, customer, max_retries, callbacks):
        initiate = {
            "callerId": self.caller_id,
            "mergingStrategy": "SEQUENTIAL",
            "participants": [self._participant(agent, AGENT_NAME, max_retries)],
            "maxTime": 0,
        }
        if callbacks:
            initiate["callBackURLs"] = callbacks
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
        """Test connection. Airtel has no harmless endpoint, so post a complete click-to-call body whose two
        participant numbers are too short for any network to dial: no call can result. Which refusal comes
        back tells what was proved: 401 the credentials are wrong; a participant-number error that Airtel read
        the whole request under accepted credentials; an account code which setting is wrong."""
        try:
            # Settings missing here would make an incomplete request: say so without sending one.
            self._check_account()
        except ProviderError as exc:
            return CheckResult(False, exc.message, {"code": exc.code, "facts": [
                Fact("Settings complete", False, exc.message), Fact("Reachable", None, "nothing was sent")]})
        body = self._body(*CHECK_PARTICIPANTS, 1, callbacks=None)
        try:
            self._post("check", body)
        except ProviderError as exc:
            return check_result(exc)
        return CheckResult(False, "Airtel accepted a call to undiallable test numbers; check AIRTEL_BASE_URL",
                           {"facts": [Fact("Reachable", True, "Airtel answered 200 success"),
                                      Fact("Refuses undiallable numbers", False,
                                           "a request with test numbers was accepted")]})

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


# Codes that name one of our settings: the request was read (so the credentials were accepted) and refused
# for that setting.
SETTING_CODES = {
    "INCORRECT_CALL_FLOW_ID": "Call flow ID", "CALL_FLOW_ID_NULL_ERROR": "Call flow ID",
    "INCORRECT_CUSTOMER_ID": "Customer ID", "CUSTOMER_ID_NULL_ERROR": "Customer ID",
    "CUSTOMER_DETAILS_NOT_AVAILABLE": "Customer ID",
    "INVALID_CALLER_ID": "Caller ID", "CALLER_ID_REGEX_ERROR": "Caller ID", "CALLER_ID_NULL_ERROR": "Caller ID",
}
# The refusals the check's test numbers are meant to draw.
TEST_NUMBER_CODES = {"FROM_PARTICIPANT_NUMBER_REGEX_ERROR", "TO_PARTICIPANT_NUMBER_REGEX_ERROR"}
# Transport failures: nothing answered at all.
UNREACHABLE_CODES = {"connection_failed", "timeout"}


def check_result(exc):
    """What the connection check's refusal proves, fact by fact."""
    http = f"HTTP {exc.http_status}" if exc.http_status else "no answer"
    if exc.code in UNREACHABLE_CODES or exc.http_status is None:
        facts = [Fact("Reachable", False, exc.message)]
        return CheckResult(False, exc.message, {"code": exc.code, "facts": facts})
    if exc.code == "unauthorized":
        facts = [Fact("Reachable", True, "Airtel answered 401 Unauthorized"),
                 Fact("Credentials accepted", False, "401: the username or password was refused")]
        return CheckResult(False, exc.message, {"code": exc.code, "http_status": 401, "facts": facts})
    if exc.http_status != 400:
        facts = [Fact("Reachable", True, f"the endpoint answered {http}, not in Airtel's 400/401 format"),
                 Fact("Credentials accepted", None, "not established by this answer")]
        return CheckResult(False, exc.message, {"code": exc.code, "http_status": exc.http_status, "facts": facts})
    reached = [Fact("Reachable", True, f"Airtel answered 400 {exc.code}"),
               Fact("Credentials accepted", True, "the answer was 400, not 401 Unauthorized")]
    details = {"code": exc.code, "http_status": 400}
    if exc.code in SETTING_CODES:
        setting = SETTING_CODES[exc.code]
        facts = [*reached, Fact(f"{setting} accepted", False, f"{exc.code}: {exc.message}")]
        return CheckResult(False, f"Credentials accepted, but {exc.message}", {**details, "facts": facts})
    if exc.code in TEST_NUMBER_CODES:
        facts = [*reached,
                 Fact("Request understood", True, f"{exc.code}: only the deliberately undiallable test numbers "
                                                  "were refused; no call was placed"),
                 Fact("Customer ID, call flow ID and caller ID accepted", None,
                      "Airtel did not object to them, but the spec does not say it checks them before the numbers")]
        return CheckResult(True, "Credentials accepted (a click-to-call to undiallable test numbers was refused "
                                 "as expected; no call was placed)", {**details, "facts": facts})
    facts = [*reached, Fact("Request understood", False, f"{exc.code}: {exc.message}")]
    return CheckResult(False, f"Credentials accepted, but Airtel refused the test request: {exc.message}",
                       {**details, "facts": facts})


def _callback(event_type, url):
    return {"eventType": event_type, "notifyURL": url, "method": "POST", "headers": {}}


# Why a number cannot be a participant, in words for a disabled call button.
NOT_DIALLABLE = "Airtel click-to-call dials only Indian 10-digit numbers (+91)"


def dialable(e164):
    """True for the numbers Airtel can ring as a participant: Indian numbers of 10 national digits."""
    try:
        _participant_number(e164, "TO")
    except ProviderError:
        return False
    return True


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
    """kind "events": one real-time event (informational); kind "cdr": the call's final record.

    A kind of "events/<ref>" or "cdr/<ref>" came to the call's own URL: details["call_ref"] names the call
    whatever the body says. The body's correlationId (or clientCorrelationId, as Airtel's sample code reads
    it) is the other way to find it; a callback with neither is not invalid, just not tied to a call yet."""
    if not isinstance(payload, dict):
        raise CallbackInvalid("Airtel callbacks are JSON objects")
    kind, _, call_ref = str(kind).partition("/")
    reference = str(payload.get("correlationId") or payload.get("clientCorrelationId") or "")
    if kind == "events":
        update = _event_update(reference, payload)
    elif kind == "cdr":
        update = _cdr_update(reference, payload)
    else:
        raise CallbackInvalid(f"unknown Airtel callback kind {kind!r}")
    if call_ref:
        update.details["call_ref"] = call_ref
    return [update]


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
        "callerNumber": "agent_number", "destinationNumber": "customer_number", "participants": "participants",
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
