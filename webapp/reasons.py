"""Human words for every documented provider code, with the raw code kept beside them.

A provider's own words ("50 Failed", "52 No Charge", "USER_BUSY") say little to an operator; this module
turns a (provider, code, text) into a Reason whose words fit the channel: calls are answered, busy or not
answered, messages are delivered or undeliverable. The raw code is never dropped: str(reason) is
"Balance ran out (50)", and exports keep the code in its own column.

Each reason has a category the rest of the app reads:
    ok        the send reached the person (delivered, answered)
    pending   nothing final yet
    callee    the person did not pick up (busy, no answer, declined): worth calling again later
    number    this number cannot be reached as written (invalid, unknown, switched off)
    content   the message or request itself was refused (text, parameters)
    account   the provider refuses the account (balance, expiry, credentials, sender id, IP): every other send
              of the campaign will fail the same way (the safety brake pauses on these, webapp.dispatch.brake)
    transient the provider or the network had a passing problem
    unknown   no documented meaning
"""
from dataclasses import dataclass

CALL_KINDS = ("ivr.", "c2c.", "otp.miscall")


@dataclass(frozen=True)
class Reason:
    words: str
    code: str = ""
    category: str = "unknown"

    def __str__(self):
        return f"{self.words} ({self.code})" if self.code and self.code != self.words else self.words

    def __html__(self):
        from markupsafe import escape

        return str(escape(str(self)))


def _table(category, entries):
    return {code: (words, category) for code, words in entries.items()}


# --- our own codes for failures that carry no provider code (webapp.providers.base, dispatch) ---------------
GENERIC = {
    **_table("transient", {
        "connection_failed": "Could not connect to the provider; nothing was sent",
        "timeout": "The provider did not answer in time; it may or may not have sent it",
        "bad_status": "The provider had an error; it may or may not have sent it",
        "unparseable": "The provider's answer could not be read; it may or may not have sent it",
    }),
    **_table("account", {"config": "The provider is not configured (missing settings)"}),
    **_table("content", {"invalid_request": "The request was refused before sending (invalid value)"}),
    "skipped": ("Not sent: the number opted out after launch", "number"),
}

# --- SMS masking (sms-masking-http-api.txt): send answers and report.php / DLR codes -------------------------
MASKING = {
    "invalid_msisdn": ("Invalid number (the provider refused it)", "number"),
    "auth_failed": ("Wrong masking username or password", "account"),
    "rejected": ("The provider refused the message", "content"),
    "22": ("Delivered", "ok"),
    "20": ("Pending: the phone has been switched off or out of reach for a while", "pending"),
    "50": ("Balance ran out", "account"),
    "51": ("Balance validity period expired", "account"),
    "52": ("Wrong number format; not charged", "number"),
}
# Words report.php writes after code 50 (the spec lists three meanings under it).
MASKING_50_DETAILS = {
    "saldo habis": MASKING["50"],
    "periode habis": MASKING["51"],
    "expiration": MASKING["51"],
    "no charge": MASKING["52"],
}

# --- CitCALL (citcall-api-v3.3.txt appendix 5.1) --------------------------------------------------------------
CITCALL = {
    "00": ("Accepted", "ok"),
    "06": ("CitCALL reported an unknown error", "transient"),
    "07": ("Invalid gateway number", "content"),
    "14": ("CitCALL balance ran out", "account"),
    "34": ("CitCALL temporarily unavailable", "transient"),
    "42": ("Invalid number", "number"),
    "43": ("Message text refused", "content"),
    "44": ("Sender id not registered (or closed) at CitCALL", "account"),
    "66": ("CitCALL maintenance in progress", "transient"),
    "76": ("Wrong CitCALL password", "account"),
    "77": ("CitCALL user id not found", "account"),
    "78": ("OTP transaction not found", "content"),
    "79": ("Wrong code typed", "content"),
    "80": ("Code expired", "content"),
    "81": ("Too many wrong codes", "content"),
    "88": ("A required parameter was missing", "content"),
    "96": ("CitCALL API key not found or not active", "account"),
    "97": ("Request was not valid JSON", "content"),
    "98": ("CitCALL refused the authorization (API key or IP not allowed)", "account"),
    "99": ("Wrong HTTP method", "content"),
}
# CitCALL SMS callback `result` values (not published; provider-facts GUESS Success / Failed).
CITCALL_RESULTS = {
    "success": ("Delivered", "ok"), "delivered": ("Delivered", "ok"),
    "failed": ("Undeliverable", "number"), "undelivered": ("Undeliverable", "number"),
}

# --- SIP codes of a (mis)call (citcall-api-v3.3.txt appendix 5.2), words for a call ---------------------------
SIP = {
    **_table("pending", {"100": "Dialling", "181": "Call forwarded", "182": "Queued at the network"}),
    **_table("ok", {
        "180": "Rang the phone", "183": "Rang the phone (session in progress)", "199": "Rang the phone",
        "200": "Answered", "201": "Answered", "204": "Answered",
    }),
    **_table("number", {
        "300": "Number redirected (several choices)", "301": "Number moved permanently",
        "302": "Number moved temporarily", "305": "Number needs a proxy",
        "404": "Number does not exist", "410": "Number no longer in service", "484": "Number incomplete",
        "485": "Number ambiguous", "604": "Number does not exist anywhere",
        "416": "Number not dialable (unsupported address)", "480": "Phone switched off or out of reach",
        "482": "Call loop detected", "483": "Too many network hops",
    }),
    **_table("callee", {
        "486": "Busy", "600": "Busy", "603": "Declined by the callee", "487": "No answer (call ended before pickup)",
        "408": "No answer (timed out)",
    }),
    **_table("account", {
        "401": "Call refused: not authorized", "402": "Call refused: payment required",
        "403": "Call refused by the network (forbidden)", "407": "Call refused: proxy authentication required",
    }),
    **_table("content", {
        "400": "Call request malformed", "405": "Call method not allowed", "406": "Call not acceptable",
        "409": "Call conflict", "411": "Call request incomplete (length)", "412": "Call condition failed",
        "413": "Call request too large", "414": "Call address too long", "415": "Call media not supported",
        "417": "Unknown priority", "420": "Unsupported call extension", "421": "Call extension required",
        "422": "Call session interval too small", "423": "Call interval too brief", "428": "Caller identity missing",
        "429": "Caller referrer identity missing", "430": "Call flow failed", "433": "Anonymous calls not allowed",
        "436": "Bad caller identity", "437": "Caller certificate not supported",
        "438": "Invalid caller identity header", "439": "Outbound support missing at the first hop",
        "470": "Callee consent needed", "481": "Call does not exist", "488": "Call not acceptable here",
        "489": "Bad call event", "491": "Call request pending", "493": "Call could not be decrypted",
        "494": "Security agreement required", "606": "Call not acceptable", "513": "Call message too large",
        "580": "Call precondition failed",
    }),
    **_table("transient", {
        "500": "Network error", "501": "Network does not support the call", "502": "Bad gateway",
        "503": "Network unavailable", "504": "Network timed out", "505": "Network version not supported",
    }),
}

# --- Hang-up causes (Q.850 names, as OCA's call-status and Airtel's CDR write them) --------------------------
HANGUP = {
    **_table("ok", {"NORMAL_CLEARING": "Answered, then hung up normally"}),
    **_table("callee", {
        "USER_BUSY": "Busy", "NO_ANSWER": "No answer", "NO_USER_RESPONSE": "No answer (phone did not respond)",
        "CALL_REJECTED": "Declined by the callee", "ORIGINATOR_CANCEL": "Cancelled before the callee answered",
        "ALLOTTED_TIMEOUT": "No answer (time limit reached)",
    }),
    **_table("number", {
        "UNALLOCATED_NUMBER": "Number does not exist", "NO_ROUTE_DESTINATION": "Number cannot be reached",
        "NUMBER_CHANGED": "Number changed", "INVALID_NUMBER_FORMAT": "Invalid number format",
        "SUBSCRIBER_ABSENT": "Phone switched off or out of reach", "DESTINATION_OUT_OF_ORDER": "Phone out of order",
        "USER_NOT_REGISTERED": "Phone not registered on the network",
    }),
    **_table("transient", {
        "NORMAL_TEMPORARY_FAILURE": "Temporary network failure", "NETWORK_OUT_OF_ORDER": "Network out of order",
        "RECOVERY_ON_TIMER_EXPIRE": "Network timed out", "SWITCH_CONGESTION": "Network congested",
        "NORMAL_CIRCUIT_CONGESTION": "Network congested", "NORMAL_UNSPECIFIED": "Call ended (no reason given)",
    }),
    **_table("account", {
        "OUTGOING_CALL_BARRED": "Outgoing calls barred on the account",
        "BEARERCAPABILITY_NOTAUTH": "Call not authorized for the account",
    }),
}
# Q.850 cause numbers (Airtel events' metaData.causeCode) -> the name above.
Q850 = {
    "1": "UNALLOCATED_NUMBER", "3": "NO_ROUTE_DESTINATION", "16": "NORMAL_CLEARING", "17": "USER_BUSY",
    "18": "NO_USER_RESPONSE", "19": "NO_ANSWER", "20": "SUBSCRIBER_ABSENT", "21": "CALL_REJECTED",
    "22": "NUMBER_CHANGED", "27": "DESTINATION_OUT_OF_ORDER", "28": "INVALID_NUMBER_FORMAT",
    "31": "NORMAL_UNSPECIFIED", "34": "NORMAL_CIRCUIT_CONGESTION", "38": "NETWORK_OUT_OF_ORDER",
    "41": "NORMAL_TEMPORARY_FAILURE", "42": "SWITCH_CONGESTION", "52": "OUTGOING_CALL_BARRED",
    "57": "BEARERCAPABILITY_NOTAUTH", "102": "RECOVERY_ON_TIMER_EXPIRE",
}

# --- OCA (oca-call-gateway.txt error codes, V2 additions from provider-facts.md) and call statuses -------------
OCA = {
    "5": ("OCA balance is low", "account"),
    "9": ("OCA asked to slow down (rate limit)", "transient"),
    "13": ("OCA internal error; the call may or may not have been placed", "transient"),
    "17": ("Wrong OCA username or password", "account"),
    "19": ("OCA credentials missing (no Authorization header)", "account"),
    "33": ("OCA has no such IVR, audio or call", "content"),
    "39": ("OCA refused the call's parameters", "content"),
    "41": ("OCA user settings missing", "account"),
    "43": ("OCA auth token missing", "account"),
    "45": ("OCA auth token not valid", "account"),
    "51": ("OCA account expired", "account"),
    "55": ("OCA quota ran out", "account"),
    "57": ("Too many calls at once; waiting for calls to end", "transient"),
    "unauthorized": ("OCA refused the credentials (HTTP 401)", "account"),
    "not_found": ("OCA has no such item (HTTP 404)", "content"),
    "not_acceptable": ("OCA refused the request format (HTTP 406)", "content"),
    # call-status `status` values
    "submitted": ("Calling", "pending"), "ringing": ("Ringing", "pending"),
    "answered": ("Answered", "ok"), "success": ("Answered", "ok"),
    "failed": ("The call did not go through (no reason given)", "unknown"),
    "no-answer": ("No answer", "callee"), "busy": ("Busy", "callee"),
}

# --- Airtel CCP (airtel-ccp-click-to-call.txt section 2) and CDR statuses -----------------------------------
AIRTEL = {
    **_table("account", {
        "INCORRECT_CALL_FLOW_ID": "Airtel does not know the call flow id (settings)",
        "CUSTOMER_DETAILS_NOT_AVAILABLE": "Airtel has no account details for the customer id",
        "INCORRECT_CUSTOMER_ID": "Airtel does not know the customer id (settings)",
        "INVALID_CALLER_ID": "Caller id not registered at Airtel",
        "CALLER_ID_REGEX_ERROR": "Caller id is not a valid 10-digit number (settings)",
        "UNABLE_TO_CREATE_SECRET_KEY": "Airtel could not create the call's secret key",
        "CUSTOMER_ID_NULL_ERROR": "Airtel customer id not configured",
        "CALL_FLOW_ID_NULL_ERROR": "Airtel call flow id not configured",
        "CALLER_ID_NULL_ERROR": "Airtel caller id not configured",
        "unauthorized": "Wrong Airtel username or password",
    }),
    **_table("content", {
        "DUPLICATE_PARTICIPANT_ADDRESS_FOUND": "Agent and customer have the same number",
        "CLICK_TO_CALL_REQUEST_NULL_ERROR": "Empty call request",
        "FROM_BODY_NULL_ERROR": "No agent given", "TO_BODY_NULL_ERROR": "No customer given",
        "ROUNDROBIN_AGENT_ID_MISSING": "Round-robin needs an agent pool id",
        "ROUNDROBIN_PARTICIPANT_DATA_NOT_ALLOWED": "Round-robin takes a pool id, not numbers",
        "FROM_NUMBER_NULL_ERROR": "No agent number given", "FROM_PARTICIPANT_NUMBER_NULL_ERROR": "Agent has no number",
        "FROM_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Too many retries for the agent (max 3)",
        "TO_NUMBER_NULL_ERROR": "No customer number given",
        "TO_PARTICIPANT_MAX_RETRIES_GREATER_THAN_REQUIRED_VALUE": "Too many retries for the customer (max 3)",
        "CONFERENCE_MERGING_STRATEGY_NOT_ALLOWED_FOT_TO_NUMBER": "Conference merge not allowed for the customer",
    }),
    **_table("number", {
        "FROM_PARTICIPANT_NUMBER_REGEX_ERROR": "Agent number is not a valid 10-digit Indian number",
        "TO_PARTICIPANT_NUMBER_NULL_ERROR": "Customer has no number",
        "TO_PARTICIPANT_NUMBER_REGEX_ERROR": "Customer number is not a valid 10-digit Indian number",
        "NotReachable": "Not reachable", "NetworkError": "Not reachable (network error)",
    }),
    **_table("transient", {"AIRTEL_ONLINE_UNCAUGHT_ERROR": "Airtel internal error; the call may have started"}),
    **_table("ok", {"Answered": "Answered"}),
    **_table("callee", {"Busy": "Busy", "Noanswer": "No answer", "Missed": "No answer"}),
}

TABLES = {"masking": MASKING, "citcall": CITCALL, "oca": OCA, "airtel": AIRTEL}


def is_call(kind):
    return bool(kind) and str(kind).startswith(CALL_KINDS)


def reason_for(provider, code, text="", kind=""):
    """The Reason for one provider answer; ``text`` is the provider's own words (used where a code has
    several meanings, and as the words when the code is undocumented)."""
    code = str(code or "").strip()
    text = str(text or "").strip()
    found = _lookup(provider, code, text, kind)
    if found is not None:
        words, category = found
        return Reason(words, code, category)
    if text and text != code:
        return Reason(text, code, "unknown")
    return Reason(f"Undocumented {provider} code" if code else "No reason given", code, "unknown")


def _lookup(provider, code, text, kind):
    if not code:
        return _by_text(provider, text)
    if provider == "masking" and code == "50":
        lowered = text.lower()
        return next((found for words, found in MASKING_50_DETAILS.items() if words in lowered), MASKING["50"])
    if provider == "citcall":
        if is_call(kind) and code in SIP:
            return SIP[code]
        rc = code.zfill(2) if code.isdigit() and len(code) <= 2 else code
        if rc in CITCALL:
            return CITCALL[rc]
        if code in SIP:
            return SIP[code]
    table = TABLES.get(provider, {})
    for candidate in (code, code.lower(), code.upper()):
        if candidate in table:
            return table[candidate]
        if candidate in HANGUP:
            return HANGUP[candidate]
    if provider == "airtel" and code in Q850:
        return HANGUP[Q850[code]]
    return GENERIC.get(code)


def _by_text(provider, text):
    """Failures reported without a code: CitCALL's SMS callback result, a hang-up cause in the text."""
    if not text:
        return None
    if provider == "citcall" and text.lower() in CITCALL_RESULTS:
        return CITCALL_RESULTS[text.lower()]
    return HANGUP.get(text.upper())


def send_reason(send):
    """The Reason a send failed (or None when it has no error)."""
    if not (send.error_code or send.error_text):
        return None
    return reason_for(send.provider, send.error_code, send.error_text, send.kind)


# State words per channel: a call is answered or not, a message delivered or not.
CALL_STATE_WORDS = {"delivered": "answered", "undeliverable": "not reachable", "submitted": "calling"}
CALLEE_WORDS = {"Busy": "busy", "Declined by the callee": "declined"}


def state_label(state, kind):
    """A count's label for a state in its channel's words (campaign progress: "answered: 12")."""
    if kind in ("ivr", "call") or is_call(kind):
        return {**CALL_STATE_WORDS, "failed": "not answered"}.get(state, state)
    return state


def state_word(send):
    """The badge text for a send's state in words fitting its channel."""
    if not is_call(send.kind):
        return send.state
    if send.state == "failed":
        reason = send_reason(send)
        if reason is not None and reason.category == "callee":
            return CALLEE_WORDS.get(reason.words, "no answer")
    return CALL_STATE_WORDS.get(send.state, send.state)
