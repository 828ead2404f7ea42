"""OCA Telkom call gateway v1 (spec oca-call-gateway, reconstructed in provider-facts.md section 4).

Robot calls: an IVR designed in the OCA dashboard is played to a destination from one of the account's caller
ids, with `variable` values (names, audio URLs from upload-audio) filling its {{placeholders}}. Basic auth on
every request; JSON answers; errors are `{"errors": [{"message": ..., "code": N}]}` with an HTTP status.

OCA sends no callbacks: a call's progress and outcome are read by polling GET /call-status/{call_id}, e.g.

    {"from_number": "02180602000", "to_number": "081234560000", "ivr_id": "...", "call_id": "...",
     "call_start": "2024-07-31T18:01:06.000Z", "call_answer": "2024-07-31T18:01:26.000Z",
     "call_end": "2024-07-31T18:01:32.000Z", "duration": 26, "talk_duration": 6, "tta": 20,
     "hangup_cause": "NORMAL_CLEARING", "status": "answered",
     "result": [{"question": "...", "type": "multiple_choice", "answer": [{"key": "1", "title": "Puas", "total": 1}]}]}
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime

from webapp.phones import digits, local_zero
from webapp.providers.base import (
    BaseClient,
    CallbackInvalid,
    CheckResult,
    ProviderError,
    StatusUpdate,
    basic_auth_header,
    dumps,
)

# Multipart upload of one MP3 (field "audio").
UPLOAD_AUDIO_PATH = "upload-audio"
# GUESS: the "Get List audio file" page's path was not captured; named like ivr-list.
AUDIO_LIST_PATH = "audio-list"
# Deletes one uploaded audio by its id.
DELETE_AUDIO_PATH = "delete-audio/{audio_id}"
# GUESS: the "Numbers Collection" (caller ids) path was not captured (provider-facts.md).
NUMBERS_PATH = "numbers"
# The account's IVRs with the variables each one requires.
IVR_LIST_PATH = "ivr-list"
# Places one call.
CALL_PATH = "call"
# A call's progress and outcome (polled: OCA has no callbacks).
CALL_STATUS_PATH = "call-status/{call_id}"
# The only upload format OCA accepts.
AUDIO_CONTENT_TYPE = "audio/mpeg"
# Indonesian numbers are written 0812... in every OCA example; other countries go as bare digits.
INDONESIA_PREFIX = "+62"

# Documented code -> (message for an operator, retryable). retryable=True only where OCA certainly did not
# accept the request AND a later re-send can succeed unchanged: the two "slow down" answers.
ERROR_CODES = {
    "9": ("OCA is rate limiting requests (25 per second); slowing down", True),
    # Corresponds to HTTP 500: raised as "bad_status" (a call may have started; the send becomes unknown).
    "13": ("OCA had an internal error; the call may or may not have been placed", False),
    "17": ("OCA refused the username or password (OCA_USERNAME / OCA_PASSWORD)", False),
    "19": ("OCA did not receive the Authorization header", False),
    "33": ("OCA has no such item (IVR, audio or call id)", False),
    "39": ("OCA refused the request's parameters", False),
    "41": ("OCA does not know this user (account settings missing)", False),
    "51": ("The OCA account has expired", False),
    "55": ("The OCA account's quota has run out", False),
    "57": ("OCA's concurrent call limit is reached; waiting for calls to end", True),
}
# Codes that refuse the account, not one call (credentials, user settings, expiry, quota; 5, 43 and 45 from V2):
# the safety brake pauses the campaign on the first one.
ACCOUNT_CODES = frozenset({"5", "17", "19", "41", "43", "45", "51", "55", "unauthorized"})
# Codes meaning "slow down, nothing was accepted": the dispatcher re-queues the send and cools down.
THROTTLE_CODES = frozenset({"57", "9"})
# Bare HTTP statuses (no JSON error body) that still prove the request was refused.
HTTP_STATUS_CODES = {
    401: ("unauthorized", "OCA refused the request (HTTP 401)", False),
    404: ("not_found", "OCA has no such item (HTTP 404)", False),
    406: ("not_acceptable", "OCA refused the request's format (HTTP 406)", False),
    429: ("9", ERROR_CODES["9"][0], True),
}

# call-status `status` -> send state. Documented as "submitted, success, failed"; the sample shows "answered".
CALL_STATES = {
    "submitted": "submitted",
    "ringing": "submitted",
    "answered": "delivered",
    "success": "delivered",
    "failed": "failed",
    "no-answer": "failed",
    "busy": "failed",
}
FINAL_STATES = frozenset({"delivered", "failed"})


@dataclass
class Audio:
    id: str
    filename: str  # OCA's stored file name (the last segment of url)
    name: str  # the name it was uploaded with
    url: str  # where OCA plays it from: the value to pass in a call's variables


@dataclass
class Ivr:
    ivr_id: str
    ivr_name: str
    required_variable: list = field(default_factory=list)  # keys a call must give in `variable`
    created_at: datetime | None = None  # naive UTC


@dataclass
class CallResult:
    call_id: str


@dataclass
class CallStatus:
    call_id: str
    status: str
    from_number: str = ""
    to_number: str = ""
    ivr_id: str = ""
    call_start: datetime | None = None  # naive UTC: ringing started
    call_answer: datetime | None = None  # picked up
    call_end: datetime | None = None
    duration: int | None = None  # seconds from dialling to the end
    talk_duration: int | None = None  # seconds from pickup to hang-up: what OCA bills
    tta: int | None = None  # seconds to answer
    hangup_cause: str = ""
    result: list = field(default_factory=list)  # IVR answers: [{question, type, answer}]

    @property
    def state(self):
        return CALL_STATES.get(_status_key(self.status))

    @property
    def is_final(self):
        return self.state in FINAL_STATES

    def to_update(self):
        details = {name: getattr(self, name) for name in ("duration", "talk_duration", "tta")
                   if getattr(self, name) is not None}
        details.update({name: getattr(self, name).isoformat() for name in ("call_start", "call_answer", "call_end")
                        if getattr(self, name) is not None})
        if self.hangup_cause:
            details["hangup_cause"] = self.hangup_cause
        if self.result:
            details["result"] = self.result
        update = StatusUpdate(self.call_id, self.state, provider_status=self.status, kind="call_status",
                              details=details)
        if self.state == "failed":
            update.error_code = self.hangup_cause or self.status
            update.error_text = self.hangup_cause or self.status
        return update


class Client(BaseClient):
    name = "oca"

    def __init__(self, base_url, username, password, **kwargs):
        super().__init__(base_url, secrets=(username, password), basic_pairs=((username, password),), **kwargs)
        self.auth_header = basic_auth_header(username, password)

    @classmethod
    def from_config(cls, config, log_sink=None, session=None):
        username, password = config.get("OCA_USERNAME"), config.get("OCA_PASSWORD")
        if not username or not password:
            raise ProviderError("config", "oca: OCA_USERNAME and OCA_PASSWORD are required")
        return cls(config.get("OCA_BASE_URL"), username, password, log_sink=log_sink, session=session)

    def upload_audio(self, filename, data_bytes):
        """Store one MP3 in OCA's cloud; its url is what an IVR's Play External Audio plays."""
        files = {"audio": (filename, data_bytes, AUDIO_CONTENT_TYPE)}
        return _audio(self._json("upload_audio", "POST", UPLOAD_AUDIO_PATH, files=files, want=dict))

    def list_audio(self):
        # GUESS: an array of the objects upload-audio answers (the response was not captured).
        return [_audio(item) for item in self._json("list_audio", "GET", AUDIO_LIST_PATH, want=list)]

    def delete_audio(self, audio_id):
        """True once OCA confirmed; the body was not captured, so any 2xx counts unless it says success false."""
        response = self._send("delete_audio", "DELETE", DELETE_AUDIO_PATH.format(audio_id=audio_id))
        data = _json_or_none(response)
        return not (isinstance(data, dict) and data.get("success") is False)

    def numbers(self):
        """Caller ids the account may call from, as strings (entries may be strings or {"number": ...})."""
        items = self._json("numbers", "GET", NUMBERS_PATH, want=list)
        return [number for number in map(_number, items) if number]

    def ivr_list(self):
        return [_ivr(item) for item in self._json("ivr_list", "GET", IVR_LIST_PATH, want=list)]

    def call(self, from_number, to_e164, ivr_id, variables=None):
        """Place one IVR call; the outcome is polled with call_status()."""
        body = {"from_number": from_number, "to_number": oca_number(to_e164), "ivr_id": ivr_id,
                "variable": dict(variables or {})}
        data = self._json("call", "POST", CALL_PATH, data=dumps(body).encode(),
                          headers={"Content-Type": "application/json"}, want=dict)
        # The docs' sample answers {"success": true, "to_number": "<id>"}: a typo for call_id, accepted too.
        call_id = data.get("call_id") or data.get("to_number")
        if data.get("success") is not True or not call_id:
            raise ProviderError("unparseable", "OCA answered the call request without success and a call_id",
                                http_status=200, raw=str(data)[:500])
        return CallResult(str(call_id))

    def call_status(self, call_id):
        data = self._json("call_status", "GET", CALL_STATUS_PATH.format(call_id=call_id), want=dict)
        return parse_call_status(data, call_id)

    def check(self):
        """Test connection: the caller ids and IVR lists need valid credentials and change nothing."""
        try:
            numbers, ivrs = self.numbers(), self.ivr_list()
        except ProviderError as exc:
            return CheckResult(False, exc.message, {"code": exc.code, "http_status": exc.http_status})
        return CheckResult(True, f"{len(numbers)} caller numbers, {len(ivrs)} IVRs",
                           {"numbers": len(numbers), "ivrs": len(ivrs)})

    def _send(self, operation, method, path, **kwargs):
        headers = {"Authorization": self.auth_header, "Accept": "application/json", **kwargs.pop("headers", {})}
        response = self.request(operation, method, path, headers=headers, **kwargs)
        if not 200 <= response.status_code < 300:
            raise error_from(response.status_code, _json_or_none(response), response.text)
        return response

    def _json(self, operation, method, path, want, **kwargs):
        response = self._send(operation, method, path, **kwargs)
        data = self.json_body(response)
        if isinstance(data, dict) and data.get("errors"):
            raise error_from(response.status_code, data, response.text)
        if not isinstance(data, want):
            raise ProviderError("unparseable", f"OCA answered {operation} with a {type(data).__name__}, "
                                               f"not a {want.__name__}", http_status=response.status_code,
                                raw=response.text[:500])
        return data


def oca_number(e164):
    """0812... for Indonesian numbers (as OCA's examples write them); other countries as bare digits."""
    return local_zero(e164) if e164.startswith(INDONESIA_PREFIX) else digits(e164)


def error_from(status, data, text=""):
    """The ProviderError for an OCA error answer: its documented code, or the bare HTTP status."""
    first = _first_error(data)
    code = "" if first.get("code") is None else str(first["code"])
    detail = str(first.get("message") or "")
    raw = data if first else text[:500]
    if status >= 500:
        # A 5xx may come after the call was placed: never a refusal, always outcome unknown.
        message = ERROR_CODES.get(code, (detail or f"OCA answered HTTP {status}; the outcome is unknown",))[0]
        return ProviderError("bad_status", message, http_status=status, raw=raw)
    if code:
        message, retryable = ERROR_CODES.get(code, (detail or f"OCA error {code}", False))
        # Code 39's own message names the offending parameters: keep it next to ours.
        if code == "39" and detail:
            message = f"{message}: {detail}"
        return ProviderError(code, message, retryable, http_status=status, raw=raw)
    bare, message, retryable = HTTP_STATUS_CODES.get(status, ("bad_status", f"OCA answered HTTP {status}", False))
    return ProviderError(bare, message, retryable, http_status=status, raw=raw)


def _first_error(data):
    errors = data.get("errors") if isinstance(data, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    return first if isinstance(first, dict) else {}


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _status_key(status):
    return str(status or "").strip().lower().replace("_", "-").replace(" ", "-")


def _parse_time(value):
    """ISO 8601 (OCA writes ...T18:01:06.000Z) -> naive UTC. An unreadable date becomes None rather than an
    error: the call's status matters more than a timestamp, and polling must not fail on one bad field."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _number(item):
    value = item.get("number") if isinstance(item, dict) else item
    return str(value) if value else ""


def _audio(item):
    if not isinstance(item, dict) or not item.get("id"):
        raise ProviderError("unparseable", "OCA audio entry without an id", raw=str(item)[:500])
    return Audio(str(item["id"]), str(item.get("filename") or ""), str(item.get("name") or ""),
                 str(item.get("url") or ""))


def _ivr(item):
    if not isinstance(item, dict) or not item.get("ivr_id"):
        raise ProviderError("unparseable", "OCA IVR entry without an ivr_id", raw=str(item)[:500])
    variables = item.get("required_variable")
    return Ivr(str(item["ivr_id"]), str(item.get("ivr_name") or ""),
               [str(v) for v in variables] if isinstance(variables, list) else [],
               _parse_time(item.get("created_at")))


def parse_call_status(data, call_id=""):
    """One call-status answer; call_id is the id asked for, used when the body does not repeat it."""
    result = data.get("result")
    return CallStatus(
        call_id=str(data.get("call_id") or call_id), status=str(data.get("status") or ""),
        from_number=str(data.get("from_number") or ""), to_number=str(data.get("to_number") or ""),
        ivr_id=str(data.get("ivr_id") or ""),
        call_start=_parse_time(data.get("call_start")), call_answer=_parse_time(data.get("call_answer")),
        call_end=_parse_time(data.get("call_end")),
        duration=_int(data.get("duration")), talk_duration=_int(data.get("talk_duration")),
        tta=_int(data.get("tta")), hangup_cause=str(data.get("hangup_cause") or ""),
        result=[_result_item(item) for item in result if isinstance(item, dict)] if isinstance(result, list) else [],
    )


def _result_item(item):
    # answer is recording URLs (record_speach, sic), [{key,title,total}] (multiple_choice) or digit strings.
    answer = item.get("answer")
    return {"question": str(item.get("question") or ""), "type": str(item.get("type") or ""),
            "answer": answer if isinstance(answer, list) else ([] if answer is None else [answer])}


def parse_callback(kind, payload):
    raise CallbackInvalid("OCA has no callbacks; call status is polled")
