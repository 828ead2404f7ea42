"""OCA Telkom call gateway v1 simulator, mounted at /oca/api/v1 (spec: shared/specs/oca-call-gateway.txt as
reconstructed in provider-facts.md section 4).

Every API path needs Basic auth: no Authorization header -> 406 code 19, wrong credentials -> 401 code 17.
Errors are `{"errors": [{"message": ..., "code": N}]}` with the documented HTTP status. More than
SANDBOX_OCA_RATE_LIMIT (default 25) authenticated requests in one second -> 429 code 9 with X-RateLimit
headers (the V2 limit; GUESS: V1 shares the gateway). state.should_fail() answers 500 code 13.

Paths: POST upload-audio (multipart "audio", real MP3 only: an ID3 tag or an MPEG frame sync, else 406 code 39;
its url is served here, unauthenticated, at GET audio/play/<filename>), GET audio-list (GUESS path),
DELETE delete-audio/<id> (unknown id -> 404 code 33), GET numbers (GUESS path; CALLER_IDS as objects),
GET ivr-list (IVRS), POST call, GET call-status/<call_id> (unknown id -> 404 code 33).

POST call refuses: a missing from_number/to_number/ivr_id, a from_number not in CALLER_IDS, or a missing
required variable (406 code 39, naming them); an unknown ivr_id (404 code 33); more than
SANDBOX_OCA_MAX_CONCURRENT (default 5) calls not yet ended (401 code 57). Accepted calls answer
{"success": true, "call_id": "<24 hex>"} and move one step per state.event_delay:
submitted -> ringing -> answered | failed.

TEST NUMBERS, by the last four digits of to_number (e.g. 081234560000):
    0000  answered, the callee presses 1 (any other suffix behaves the same)
    0002  answered, the callee presses 2
    0486  busy: failed with hangup_cause USER_BUSY (never rings)
    0480  no answer: rings, then failed with hangup_cause NO_ANSWER
    0500  stays "submitted" forever (and keeps counting against the concurrency limit)
    0017 / 0041 / 0051 / 0055  POST call refused with that account-level code (wrong credentials, user
          settings missing, account expired, quota ran out), as the safety brake's test numbers
    0999  answered like 0000, but POST call answers like the docs' sample, whose id sits in "to_number"
          (a docs typo for call_id): {"success": true, "to_number": "<24 hex>"}
Strict mode (state.strict): a multiple_choice answer lists every key of the menu with its total, 0 for the keys
not pressed (the keys of the IVR's menu, e.g. [{"key": "1", ..., "total": 1}, {"key": "2", ..., "total": 0}]).
call-status then speaks only the documented statuses (submitted, success, failed: a ringing call is still
"submitted", an answered one "success"), leaves out what a call does not have yet or the table does not list
(null dates, durations before the end, application_id), and, like the call answer,
carries one field the spec does not list.
Tests force any documented code on the next API request with `Simulator.fail_next(code)`, or the bare HTTP
status of that code without a JSON body with `fail_next(code, bare=True)`. `Simulator.active_count()` and
`Simulator.max_active_seen` report concurrent calls (now, and the most ever seen since reset()).
"""
import hmac
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from webapp.config import SANDBOX_CREDENTIALS
from webapp.providers.base import basic_auth_header
from webapp.sandbox.state import BaseSimulator

bp = Blueprint("oca", __name__)

# Documented code -> (HTTP status, message). 33 is not given a status in v1; V2 and the brief say 404.
ERRORS = {
    9: (429, "Too Many Request"),
    13: (500, "Internal Error"),
    17: (401, "Invalid Authentication Credentials"),
    19: (406, "Missing Authorization Header"),
    33: (404, "Setting Is Not Exist"),
    39: (406, "[object]"),
    41: (404, "User Is Not Exist"),
    51: (401, "Account Expired"),
    55: (401, "Your Quota Is not Enough"),
    57: (401, "Reached Maximum Concurrent Call Limit"),
}
DEFAULT_RATE_LIMIT = 25
DEFAULT_MAX_CONCURRENT = 5
# The account's caller ids (GUESS: the Numbers Collection body was not captured).
CALLER_IDS = ("02180602000", "02180602001", "02180602002")
# The account's application id, as call-status carries one.
APPLICATION_ID = "5f3e708875682700297d0001"
# to_number suffix whose POST call answer copies the docs sample's typo (the id under "to_number").
DOCS_TYPO_SUFFIX = "0999"
# to_number suffix -> account-level code POST call answers instead of calling.
ACCOUNT_SUFFIXES = {"0017": 17, "0041": 41, "0051": 51, "0055": 55}
# Call statuses after which a call no longer counts against the concurrency limit.
ENDED = frozenset({"answered", "failed"})


def _choice(key, title):
    return [{"key": key, "title": title, "total": 1}]


def _answer(kind, answers, keypress, every_key):
    """A question's answer. every_key (strict mode): a menu lists all its keys with their totals, 0 for the keys
    not pressed, as OCA's {key, title, total} items allow; by default only the pressed key is listed."""
    if kind == "multiple_choice" and every_key:
        return [{**answers[key][0], "total": int(key == keypress)} for key in answers]
    return answers[keypress]


@dataclass(frozen=True)
class Ivr:
    ivr_id: str
    ivr_name: str
    required_variable: tuple
    created_at: str
    # (question, type, {keypress: answer}) in the order the IVR asks them.
    questions: tuple

    def as_json(self):
        return {"ivr_id": self.ivr_id, "ivr_name": self.ivr_name, "required_variable": list(self.required_variable),
                "created_at": self.created_at, "deleted_at": None}


IVRS = {ivr.ivr_id: ivr for ivr in (
    Ivr("65e1a0c2f03d61fae4001201", "Promo Blast", ("name",), "2024-03-01T03:22:58.073Z", (
        ("Tekan 1 jika tertarik dengan promo, tekan 2 jika tidak", "multiple_choice",
         {"1": _choice("1", "Tertarik"), "2": _choice("2", "Tidak Tertarik")}),)),
    Ivr("65e1a0c2f03d61fae4001202", "Survey Kepuasan", ("name", "audio_1"), "2024-03-02T08:10:00.000Z", (
        ("Apakah Anda puas dengan layanan kami? Tekan 1 puas, tekan 2 tidak puas", "multiple_choice",
         {"1": _choice("1", "Puas"), "2": _choice("2", "Tidak Puas")}),
        ("Masukkan nilai layanan kami dari 1 sampai 5", "collect_number", {"1": ["5"], "2": ["2"]}))),
    Ivr("65e1a0c2f03d61fae4001203", "Pengingat Tagihan", (), "2024-03-03T01:00:00.000Z", (
        ("Tekan 1 jika sudah membayar, tekan 2 untuk dihubungi petugas", "multiple_choice",
         {"1": _choice("1", "Sudah Bayar"), "2": _choice("2", "Hubungi Petugas")}),)),
)}


# Strict mode: call-status statuses as documented, fields the table does not list, and one unknown field.
STRICT_STATUSES = {"ringing": "submitted", "answered": "success", "busy": "failed", "no-answer": "failed"}
STRICT_ABSENT = frozenset({"application_id"})
STRICT_EXTRA_FIELD = "trace_id"


@dataclass(frozen=True)
class Outcome:
    steps: tuple  # statuses the call moves through after "submitted", one per event_delay
    hangup_cause: str = ""
    keypress: str = ""  # the callee's answer to every question (answered calls)
    tta: int = 0  # seconds to answer
    talk: int = 0  # seconds talked
    duration: int = 0  # seconds from dialling to the end


# The docs' sample: answered after 20 s, 6 s of talk.
ANSWERED = Outcome(("ringing", "answered"), "NORMAL_CLEARING", "1", tta=20, talk=6, duration=26)
OUTCOMES = {
    "0000": ANSWERED,
    "0002": Outcome(("ringing", "answered"), "NORMAL_CLEARING", "2", tta=20, talk=6, duration=26),
    "0486": Outcome(("failed",), "USER_BUSY", duration=2),
    "0480": Outcome(("ringing", "failed"), "NO_ANSWER", duration=30),
    "0500": Outcome(()),
}


@dataclass
class Call:
    call_id: str
    from_number: str
    to_number: str
    ivr: Ivr
    outcome: Outcome
    created_at: datetime
    pending: list = field(default_factory=list)
    status: str = "submitted"
    updated_at: datetime | None = None
    call_start: datetime | None = None
    call_answer: datetime | None = None
    call_end: datetime | None = None
    duration: int = 0
    talk_duration: int = 0
    tta: int = 0
    hangup_cause: str = ""
    result: list = field(default_factory=list)
    every_key: bool = False  # menus list every key with its total (strict mode)
    strict: bool = False  # call-status as the spec's table shows it (strict mode)

    def advance(self, now):
        self.status = self.pending.pop(0)
        self.updated_at = now
        self.call_start = self.call_start or now
        if self.status in ENDED:
            self._end()

    def _end(self):
        outcome = self.outcome
        self.duration, self.talk_duration, self.tta = outcome.duration, outcome.talk, outcome.tta
        self.hangup_cause = outcome.hangup_cause
        self.call_end = self.call_start + timedelta(seconds=outcome.duration)
        if self.status == "answered":
            self.call_answer = self.call_start + timedelta(seconds=outcome.tta)
            self.result = [{"question": question, "type": kind,
                            "answer": _answer(kind, answers, outcome.keypress, self.every_key)}
                           for question, kind, answers in self.ivr.questions]

    def as_json(self):
        return self.spec_json() if self.strict else self.full_json()

    def spec_json(self):
        """The least the call-status table shows: documented statuses, fields only once they have a value."""
        body = {name: value for name, value in self.full_json().items()
                if name not in STRICT_ABSENT and value not in (None, "")}
        if self.status not in ENDED:
            for name in ("duration", "talk_duration", "tta"):
                body.pop(name, None)
        body["status"] = STRICT_STATUSES.get(self.status, self.status)
        body[STRICT_EXTRA_FIELD] = "call-status"
        return body

    def full_json(self):
        # GUESS: before a call ends its dates are null and its numbers 0 (the docs show only a finished call).
        return {
            "from_number": self.from_number, "to_number": self.to_number, "ivr_id": self.ivr.ivr_id,
            "call_id": self.call_id, "application_id": APPLICATION_ID,
            "call_start": _iso(self.call_start), "call_answer": _iso(self.call_answer), "call_end": _iso(self.call_end),
            "duration": self.duration, "talk_duration": self.talk_duration, "tta": self.tta,
            "hangup_cause": self.hangup_cause, "status": self.status,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at or self.created_at),
            "result": self.result,
        }


class Simulator(BaseSimulator):
    def reset(self):
        with self.state.lock:
            self.audio = {}  # id -> {id, filename, name, url, data}
            self.calls = {}
            self.forced = []
            self.recent = deque()  # monotonic times of admitted requests in the last second
            self.max_active_seen = 0

    def fail_next(self, code, bare=False):
        """Answer the next API request with this documented code (bare: its HTTP status, no JSON body)."""
        with self.state.lock:
            self.forced.append((int(code), bare))

    def take_forced(self):
        with self.state.lock:
            return self.forced.pop(0) if self.forced else None

    def admit(self):
        """Count one request against the per-second limit; False when it is over the limit."""
        limit = int(self.state.setting("SANDBOX_OCA_RATE_LIMIT", DEFAULT_RATE_LIMIT))
        now = time.monotonic()
        with self.state.lock:
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= limit:
                return False
            self.recent.append(now)
            return True

    def active_count(self):
        with self.state.lock:
            return sum(1 for call in self.calls.values() if call.status not in ENDED)

    def start_call(self, from_number, to_number, ivr):
        """The accepted call, or None when the concurrency limit is reached."""
        limit = int(self.state.setting("SANDBOX_OCA_MAX_CONCURRENT", DEFAULT_MAX_CONCURRENT))
        outcome = OUTCOMES.get(to_number[-4:], ANSWERED)
        with self.state.lock:
            if self.active_count() >= limit:
                return None
            call = Call(secrets.token_hex(12), from_number, to_number, ivr, outcome, _now(), list(outcome.steps))
            call.every_key = call.strict = self.state.strict
            self.calls[call.call_id] = call
            self.max_active_seen = max(self.max_active_seen, self.active_count())
        if call.pending:
            self.state.later(self.state.event_delay, self._step, call)
        return call

    def _step(self, call):
        with self.state.lock:
            call.advance(_now())
            more = bool(call.pending)
        if more:
            self.state.later(self.state.event_delay, self._step, call)

    def call_json(self, call_id):
        with self.state.lock:
            call = self.calls.get(call_id)
            return call.as_json() if call else None


def _now():
    return datetime.now(UTC)


def _iso(moment):
    """The docs' format: 2024-07-31T18:01:06.000Z."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_mp3(data):
    """An ID3v2 tag, or an MPEG audio frame header (11 sync bits, 0xFFE) at the start."""
    return data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _error(code, message=None):
    status, text = ERRORS[code]
    return jsonify(errors=[{"message": message or text, "code": code}]), status


def _simulator():
    return current_app.extensions["sandbox"].simulators["oca"]


def _expected(state, name):
    return state.setting(name) or SANDBOX_CREDENTIALS[name]


# --- guards run before every API path ----------------------------------------------------------------------

@bp.before_request
def guard():
    if request.endpoint and request.endpoint.endswith(".play_audio"):
        return None  # audio URLs are fetched by OCA's IVR platform: public, like the real ones
    state = current_app.extensions["sandbox"]
    simulator = state.simulators["oca"]
    header = request.headers.get("Authorization")
    if not header:
        return _error(19)
    expected = basic_auth_header(_expected(state, "OCA_USERNAME"), _expected(state, "OCA_PASSWORD"))
    if not hmac.compare_digest(header, expected):
        return _error(17)
    if not simulator.admit():
        return _rate_limited(state)
    forced = simulator.take_forced()
    if forced:
        code, bare = forced
        return Response("", ERRORS[code][0]) if bare else _error(code)
    if state.should_fail():
        return _error(13)
    return None


def _rate_limited(state):
    limit = int(state.setting("SANDBOX_OCA_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    response, status = _error(9)
    # Header names as the V2 docs spell them (including "RateLmit").
    response.headers["X-RateLimit-limit"] = str(limit)
    response.headers["X-RateLmit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = str(int(time.time()) + 1)
    return response, status


# --- audio ---------------------------------------------------------------------------------------------------

@bp.post("/upload-audio")
def upload_audio():
    upload = request.files.get("audio")
    if upload is None:
        return _error(39, "audio is required")
    data = upload.read()
    if not is_mp3(data):
        return _error(39, "audio must be mp3")
    filename = f"{uuid.uuid4()}.mp3"
    entry = {"id": secrets.token_hex(12), "filename": filename, "name": upload.filename or filename,
             "url": url_for(".play_audio", filename=filename, _external=True)}
    simulator = _simulator()
    with simulator.state.lock:
        simulator.audio[entry["id"]] = {**entry, "data": data}
    return jsonify(entry)


@bp.get("/audio-list")
def audio_list():
    simulator = _simulator()
    with simulator.state.lock:
        entries = [{k: v for k, v in item.items() if k != "data"} for item in simulator.audio.values()]
    return jsonify(entries)


@bp.delete("/delete-audio/<audio_id>")
def delete_audio(audio_id):
    simulator = _simulator()
    with simulator.state.lock:
        removed = simulator.audio.pop(audio_id, None)
    if removed is None:
        return _error(33)
    # GUESS: the delete response body was not captured; shaped like the call answer.
    return jsonify(success=True)


@bp.get("/audio/play/<filename>")
def play_audio(filename):
    simulator = _simulator()
    with simulator.state.lock:
        data = next((item["data"] for item in simulator.audio.values() if item["filename"] == filename), None)
    if data is None:
        return _error(33)
    return Response(data, mimetype="audio/mpeg")


# --- numbers, IVRs, calls ------------------------------------------------------------------------------------

@bp.get("/numbers")
def numbers():
    return jsonify([{"number": number} for number in CALLER_IDS])


@bp.get("/ivr-list")
def ivr_list():
    return jsonify([ivr.as_json() for ivr in IVRS.values()])


@bp.post("/call")
def call():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    missing = [name for name in ("from_number", "to_number", "ivr_id") if not body.get(name)]
    if missing:
        return _error(39, f"{', '.join(missing)} is required")
    if body["from_number"] not in CALLER_IDS:
        return _error(39, "from_number is not one of your numbers")
    to_number = str(body["to_number"])
    if not to_number.isdigit():
        return _error(39, "to_number must contain digits only")
    ivr = IVRS.get(body["ivr_id"])
    if ivr is None:
        return _error(33)
    variables = body.get("variable") if isinstance(body.get("variable"), dict) else {}
    absent = [name for name in ivr.required_variable if not variables.get(name)]
    if absent:
        return _error(39, f"variable {', '.join(absent)} is required by this ivr")
    if to_number[-4:] in ACCOUNT_SUFFIXES:
        return _error(ACCOUNT_SUFFIXES[to_number[-4:]])
    started = _simulator().start_call(body["from_number"], to_number, ivr)
    if started is None:
        return _error(57)
    id_key = "to_number" if to_number.endswith(DOCS_TYPO_SUFFIX) else "call_id"
    extra = {STRICT_EXTRA_FIELD: "call"} if started.strict else {}
    return jsonify({"success": True, id_key: started.call_id, **extra})


@bp.get("/call-status/<call_id>")
def call_status(call_id):
    body = _simulator().call_json(call_id)
    return jsonify(body) if body else _error(33)
