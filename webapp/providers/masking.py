"""MySMSMasking HTTP API (``103.16.199.187/masking``): SMS send, delivery report, balance, report download, inbox.

Every answer is plain text or CSV, never JSON, and errors arrive as HTTP 200 with a text body. The account's
username and password travel in every query string or form, so both are handed to the Redactor.

Sample "Callable API DLR" callback (a GET to the URL registered with the provider):

    GET /callbacks/masking/<token>?session_id=38590565&error_code=51&error_message=Expiration+Period&msisdn=62822xxxxxxx

session_id is the message id that send.php answered; error_code is a REPORT_CODES key.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from webapp import phones
from webapp.providers.base import BaseClient, CallbackInvalid, CheckResult, ProviderError, StatusUpdate
from webapp.providers.masking_inbox import InboxAnswer, InboxMessage, parse_inbox  # noqa: F401  (the surface)

# Send with the message in the query string (GET) or as a form (POST).
SEND_GET_PATH = "send.php"
SEND_POST_PATH = "send_post.php"
# Delivery status of one message id; the only endpoint that takes no credentials.
REPORT_PATH = "report.php"
# "<balance>,<expiry YYYY/MM/DD-HH:MM:SS>" in Asia/Jakarta time.
BALANCE_PATH = "balance.php"
# Sends between two dates (form start/end as dd-mm-YYYY); the file format is not public.
REPORTS_PATH = "reports_post.php"
# Inbound SMS of a collocation modem; the format is not public (read by content: masking_inbox.py).
INBOX_PATH = "inbox.php"
# Every timestamp the provider writes is Jakarta local time (WIB).
PROVIDER_TZ = ZoneInfo("Asia/Jakarta")
# Expiry format in balance.php answers (the Go client's layout "2006/01/02-15:04:05").
BALANCE_TIME_FORMAT = "%Y/%m/%d-%H:%M:%S"
# Date format reports_post.php expects (the spec's sample form uses PHP date("d-m-Y")).
REPORTS_DATE_FORMAT = "%d-%m-%Y"
# The text body answered for a wrong username or password, on every authenticated endpoint.
AUTH_FAILED_BODY = "Sorry anda tidak punya akses"

# Send bodies that are not a message id -> our error code. "0" and "-1" are GUESSes from public callers.
SEND_ERROR_BODIES = {
    "Invalid MSISDN": "invalid_msisdn",
    AUTH_FAILED_BODY: "auth_failed",
    "0": "rejected",
    "-1": "rejected",
}
# Our error code -> (human message, retryable). A wrong number fails the same way every time, so it is final.
ERROR_CODES = {
    "invalid_msisdn": ("the provider refused the destination number (Invalid MSISDN)", False),
    "auth_failed": ("wrong username or password (Sorry anda tidak punya akses)", True),
    "rejected": ("the provider refused the message", False),
}
# Answers that refuse the account, not one number: every other send would fail the same way, so the safety
# brake (webapp.dispatch.brake) pauses the campaign. 50 counts only when it ends a send "failed" (Saldo Habis);
# its "No Charge" reading is a wrong number (undeliverable).
ACCOUNT_CODES = frozenset({"auth_failed", "50", "51"})
# Report and DLR code -> (meaning, send state). report.php may explain 50 as "No Charge" too: see _state().
REPORT_CODES = {
    "22": ("Delivered", "delivered"),
    "50": ("Failed: insufficient credit balance (Saldo Habis)", "failed"),
    "51": ("Failed: balance validity period expired (Periode Habis)", "failed"),
    "52": ("Undeliverable: wrong destination number format, not charged (No Charge)", "undeliverable"),
    "20": ("Pending: the handset has been unreachable for a while", "submitted"),
}

# GSM 03.38 default alphabet (one septet each) and its extension table (escape + char: two septets each).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("\f^{}\\[]~|€")
# Units per SMS: (single message, each part of a concatenated message, whose header takes the rest).
SEGMENT_SIZES = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def encoding(text):
    """ "GSM-7" when every character is in the GSM default alphabet or its extension, else "UCS-2"."""
    return "GSM-7" if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else "UCS-2"


def _units(text, coding):
    """Size of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if coding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text):
    """How many SMS the provider charges for text (an empty text still costs one).

    A two-unit character (GSM escape pair, UTF-16 surrogate pair) is never split across parts, so a long
    message can need one part more than a plain division says.
    """
    coding = encoding(text)
    single, part = SEGMENT_SIZES[coding]
    units = _units(text, coding)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


@dataclass
class SendResult:
    message_id: str
    segments: int


@dataclass
class ReportResult:
    """One report.php answer. code is "" when the body did not start with a digit (e.g. "Success Send")."""

    message_id: str
    code: str
    detail: str
    state: str | None
    raw: str = ""

    def to_update(self):
        return _update(self.message_id, self.code, self.detail, "report", {})


@dataclass
class Balance:
    amount: float
    expires_at: datetime | None  # naive UTC
    raw: str = ""


@dataclass
class ReportsResult:
    """reports_post.php's answer kept raw; rows holds its CSV rows when every line has the same columns."""

    raw: str
    rows: list = field(default_factory=list)


class Client(BaseClient):
    name = "masking"

    def __init__(self, base_url, username, password, **kwargs):
        super().__init__(base_url, secrets=(username, password), **kwargs)
        self.username = username
        self.password = password

    @classmethod
    def from_config(cls, config, log_sink=None, session=None):
        username, password = config.get("MASKING_USERNAME"), config.get("MASKING_PASSWORD")
        if not username or not password:
            raise ProviderError("config", "masking: MASKING_USERNAME and MASKING_PASSWORD are required")
        return cls(config.get("MASKING_BASE_URL"), username, password, log_sink=log_sink, session=session)

    def _credentials(self):
        return {"username": self.username, "password": self.password}

    def send(self, msisdn_e164, message, method="GET"):
        """Send one SMS; the provider answers the message id as plain digits, or an error text."""
        fields = {**self._credentials(), "hp": phones.digits(msisdn_e164), "message": message}
        if method == "GET":
            response = self.request("send", "GET", SEND_GET_PATH, params=fields)
        elif method == "POST":
            response = self.request("send", "POST", SEND_POST_PATH, data=fields)
        else:
            raise ValueError(f"masking send method must be GET or POST, not {method!r}")
        return SendResult(parse_message_id(self._text(response)), segments(message))

    def report(self, message_id):
        """Delivery status of one message id: "code,detail" CSV, or a text before the first status."""
        text = self._text(self.request("report", "GET", REPORT_PATH, params={"rpt": message_id}))
        return parse_report(str(message_id), text)

    def balance(self):
        text = self._text(self.request("balance", "GET", BALANCE_PATH, params=self._credentials()))
        return parse_balance(text)

    def reports(self, start_date, end_date):
        """Sends between two dates (inclusive), as the provider's download file."""
        fields = {**self._credentials(), "start": _report_date(start_date), "end": _report_date(end_date)}
        text = self._text(self.request("reports", "POST", REPORTS_PATH, data=fields))
        return ReportsResult(text, _uniform_csv(text))

    def inbox(self):
        """Inbound SMS as an InboxAnswer: the messages, and the lines that could not be read, kept raw."""
        text = self._text(self.request("inbox", "GET", INBOX_PATH, params=self._credentials()))
        return parse_inbox(text)

    def check(self):
        """Test connection: balance.php needs valid credentials and changes nothing."""
        try:
            balance = self.balance()
        except ProviderError as exc:
            return CheckResult(False, exc.message, {"code": exc.code})
        summary = f"Balance {balance.amount:,.0f}"
        if balance.expires_at:
            summary += f", valid until {balance.expires_at:%Y-%m-%d %H:%M} UTC"
        expires = balance.expires_at.isoformat() if balance.expires_at else None
        return CheckResult(True, summary, {"balance": balance.amount, "expires_at": expires})

    def _text(self, response):
        """The stripped body of a 2xx answer; raises for HTTP errors and the wrong-credentials text."""
        if "charset" not in response.headers.get("Content-Type", "").lower():
            # Without a charset requests assumes ISO-8859-1 for text/*; PHP's default output is UTF-8.
            response.encoding = "utf-8"
        text = response.text.strip()
        if not 200 <= response.status_code < 300:
            raise ProviderError(
                "bad_status", f"masking answered HTTP {response.status_code}",
                http_status=response.status_code, raw=text[:500],
            )
        if text == AUTH_FAILED_BODY:
            raise _error("auth_failed", text)
        return text


def _error(code, raw, message=None):
    human, retryable = ERROR_CODES[code]
    return ProviderError(code, message or human, retryable, http_status=200, raw=raw)


def parse_message_id(text):
    """The message id from a send answer (plain digits), else the ProviderError the body means."""
    if text in SEND_ERROR_BODIES:
        raise _error(SEND_ERROR_BODIES[text], text)
    if text.isascii() and text.isdigit():
        return text
    if not text:
        # An empty 200 tells nothing: the message may have been accepted.
        raise ProviderError("unparseable", "masking answered an empty body", http_status=200, raw=text)
    raise _error("rejected", text, f"the provider refused the message: {text[:200]}")


def parse_report(message_id, text):
    """"22," -> code 22, detail ""; a body not starting with a digit ("Success Send") -> code "", no state."""
    if text[:1].isdigit():
        code, _, detail = (part.strip() for part in text.partition(","))
    else:
        code, detail = "", text
    return ReportResult(message_id, code, detail, _state(code, detail), raw=text)


def _state(code, detail):
    # report.php's table lists "No Charge" (wrong number format, not charged) under 50 as well as 52.
    if code == "50" and "no charge" in detail.lower():
        return "undeliverable"
    return REPORT_CODES.get(code, ("", None))[1]


def _update(reference, code, detail, kind, details):
    """The StatusUpdate both report.php and the DLR callback produce for the same code."""
    state = _state(code, detail)
    failed = state in ("failed", "undeliverable")
    return StatusUpdate(
        reference=reference, state=state, provider_status=code or detail,
        error_code=code if failed else "", error_text=(detail or REPORT_CODES[code][0]) if failed else "",
        kind=kind, details=details,
    )


def _jakarta_to_utc(text, formats):
    for layout in formats:
        try:
            local = datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
        return local.replace(tzinfo=PROVIDER_TZ).astimezone(UTC).replace(tzinfo=None)
    raise ValueError(f"unknown time layout: {text!r}")


def parse_balance(text):
    """"150000,2025/12/31-23:59:59" -> Balance(150000.0, 2025-12-31 16:59:59 UTC)."""
    amount, _, expiry = text.partition(",")
    try:
        return Balance(
            float(amount),
            _jakarta_to_utc(expiry, (BALANCE_TIME_FORMAT,)) if expiry.strip() else None,
            raw=text,
        )
    except ValueError as exc:
        raise ProviderError("unparseable", "masking balance answer is not \"amount,expiry\"",
                            http_status=200, raw=text[:500]) from exc


def _report_date(value):
    return value.strftime(REPORTS_DATE_FORMAT)


def _uniform_csv(text):
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if rows and len(rows[0]) > 1 and all(len(row) == len(rows[0]) for row in rows):
        return rows
    return []


def parse_callback(kind, payload):
    """The masking DLR (GET session_id, error_code, error_message, msisdn) -> one StatusUpdate."""
    if kind != "dlr":
        raise CallbackInvalid(f"masking has no {kind!r} callback")
    if not isinstance(payload, dict):
        raise CallbackInvalid("masking DLR parameters are missing")
    session_id = str(payload.get("session_id") or "").strip()
    code = str(payload.get("error_code") or "").strip()
    if not session_id or not code:
        raise CallbackInvalid("masking DLR needs session_id and error_code")
    message = str(payload.get("error_message") or "").strip()
    details = {"msisdn": str(payload.get("msisdn") or ""), "error_message": message}
    return [_update(session_id, code, message, "dlr", details)]
