"""CitCALL gateway v3 simulator (mounted at /citcall/gateway/v3), after spec citcall-api-v3.3.

Paths: /asynccall (and /motp, its newer name), /sms, /smsotp, /verify, and /call, the deprecated
synchronous miscall, which always answers rc 06 "deprecated". Every answer is HTTP 200 with ``rc`` in the
JSON body (GUESS: the spec documents no HTTP statuses): "00" as a string on success, other codes as
integers, the two forms public clients report. Fault injection (SANDBOX_FAILURE_RATIO) answers HTTP 503.

Checks, in order: POST (else rc 99); an Authorization header (else 98) holding the key as
``Apikey <key>``, ``Basic b64(userid:key)`` or bare ``b64(userid:key)`` (provider-facts GUESS; unreadable
-> 98, wrong key -> 96); a JSON object body with Content-Type application/json (else 97); required
parameters (else 88); a valid msisdn (else 42); gateway 0..2 (else 07); a non-empty text (else 43); a
sender id of CITCALL, SANDBOX or one listed in settings CITCALL_SENDERIDS / SANDBOX_CITCALL_SENDERIDS
(comma-separated; SANDBOX_CITCALL_SENDERIDS replaces the default SANDBOX; else 44).

TEST NUMBERS (the last four digits of msisdn, on /asynccall, /motp, /sms and /smsotp):
    ...0000 and any other  accepted; the callback reports success (miscall dial_code 200)
    ...0042                rc 42 invalid msisdn
    ...0014                rc 14 insufficient amount
    ...0034                rc 34 service temporarily unavailable
    ...0066                rc 66 maintenance in progress
    ...0044 / 0076 / 0077 / 0096 / 0098   rc 44 / 76 / 77 / 96 / 98 (account-level: the safety brake's numbers)
    ...0486                miscall accepted; callback dial_code 486 "Busy Here" (not delivered)
    ...0099                SMS / SMS OTP accepted; callback result "Failed"
    ...0500                accepted; no callback ever (stays pending)

OTP sessions: a miscall or SMS OTP sent with valid_time can be verified (per the spec, without it there is
nothing to verify: rc 78). limit_try defaults to 5, at most 20. /verify answers "00" "valid" for the
miscall's full caller number or its last 4 digits (SMS OTP: the token), 79 for a wrong token, 80 once
valid_time has passed, 81 after limit_try wrong tries, 78 for an unknown trxid/msisdn pair. A verified
session is consumed (GUESS: a one-time password is good once). Without a token, /smsotp generates 5
digits; without a text it uses the account's static dashboard text (setting CITCALL_SMSOTP_TEXT).

After SANDBOX_EVENT_DELAY the callback is POSTed as JSON to the request's callback_url, else to the app's
/callbacks/citcall/<token>. Prices are IDR: 165 a miscall, 300 an SMS segment.

Strict mode (state.strict, SANDBOX_STRICT): the least the spec shows, and the freedom it leaves. Answers
carry rc as the integer 0 (as newer hosts do) and one field the spec does not list; callbacks carry only
the fields of their section 4 list (a miscall callback has no currency, an SMS callback no msisdn; the
SMS callbacks' price and currency are left out too) plus that unknown field; and every callback is
delivered at once, racing the answer to its own request, then a second time, byte-identical.
"""
import base64
import binascii
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request

from webapp.config import SANDBOX_CREDENTIALS
from webapp.providers.masking import segments
from webapp.sandbox.state import BaseSimulator

bp = Blueprint("citcall", __name__)

# The real gateway answers any method with rc 99, so every route accepts them all.
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Appendix 5.1 descriptions, verbatim (typos included), sent as "info".
INFO = {
    "06": "unknown error / failed", "07": "Invalid Gateway", "14": "insuficient amount",
    "34": "Service temporary unavilable", "42": "invalid msisdn", "43": "invalid sms content",
    "44": "senderid closed", "66": "Maintenance in progress", "76": "Wrong Password", "77": "userid not found",
    "78": "Data not found!", "79": "Invalid token", "80": "Expired token", "81": "maximum try reached!",
    "88": "missing parameter", "96": "apikey not found or non active", "97": "invalid json format",
    "98": "Authorization failed", "99": "wrong method",
}
# Test-number suffix -> rc answered instead of sending.
REFUSING_SUFFIXES = {"0042": "42", "0014": "14", "0034": "34", "0066": "66",
                     # Account-level refusals (the safety brake's test numbers): sender id closed, wrong
                     # password, unknown user id, API key not active, authorization (or IP) refused.
                     "0044": "44", "0076": "76", "0077": "77", "0096": "96", "0098": "98"}
# Miscall accepted but the handset was busy.
BUSY_SUFFIX = "0486"
# SMS accepted but not delivered.
SMS_FAILED_SUFFIX = "0099"
# Accepted, and the callback never comes.
SILENT_SUFFIX = "0500"
# Sender id every account has.
DEFAULT_SENDERID = "CITCALL"
# Sender ids the sandbox account has registered besides it (SANDBOX_CITCALL_SENDERIDS overrides).
REGISTERED_SENDERIDS = "SANDBOX"
# Static SMS OTP text of the sandbox account (GUESS: the dashboard has one, so text is optional).
DEFAULT_SMSOTP_TEXT = "Kode OTP Anda XXXXX"
# What /smsotp replaces with the token.
TOKEN_PLACEHOLDER = "XXXXX"
# Length of a generated SMS OTP token (spec 3.3.2).
SMSOTP_TOKEN_DIGITS = 5
# Verify tries when limit_try is absent, and the most allowed (spec 3.1).
DEFAULT_LIMIT_TRY, MAX_LIMIT_TRY = 5, 20
# Prices billed, in CURRENCY.
CURRENCY, MISCALL_PRICE, SMS_PRICE = "IDR", 165, 300
# Strict mode: callback fields left out (not in the section 4.1 list; optional billing details of 4.2/4.3),
# and the field no section lists, which a client must ignore.
STRICT_MISCALL_ABSENT = frozenset({"currency"})
STRICT_SMS_ABSENT = frozenset({"currency", "price"})
STRICT_EXTRA_FIELD = "x_request_id"
# Caller numbers the miscalls come from: a Jakarta (021) number, as in the spec's example token.
CALLER_PREFIX = "6221"
# reportedDate is Jakarta local time, like every CitCALL timestamp.
PROVIDER_TZ = ZoneInfo("Asia/Jakarta")


class Refusal(Exception):
    """Answer rc (with the appendix text unless info is given) instead of going on."""

    def __init__(self, rc, info=None, status=200):
        super().__init__(rc)
        self.rc, self.info, self.status = rc, info or INFO[rc], status


@bp.errorhandler(Refusal)
def refused(exc):
    return jsonify(rc=int(exc.rc), info=exc.info), exc.status


@dataclass
class OtpSession:
    msisdn: str
    token: str
    accepted: frozenset  # what the user may type
    expires_at: float  # on Simulator.clock
    limit_try: int
    tries: int = 0


class Simulator(BaseSimulator):
    def reset(self):
        with self.state.lock:
            self.sessions = {}
            self.forced = []
            # OTP validity is measured on this clock; tests swap in a frozen one to expire codes at will.
            self.clock = time.monotonic

    def force_rc(self, *codes):
        """Tests: the next requests answer these codes, one each (for refusals a proper client never
        provokes, such as 97 or 99)."""
        with self.state.lock:
            self.forced.extend(codes)

    def take_forced(self):
        with self.state.lock:
            return self.forced.pop(0) if self.forced else None

    def digits(self, count):
        with self.state.lock:
            return "".join(str(self.state.random.randrange(10)) for _ in range(count))

    def new_trxid(self):
        """26 digits, timestamp first, like "20190801155256104472275025"."""
        return time.strftime("%Y%m%d%H%M%S") + self.digits(12)

    def open_session(self, trxid, msisdn, token, accepted, valid_time, limit_try=DEFAULT_LIMIT_TRY):
        with self.state.lock:
            self.sessions[trxid] = OtpSession(msisdn, token, frozenset(accepted),
                                              self.clock() + valid_time, limit_try)

    def verify(self, trxid, msisdn, token):
        """The session a correct token unlocks (and consumes); raises Refusal 78/79/80/81."""
        with self.state.lock:
            session = self.sessions.get(trxid)
            if session is None or session.msisdn != msisdn:
                raise Refusal("78")
            if self.clock() >= session.expires_at:
                raise Refusal("80")
            if session.tries >= session.limit_try:
                raise Refusal("81")
            if token not in session.accepted:
                session.tries += 1
                raise Refusal("79")
            del self.sessions[trxid]
            return session


def _state():
    return current_app.extensions["sandbox"]


def _accept():
    """(simulator, JSON body) of an authorized POST; raises Refusal otherwise."""
    state = _state()
    simulator = state.simulators["citcall"]
    if state.should_fail():
        raise Refusal("34", status=503)
    forced = simulator.take_forced()
    if forced:
        raise Refusal(forced)
    if request.method != "POST":
        raise Refusal("99")
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise Refusal("98")
    key = _api_key(header)
    if key is None:
        raise Refusal("98")
    expected = state.setting("CITCALL_API_KEY") or SANDBOX_CREDENTIALS["CITCALL_API_KEY"]
    if not hmac.compare_digest(key.encode(), expected.encode()):
        raise Refusal("96")
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise Refusal("97")
    return simulator, body


def _api_key(header):
    """The key from "Apikey k", "Basic b64(userid:k)" or a bare "b64(userid:k)"; None if unreadable."""
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "apikey":
        return credentials.strip() or None
    encoded = credentials.strip() if scheme.lower() == "basic" else header
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _userid, colon, key = decoded.partition(":")
    return key if colon and key else None


def _need(body, key):
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Refusal("88")
    return value


def _msisdn(raw):
    """62... digits as the SDK cleans them (0... becomes 62...); raises Refusal 42 when not a number."""
    text = str(raw).strip()
    number = re.sub(r"\D", "", text)
    if number.startswith("0"):
        number = "62" + number[1:]
    valid = 11 <= len(number) <= 16 if number.startswith("62") else 10 <= len(number) <= 17
    if not valid or re.search(r"[^\d+\-\s]", text):
        raise Refusal("42")
    return number


def _refuse_test_number(msisdn):
    rc = REFUSING_SUFFIXES.get(msisdn[-4:])
    if rc:
        raise Refusal(rc)


def _count(body, key, default, highest=None):
    """An optional positive integer parameter (GUESS: a bad one is answered like a missing one, 88)."""
    value = body.get(key)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Refusal("88", f"invalid {key}") from None
    if number < 1 or (highest and number > highest):
        raise Refusal("88", f"invalid {key}")
    return number


def _gateway(body):
    # SDK v3.4 sends "retry" where the spec says "gateway" (provider-facts GUESS: accept both).
    value = body.get("gateway", body.get("retry"))
    if value is None:
        raise Refusal("88")
    if str(value).strip() not in ("0", "1", "2"):
        raise Refusal("07")
    return int(value)


def _check_sms(text, senderid):
    if not str(text).strip():
        raise Refusal("43")
    state = _state()
    registered = ",".join((state.setting("CITCALL_SENDERIDS", ""),
                           state.setting("SANDBOX_CITCALL_SENDERIDS", REGISTERED_SENDERIDS)))
    allowed = {DEFAULT_SENDERID} | {s.strip().upper() for s in registered.split(",") if s.strip()}
    if str(senderid).strip().upper() not in allowed:
        raise Refusal("44")


def _schedule_callback(msisdn, callback_url, payload):
    if msisdn.endswith(SILENT_SUFFIX):
        return
    state = _state()
    url = callback_url or state.callback_url("citcall/{token}")
    if not state.strict:
        state.later(state.event_delay, _post_callback, state, url, payload)
        return
    absent = STRICT_MISCALL_ABSENT if "dial_code" in payload else STRICT_SMS_ABSENT
    payload = {**{key: value for key, value in payload.items() if key not in absent}, STRICT_EXTRA_FIELD: "callback"}
    state.later(0, _post_callback, state, url, payload)
    state.later(state.event_delay, _post_callback, state, url, payload)


def _answer(**fields):
    """An accepted request's JSON answer; strict mode: rc as the integer 0 and a field the spec does not list."""
    if _state().strict:
        fields.update(rc=0, **{STRICT_EXTRA_FIELD: "answer"})
    return jsonify(fields)


def _post_callback(state, url, payload):
    state.deliver("POST", url, json=payload)


@bp.route("/asynccall", methods=ANY_METHOD)
@bp.route("/motp", methods=ANY_METHOD)
def asynccall():
    simulator, body = _accept()
    msisdn = _msisdn(_need(body, "msisdn"))
    gateway = _gateway(body)
    valid_time = _count(body, "valid_time", None)
    limit_try = _count(body, "limit_try", DEFAULT_LIMIT_TRY, MAX_LIMIT_TRY)
    _refuse_test_number(msisdn)
    trxid, token = simulator.new_trxid(), CALLER_PREFIX + simulator.digits(8)
    if valid_time:
        simulator.open_session(trxid, msisdn, token, {token, token[-4:]}, valid_time, limit_try)
    _schedule_callback(msisdn, body.get("callback_url"), _miscall_report(trxid, msisdn, token))
    return _answer(rc="00", trxid=trxid, msisdn=f"+{msisdn}", token=token, gateway=gateway)


def _miscall_report(trxid, msisdn, token):
    busy = msisdn.endswith(BUSY_SUFFIX)
    return {
        "rc": "00", "trxid": trxid, "msisdn": f"+{msisdn}", "via": "voice", "token": token,
        "dial_code": "486" if busy else "200", "dial_status": "Busy Here" if busy else "OK",
        "call_status": "BUSY" if busy else "ANSWERED", "result": "Failed" if busy else "Success",
        "currency": CURRENCY, "price": "0" if busy else str(MISCALL_PRICE),
    }


@bp.route("/sms", methods=ANY_METHOD)
def sms():
    simulator, body = _accept()
    msisdn = _msisdn(_need(body, "msisdn"))
    senderid = _need(body, "senderid")
    if body.get("text") is None:
        raise Refusal("88")
    _check_sms(body["text"], senderid)
    _refuse_test_number(msisdn)
    return _send_sms(body, simulator.new_trxid(), msisdn, str(body["text"]))


@bp.route("/smsotp", methods=ANY_METHOD)
def smsotp():
    simulator, body = _accept()
    msisdn = _msisdn(_need(body, "msisdn"))
    senderid = _need(body, "senderid")
    template = body.get("text")
    if template is None:
        template = _state().setting("CITCALL_SMSOTP_TEXT", DEFAULT_SMSOTP_TEXT)
    _check_sms(template, senderid)
    valid_time = _count(body, "valid_time", None)
    limit_try = _count(body, "limit_try", DEFAULT_LIMIT_TRY, MAX_LIMIT_TRY)
    _refuse_test_number(msisdn)
    trxid, token = simulator.new_trxid(), str(body.get("token") or simulator.digits(SMSOTP_TOKEN_DIGITS))
    if valid_time:
        simulator.open_session(trxid, msisdn, token, {token}, valid_time, limit_try)
    return _send_sms(body, trxid, msisdn, str(template).replace(TOKEN_PLACEHOLDER, token), token)


def _send_sms(body, trxid, msisdn, text, token=None):
    count = segments(text)
    price = SMS_PRICE * count
    failed = msisdn.endswith(SMS_FAILED_SUFFIX)
    report = {
        "trxid": trxid, "result": "Failed" if failed else "Success",
        "description": "Undelivered: rejected by the operator" if failed else "Delivered to handset",
        "reportedDate": datetime.now(PROVIDER_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        "currency": CURRENCY, "price": str(price),
    }
    extra = {} if token is None else {"token": token}
    _schedule_callback(msisdn, body.get("callback_url"), {**report, **extra})
    return _answer(rc="00", info="Success", sms_count=count, senderid=str(body["senderid"]), msisdn=f"+{msisdn}",
                   text=text, trxid=trxid, currency=CURRENCY, price=price, **extra)


@bp.route("/verify", methods=ANY_METHOD)
def verify():
    simulator, body = _accept()
    trxid, token = str(_need(body, "trxid")), str(_need(body, "token")).strip()
    msisdn = _msisdn(_need(body, "msisdn"))
    session = simulator.verify(trxid, msisdn, token)
    return _answer(rc="00", info="valid", trxid=simulator.new_trxid(), trxid_verify=trxid, currency=CURRENCY,
                   msisdn=f"+{msisdn}", token=session.token, token_verify=token)


@bp.route("/call", methods=ANY_METHOD)
def call():
    _accept()
    # SDK v3.4 answers {"rc":6,"info":"deprecated"} for the synchronous miscall.
    raise Refusal("06", "deprecated")
