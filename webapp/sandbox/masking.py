"""MySMSMasking simulator, mounted at /masking (spec: shared/specs/sms-masking-http-api.txt).

Endpoints: send.php (GET query or POST form), send_post.php (POST form), report.php?rpt=ID, balance.php,
reports_post.php (POST form start/end as dd-mm-YYYY), inbox.php, all answering plain text with HTTP 200,
like the PHP service. Wrong credentials answer "Sorry anda tidak punya akses"; an hp that does not match
^(0|62)8[1-9]\\d+$ answers "Invalid MSISDN"; success answers an 8-digit message id and charges
PRICE_PER_SMS per segment from the balance.

TEST NUMBERS, chosen by the last four digits of hp (62812345xxxx or 0812345xxxx):
    ...0000  delivered: report "22,", DLR error_code 22 (any other suffix behaves the same)
    ...0050  failed: report "50,Failed", DLR 50
    ...0051  failed, balance period expired: report "51,Expiration Period", DLR 51
    ...0052  undeliverable, wrong number format: report "52,No Charge", DLR 52, the balance is not charged
    ...0020  pending forever: report "20,Pending", no DLR
    ...0404  delivered but NO DLR is sent: only polling report.php finds it
    ...0999  send answers "Invalid MSISDN" (no message id)
    ...0401  send answers "Sorry anda tidak punya akses" as for wrong credentials (account-level)
A send the balance cannot pay is still accepted and ends "50,Saldo Habis" (with a DLR), uncharged.
Tests can empty the account with `state.simulators["masking"].balance = 0`.

Lifecycle: until state.event_delay has passed report.php answers "Success Send" (GUESS from a public caller
that polls while the body says so); then the final status is decided, report.php answers it, and the DLR is
fired as a GET to state.callback_url("masking/{token}") with session_id, error_code, error_message, msisdn.

Inbox (format not public): by default inbox.php answers CSV lines "id,sender,message,datetime" after a header
line, sender as 62..., datetime "YYYY-MM-DD HH:MM:SS" Jakarta time. A real gateway may answer otherwise, so
SANDBOX_INBOX_SHAPE picks another shape (INBOX_SHAPES: separators, column orders, no id, quoting, JSON, a PHP
notice before the data, an error page); strict mode answers "semicolon" (no header, no id, time first, 08...)
unless a shape is set. Every message stays listed (a poller must skip what it has seen). Inject inbound SMS
with the test-only `POST /masking/_sandbox/inbox` (form sender, message; sender as +62..., 62... or 08...),
answered with the id.

Strict mode (state.strict, SANDBOX_STRICT): report.php answers the bare code the spec's table shows ("22",
"50", "20"), the DLR carries one parameter the spec does not list, the final status is decided at once (so
its DLR races the answer to the send itself), and a delivered message's DLR is followed by a late "20"
(pending) DLR: events out of order.

reports_post.php (format not public; defined here): CSV with a header
"id,hp,message,segments,sent_at,code,detail" and one row per send whose Jakarta date is in [start, end].
"""
import csv
import hmac
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from flask import Blueprint, Response, current_app, request

from webapp.config import SANDBOX_CREDENTIALS
from webapp.providers.masking import PROVIDER_TZ, segments
from webapp.sandbox.state import BaseSimulator

bp = Blueprint("masking", __name__)

# Numbers the real service accepts (the validation public clients copy from it).
HP_PATTERN = re.compile(r"^(0|62)8[1-9]\d+$")
# Rupiah charged per SMS segment, and the balance a reset account starts with.
PRICE_PER_SMS = 350
INITIAL_BALANCE = 150_000
# Balance stays valid three months after a top-up (the spec's "saldo berlaku selama 3 bulan").
BALANCE_VALIDITY = timedelta(days=90)
# First message id: the spec's sample id, so ids look like the real 8-digit ones.
FIRST_MESSAGE_ID = 18_319_370
# hp suffix -> (final code, report detail, DLR sent); see the module docstring.
OUTCOMES = {
    "0000": ("22", "", True),
    "0050": ("50", "Failed", True),
    "0051": ("51", "Expiration Period", True),
    "0052": ("52", "No Charge", True),
    "0020": ("20", "Pending", False),
    "0404": ("22", "", False),
}
DELIVERED_CODE, PENDING_CODE = "22", "20"
# Strict mode: a DLR parameter the spec does not list, which a client must ignore.
STRICT_EXTRA_PARAM = "dlr_time"
# The outcome when the balance cannot pay the message.
NO_BALANCE = ("50", "Saldo Habis", True)
# hp suffix refused at send time.
INVALID_SUFFIX = "0999"
# hp suffix answered like wrong credentials (a test number for the safety brake).
AUTH_FAILED_SUFFIX = "0401"
# Final code that is not charged ("No Charge").
UNCHARGED_CODE = "52"
AUTH_FAILED_BODY = "Sorry anda tidak punya akses"
INVALID_MSISDN_BODY = "Invalid MSISDN"
# report.php before the final status (GUESS, see the docstring).
BEFORE_STATUS_BODY = "Success Send"
# GUESSES: the service's answers for an unknown report id, a bad report date, and an internal failure.
UNKNOWN_ID_BODY = "Invalid ID"
INVALID_DATE_BODY = "Invalid Date"
FAULT_BODY = "Internal Server Error"
# Layouts of the simulator's CSV answers.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%d-%m-%Y"
BALANCE_TIME_FORMAT = "%Y/%m/%d-%H:%M:%S"
REPORT_HEADER = ("id", "hp", "message", "segments", "sent_at", "code", "detail")
INBOX_HEADER = ("id", "sender", "message", "datetime")
# The inbox shape strict mode answers when SANDBOX_INBOX_SHAPE is not set: the least a gateway may give.
STRICT_INBOX_SHAPE = "semicolon"
# A PHP notice as a misconfigured host prints it before the data (a line that is no message).
PHP_NOTICE = ("<br />\n<b>Notice</b>:  Undefined index: page in <b>/var/www/masking/inbox.php</b> "
              "on line <b>12</b><br />")
# An answer with no message at all: the host's database is down.
PHP_ERROR_PAGE = ("<br />\n<b>Warning</b>:  mysqli_connect(): (HY000/2002): Connection refused in "
                  "<b>/var/www/masking/inbox.php</b> on line <b>4</b><br />\nGagal koneksi database")


@dataclass
class Message:
    id: str
    hp: str
    text: str
    segments: int
    sent_at: datetime  # Jakarta local time, as the provider writes it
    final: tuple
    dlr: bool
    code: str = ""
    detail: str = BEFORE_STATUS_BODY

    def report_body(self):
        return f"{self.code},{self.detail}" if self.code else self.detail


class Simulator(BaseSimulator):
    def reset(self):
        with self.state.lock:
            self.messages = {}
            self.inbox = []
            self.balance = INITIAL_BALANCE
            self.expires_at = jakarta_now() + BALANCE_VALIDITY
            self.message_ids = itertools.count(FIRST_MESSAGE_ID)
            self.inbox_ids = itertools.count(1)

    def accept(self, hp, text):
        count = segments(text)
        code, detail, dlr = OUTCOMES.get(hp[-4:], OUTCOMES["0000"])
        with self.state.lock:
            if code != UNCHARGED_CODE:
                if self.balance < count * PRICE_PER_SMS:
                    code, detail, dlr = NO_BALANCE
                else:
                    self.balance -= count * PRICE_PER_SMS
            message = Message(str(next(self.message_ids)), hp, text, count, jakarta_now(), (code, detail), dlr)
            self.messages[message.id] = message
        self.state.later(0 if self.state.strict else self.state.event_delay, self.finish, message.id)
        return message.id

    def finish(self, message_id):
        """Decide the final status; fire the DLR unless the test number withholds it."""
        with self.state.lock:
            message = self.messages.get(message_id)
            if message is None:  # dropped by a reset while the timer was due
                return
            message.code, message.detail = message.final
            params = {
                "session_id": message.id, "error_code": message.code,
                "error_message": message.detail or "Delivered", "msisdn": international(message.hp),
            }
        if not message.dlr:
            return
        url = self.state.callback_url("masking/{token}")
        if self.state.strict:
            params[STRICT_EXTRA_PARAM] = "1"
        self.state.deliver("GET", url, params=params)
        if self.state.strict and message.code == DELIVERED_CODE:
            late = {**params, "error_code": PENDING_CODE, "error_message": "Pesan pending terkirim"}
            self.state.later(self.state.event_delay, partial(self.state.deliver, "GET", url, params=late))

    def report_body(self, message_id):
        with self.state.lock:
            message = self.messages.get(message_id)
            if message is None:
                return UNKNOWN_ID_BODY
            return message.code if self.state.strict and message.code else message.report_body()

    def balance_body(self):
        with self.state.lock:
            return f"{self.balance},{self.expires_at:{BALANCE_TIME_FORMAT}}"

    def reports_csv(self, start, end):
        with self.state.lock:
            rows = [
                (m.id, m.hp, m.text, m.segments, f"{m.sent_at:{TIME_FORMAT}}", m.code, m.detail)
                for m in self.messages.values() if start <= m.sent_at.date() <= end
            ]
        return to_csv(REPORT_HEADER, rows)

    def receive(self, sender, text):
        with self.state.lock:
            message_id = str(next(self.inbox_ids))
            self.inbox.append((message_id, sender, text, jakarta_now()))
        return message_id

    def inbox_body(self):
        shape = self.state.setting("SANDBOX_INBOX_SHAPE") or (STRICT_INBOX_SHAPE if self.state.strict else "csv")
        with self.state.lock:
            rows = list(self.inbox)
        return INBOX_SHAPES[shape](rows)


def _delimited(rows, delimiter, header=None, quoting=csv.QUOTE_MINIMAL):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=quoting)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _local(hp):
    return "0" + hp[2:]


def _spaced(hp):
    """+62 812-3456-0000: how a person (or a spreadsheet) writes a number."""
    rest = hp[2:]
    return f"+62 {rest[:3]}-{rest[3:7]}-{rest[7:]}"


def _utc_iso(local):
    return local.replace(tzinfo=PROVIDER_TZ).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _gammu(rows):
    """Rows of a Gammu SMSD inbox table (what collocation modem gateways commonly run), wrapped in JSON."""
    return json.dumps({"status": "ok", "data": [
        {"UpdatedInDB": f"{at:{TIME_FORMAT}}", "ReceivingDateTime": f"{at:{TIME_FORMAT}}",
         "Text": text.encode("utf-16-be").hex().upper(), "SenderNumber": "+" + hp, "Coding": "Default_No_Compression",
         "SMSCNumber": "+6281100000", "Class": -1, "TextDecoded": text, "ID": int(mid), "RecipientID": "modem1",
         "Processed": False} for mid, hp, text, at in rows]})


# inbox.php answer shapes: name -> rows [(id, sender 62..., text, Jakarta datetime)] -> body.
INBOX_SHAPES = {
    "csv": lambda rows: _delimited([(m, hp, t, f"{at:{TIME_FORMAT}}") for m, hp, t, at in rows], ",", INBOX_HEADER),
    "semicolon": lambda rows: _delimited([(f"{at:%d-%m-%Y %H:%M:%S}", _local(hp), t) for _m, hp, t, at in rows], ";"),
    "tab": lambda rows: _delimited([("+" + hp, t, at.isoformat() + "+07:00", m) for m, hp, t, at in rows], "\t"),
    "pipe": lambda rows: _delimited([(m, f"{at:%d/%m/%Y %H:%M:%S}", _spaced(hp), t) for m, hp, t, at in rows], "|",
                                    quoting=csv.QUOTE_ALL),
    "json": lambda rows: json.dumps([{"id": m, "from": "+" + hp, "text": t, "received_at": _utc_iso(at)}
                                     for m, hp, t, at in rows]),
    "json-rows": lambda rows: json.dumps([[hp, f"{at:{TIME_FORMAT}}", t] for _m, hp, t, at in rows]),
    "gammu": _gammu,
    "notice": lambda rows: PHP_NOTICE + "\n" + INBOX_SHAPES["csv"](rows),
    "html-error": lambda rows: PHP_ERROR_PAGE,
    "json-error": lambda rows: json.dumps({"status": "error", "message": "Server sibuk, coba lagi nanti"}),
}


def jakarta_now():
    return datetime.now(PROVIDER_TZ).replace(tzinfo=None, microsecond=0)


def international(hp):
    """62... from 0... or 62... (the DLR's msisdn is written with the country code)."""
    return "62" + hp[1:] if hp.startswith("0") else hp


def to_csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _state():
    return current_app.extensions["sandbox"]


def _simulator():
    return _state().simulators["masking"]


def _text(body, status=200):
    # PHP's default content type; errors are 200 too, only the body tells.
    return Response(body, status, mimetype="text/html")


def _authorized(values):
    state = _state()
    expected = [
        state.setting(name) or SANDBOX_CREDENTIALS[name] for name in ("MASKING_USERNAME", "MASKING_PASSWORD")
    ]
    given = [values.get("username", ""), values.get("password", "")]
    return all(hmac.compare_digest(g.encode(), e.encode()) for g, e in zip(given, expected, strict=True))


@bp.before_request
def inject_fault():
    # The spec documents no 5xx; a bare 500 is what a failing PHP host answers (GUESS).
    if not request.path.endswith("/_sandbox/inbox") and _state().should_fail():
        return _text(FAULT_BODY, 500)
    return None


def _send(values):
    if not _authorized(values):
        return _text(AUTH_FAILED_BODY)
    hp = values.get("hp", "").strip()
    if hp.endswith(AUTH_FAILED_SUFFIX):
        return _text(AUTH_FAILED_BODY)
    if not HP_PATTERN.match(hp) or hp.endswith(INVALID_SUFFIX):
        return _text(INVALID_MSISDN_BODY)
    return _text(_simulator().accept(hp, values.get("message", "")))


@bp.route("/send.php", methods=["GET", "POST"])
def send():
    return _send(request.form if request.method == "POST" else request.args)


@bp.post("/send_post.php")
def send_post():
    return _send(request.form)


@bp.get("/report.php")
def report():
    return _text(_simulator().report_body(request.args.get("rpt", "").strip()))


@bp.get("/balance.php")
def balance():
    if not _authorized(request.args):
        return _text(AUTH_FAILED_BODY)
    return _text(_simulator().balance_body())


@bp.post("/reports_post.php")
def reports_post():
    if not _authorized(request.form):
        return _text(AUTH_FAILED_BODY)
    try:
        start, end = (datetime.strptime(request.form.get(k, ""), DATE_FORMAT).date() for k in ("start", "end"))
    except ValueError:
        return _text(INVALID_DATE_BODY)
    return _text(_simulator().reports_csv(start, end))


@bp.get("/inbox.php")
def inbox():
    if not _authorized(request.args):
        return _text(AUTH_FAILED_BODY)
    return _text(_simulator().inbox_body())


@bp.post("/_sandbox/inbox")
def inject_inbound():
    """Test-only: an inbound SMS (form sender, message) as if a handset had texted the modem."""
    sender = re.sub(r"\D", "", request.form.get("sender", ""))
    text = request.form.get("message", "")
    if not HP_PATTERN.match(sender) or not text:
        return _text("sender (62... or 08...) and message are required", 400)
    return _text(_simulator().receive(international(sender), text))
