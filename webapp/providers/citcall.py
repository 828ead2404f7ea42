"""CitCALL gateway v3 (spec citcall-api-v3.3): miscall OTP, SMS, SMS OTP and verify, all JSON POST.

Every answer carries ``rc``, as the string "00" or the integer 0 depending on endpoint and version; it is
normalized to two digits before anything else reads it. A miscall's ``token`` is the full caller number
of the missed call: the user types its last four digits.

Sample callbacks (JSON POST to the URL registered with CitCALL or given as ``callback_url``):

    miscall:  {"rc": "00", "trxid": "20190801155200606557556587", "msisdn": "+6281234567890",
               "via": "voice", "token": "622130401234", "dial_code": "200", "dial_status": "OK",
               "call_status": "ANSWERED", "result": "Success", "currency": "IDR", "price": "165"}
    sms:      {"trxid": "20190801155256104472275025", "result": "Success", "description": "Delivered",
               "reportedDate": "2019-08-01 15:53:01", "currency": "IDR", "price": "300"}
    smsotp:   the sms fields plus "token": "12345"
"""
from dataclasses import dataclass

from webapp import phones
from webapp.providers.base import BaseClient, CallbackInvalid, CheckResult, ProviderError, StatusUpdate

# Asynchronous miscall OTP (newer hosts also call it /motp; the v3.3 spec's name is used).
ASYNCCALL_PATH = "asynccall"
# Plain SMS.
SMS_PATH = "sms"
# SMS OTP: TOKEN_WORD in the text becomes the token, server-side.
SMSOTP_PATH = "smsotp"
# The word CitCALL replaces with the token in an SMS OTP text (spec 3.3: "we will change the word XXXXX"),
# whatever the token's length.
TOKEN_WORD = "XXXXX"
# Server-side check of a miscall or SMS OTP token (needs valid_time on the send).
VERIFY_PATH = "verify"
# rc of an accepted request, after normalization.
RC_OK = "00"
# Gateway numbers: 0 for the first miscall, 1 and 2 for the first and second retry.
GATEWAYS = range(0, 3)
# Verify attempts allowed per OTP ("maximum allowed 20"; the server defaults to 5).
MAX_LIMIT_TRY = 20
# The currency of every price in the spec's samples, assumed when a callback gives a price without one.
BILLING_CURRENCY = "IDR"
# The sender id every account may use.
DEFAULT_SENDERID = "CITCALL"
# How many trailing digits of the miscall caller number the user types.
OTP_DIGITS = 4
# SIP codes that mean the miscall reached the handset (spec 5.2: 180, 183 and 2xx).
DELIVERED_SIP_CODES = frozenset({180, 183, *range(200, 300)})
# SMS callback results read as delivered; the real values are not public (provider-facts GUESS).
DELIVERED_RESULTS = frozenset({"success", "successful", "delivered", "delivrd"})
# Harmless request for check(): verify of a trxid that cannot exist; "data not found" proves the key works.
CHECK_TRXID = "0" * 26
CHECK_MSISDN = "6281100000000"
# rc codes that mean the key itself was refused.
AUTH_CODES = frozenset({"76", "77", "96", "98"})
# Fields that carry a one-time code, hidden from the channel log: the miscall caller number (token) and the
# code typed back (token_verify); an SMS OTP answer also spells the code out in its text.
OTP_FIELDS = ("token", "token_verify")
SMSOTP_FIELDS = ("token", "text")

# rc -> (human message, retryable). Every rc here means the request was refused, so a ProviderError
# carrying it keeps outcome_known=True; retryable additionally says a later re-send may succeed (the
# gateway was down), as opposed to refusals that repeat the same way every time.
ERROR_CODES = {
    "06": ("CitCALL reported an unknown error or failure", False),
    "07": ("invalid gateway number", False),
    "14": ("insufficient CitCALL balance", False),
    "34": ("CitCALL service temporarily unavailable", True),
    "42": ("invalid phone number", False),
    "43": ("invalid SMS content", False),
    "44": ("sender id closed or not registered", False),
    "66": ("CitCALL maintenance in progress", True),
    "76": ("wrong password", False),
    "77": ("user id not found", False),
    "78": ("OTP transaction not found", False),
    "79": ("invalid token", False),
    "80": ("expired token", False),
    "81": ("maximum verify tries reached", False),
    "88": ("missing parameter", False),
    "96": ("API key not found or not active", False),
    "97": ("invalid JSON format", False),
    "98": ("authorization failed", False),
    "99": ("wrong HTTP method", False),
}
# rc codes that refuse the account, not one number (balance, sender id, credentials, API key or IP not
# whitelisted, which CitCALL answers as 98): the safety brake pauses the campaign on the first one.
ACCOUNT_CODES = frozenset({"14", "44", "76", "77", "96", "98"})


def normalize_rc(value):
    """"00", "0", 0 -> "00"; 42, "42" -> "42"; None when the value is not a number."""
    text = str(value).strip() if value is not None else ""
    return text.zfill(2) if text.isdigit() else None


def miscall_delivered(dial_code):
    """True when the SIP dial code means the missed call rang the handset."""
    try:
        return int(str(dial_code).strip()) in DELIVERED_SIP_CODES
    except ValueError:
        return False


def _price(value):
    """Price arrives as a string or a number (the public clients disagree); None when absent."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class MiscallResult:
    trxid: str
    msisdn: str
    token: str  # the full caller number that rings the user
    gateway: int | None = None
    info: str = ""

    @property
    def otp_digits(self):
        """What the user types: the caller number's last four digits."""
        return self.token[-OTP_DIGITS:]


@dataclass
class SmsResult:
    trxid: str
    msisdn: str
    sms_count: int
    price: float | None
    currency: str
    info: str = ""
    senderid: str = ""
    text: str = ""
    token: str = ""  # SMS OTP only: the code the text carries


@dataclass
class VerifyResult:
    trxid: str  # the verify transaction's own id
    trxid_verify: str  # the OTP send it verified
    msisdn: str
    info: str
    currency: str = ""
    token: str = ""
    token_verify: str = ""


class Client(BaseClient):
    name = "citcall"

    def __init__(self, base_url, api_key, **kwargs):
        super().__init__(base_url, secrets=(api_key,), **kwargs)
        self.api_key = api_key

    @classmethod
    def from_config(cls, config, log_sink=None, session=None):
        api_key = config.get("CITCALL_API_KEY")
        if not api_key:
            raise ProviderError("config", "citcall: CITCALL_API_KEY is required")
        return cls(config.get("CITCALL_BASE_URL"), api_key, log_sink=log_sink, session=session)

    def asynccall(self, msisdn_e164, gateway=0, valid_time=None, limit_try=None, callback_url=None):
        """Miscall OTP; the answer's token is the caller number (result.otp_digits is the code)."""
        if gateway not in GATEWAYS:
            raise _invalid(f"gateway must be 0, 1 or 2, not {gateway!r}")
        body = {"msisdn": _msisdn(msisdn_e164), "gateway": gateway,
                **_otp_options(valid_time, limit_try), **_optional(callback_url=callback_url)}
        data = self._post("asynccall", ASYNCCALL_PATH, body, OTP_FIELDS)
        return MiscallResult(
            trxid=_required(data, "trxid"), msisdn=str(data.get("msisdn") or ""),
            token=_required(data, "token"), gateway=_int(data.get("gateway"), None), info=str(data.get("info") or ""),
        )

    def sms(self, msisdn_e164, text, senderid=DEFAULT_SENDERID):
        body = {"msisdn": _msisdn(msisdn_e164), "senderid": senderid, "text": text}
        return _sms_result(self._post("sms", SMS_PATH, body))

    def smsotp(self, msisdn_e164, senderid, text=None, token=None, valid_time=None, limit_try=None):
        """SMS OTP (advanced): without token CitCALL generates 5 digits; "XXXXX" in text becomes the token.
        Without text the account's static text (set in the dashboard) is used."""
        body = {"msisdn": _msisdn(msisdn_e164), "senderid": senderid,
                **_optional(text=text, token=token), **_otp_options(valid_time, limit_try)}
        return _sms_result(self._post("smsotp", SMSOTP_PATH, body, SMSOTP_FIELDS))

    def verify(self, trxid, msisdn_e164, token):
        """Server-side OTP check; a wrong, expired or exhausted token raises ProviderError 79/80/81."""
        body = {"trxid": trxid, "msisdn": _msisdn(msisdn_e164), "token": token}
        data = self._post("verify", VERIFY_PATH, body, OTP_FIELDS)
        return VerifyResult(
            trxid=str(data.get("trxid") or ""), trxid_verify=str(data.get("trxid_verify") or trxid),
            msisdn=str(data.get("msisdn") or ""), info=str(data.get("info") or ""),
            currency=str(data.get("currency") or ""), token=str(data.get("token") or ""),
            token_verify=str(data.get("token_verify") or ""),
        )

    def check(self):
        """Test connection: CitCALL has no balance endpoint, so verify a trxid that cannot exist. "Data not
        found" (rc 78) proves the key and IP whitelist work, and nothing is sent or charged."""
        body = {"trxid": CHECK_TRXID, "msisdn": CHECK_MSISDN, "token": "0000"}
        try:
            self._post("check", VERIFY_PATH, body, OTP_FIELDS)
        except ProviderError as exc:
            if exc.code == "78":
                return CheckResult(True, "API key accepted (verify of a dummy transaction: data not found)",
                                   {"rc": exc.code})
            summary = f"API key refused: {exc.message}" if exc.code in AUTH_CODES else exc.message
            return CheckResult(False, summary, {"code": exc.code})
        return CheckResult(True, "API key accepted", {"rc": RC_OK})

    def _post(self, operation, path, body, redact_keys=()):
        """POST JSON and return the answer of an accepted request; any other rc raises ProviderError."""
        response = self.request(operation, "POST", path, json=body, redact_keys=redact_keys,
                                headers={"Authorization": f"Apikey {self.api_key}"})
        if response.status_code >= 500:
            # A gateway or proxy error after the request left: CitCALL may have acted on it.
            raise ProviderError("bad_status", f"citcall answered HTTP {response.status_code}",
                                http_status=response.status_code, raw=response.text[:500])
        data = self.json_body(response)
        rc = normalize_rc(data.get("rc")) if isinstance(data, dict) else None
        if rc is None:
            raise ProviderError("unparseable", "citcall answered without an rc", http_status=response.status_code,
                                raw=response.text[:500])
        if rc != RC_OK:
            raise _rc_error(rc, data, response.status_code)
        return data


def _rc_error(rc, data, http_status=None):
    """ProviderError for a refused request; CitCALL's own info text is kept when it adds something."""
    human, retryable = ERROR_CODES.get(rc, (f"undocumented CitCALL rc {rc}", False))
    info = " ".join(str(data.get("info") or "").split())
    message = f"{human} ({info})" if info and info.lower() != human.lower() else human
    return ProviderError(rc, message, retryable, http_status=http_status, raw=data)


def _invalid(message):
    # Refused before sending: nothing reached CitCALL, and the same call would be refused again.
    return ProviderError("invalid_request", message, retryable=False)


def _msisdn(e164):
    number = phones.digits(e164)
    if not number.isdigit():
        raise _invalid(f"not an E.164 phone number: {e164!r}")
    return number


def _optional(**fields):
    return {key: value for key, value in fields.items() if value is not None}


def _otp_options(valid_time, limit_try):
    if valid_time is not None and (not isinstance(valid_time, int) or valid_time <= 0):
        raise _invalid(f"valid_time must be a positive number of seconds, not {valid_time!r}")
    if limit_try is not None and (not isinstance(limit_try, int) or not 1 <= limit_try <= MAX_LIMIT_TRY):
        raise _invalid(f"limit_try must be between 1 and {MAX_LIMIT_TRY}, not {limit_try!r}")
    return _optional(valid_time=valid_time, limit_try=limit_try)


def _required(data, key):
    value = data.get(key)
    if value in (None, ""):
        # Accepted but unusable: the send may be under way, so this is no refusal.
        raise ProviderError("unparseable", f"citcall accepted the request but sent no {key}", raw=data)
    return str(value)


def _sms_result(data):
    return SmsResult(
        trxid=_required(data, "trxid"), msisdn=str(data.get("msisdn") or ""),
        sms_count=_int(data.get("sms_count")), price=_price(data.get("price")),
        currency=str(data.get("currency") or ""), info=str(data.get("info") or ""),
        senderid=str(data.get("senderid") or ""), text=str(data.get("text") or ""),
        token=str(data.get("token") or ""),
    )


def parse_callback(kind, payload):
    """One CitCALL callback -> one StatusUpdate. The app has one URL for all three kinds (kind is ""), so
    they are told apart by fields: a miscall has dial_code/via, an SMS result/description, an SMS OTP
    additionally a token."""
    if not isinstance(payload, dict):
        raise CallbackInvalid("citcall callback body is not a JSON object")
    trxid = str(payload.get("trxid") or "").strip()
    if not trxid:
        raise CallbackInvalid("citcall callback has no trxid")
    if "dial_code" in payload or "via" in payload:
        return [_miscall_update(trxid, payload)]
    if "result" in payload:
        return [_sms_update(trxid, payload)]
    raise CallbackInvalid("citcall callback is neither a miscall (dial_code) nor an SMS (result) report")


def _currency(payload):
    # The miscall callback's parameter list (spec 4.1) has a price but no currency: CitCALL bills in IDR,
    # the currency of every price its samples show.
    return _text(payload, "currency") or (BILLING_CURRENCY if _price(payload.get("price")) is not None else "")


def _text(payload, key):
    return str(payload.get(key) or "").strip()


def _miscall_update(trxid, payload):
    dial_code, dial_status = _text(payload, "dial_code"), _text(payload, "dial_status")
    details = {key: _text(payload, key) for key in ("msisdn", "via", "dial_code", "dial_status",
                                                      "call_status", "result")}
    update = StatusUpdate(
        reference=trxid, state="delivered", provider_status=" ".join(filter(None, (dial_code, dial_status))),
        price=_price(payload.get("price")), currency=_currency(payload), kind="miscall", details=details,
    )
    rc = normalize_rc(payload.get("rc")) if "rc" in payload else RC_OK
    if rc != RC_OK:
        update.state, update.error_code = "failed", rc or _text(payload, "rc")
        update.error_text = ERROR_CODES.get(rc, (_text(payload, "result"), False))[0]
    elif not dial_code:
        raise CallbackInvalid("citcall miscall callback has no dial_code")
    elif not miscall_delivered(dial_code):
        update.state, update.error_code = "failed", dial_code
        update.error_text = dial_status or _text(payload, "call_status") or f"SIP {dial_code}"
    return update


def _sms_update(trxid, payload):
    result, description = _text(payload, "result"), _text(payload, "description")
    if not result:
        raise CallbackInvalid("citcall SMS callback has an empty result")
    delivered = result.lower() in DELIVERED_RESULTS
    return StatusUpdate(
        reference=trxid, state="delivered" if delivered else "failed", provider_status=result,
        error_text="" if delivered else (description or result),
        price=_price(payload.get("price")), currency=_currency(payload),
        kind="smsotp" if _text(payload, "token") else "sms",
        details={"description": description, "reported_date": _text(payload, "reportedDate")},
    )
