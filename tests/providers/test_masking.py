"""MySMSMasking: every endpoint and answer against the simulator, the DLR table, lifecycle, redaction."""
import socket
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, quote_plus

import pytest
import requests

from tests.providers.harness import ListSink, OutCase, assert_no_secrets, make_client, params, run_out_case
from webapp.callbacks.bodies import stored_payload
from webapp.providers.base import CallbackInvalid, ProviderError, StatusUpdate
from webapp.providers.masking import (
    Client,
    InboxMessage,
    encoding,
    parse_balance,
    parse_callback,
    parse_inbox,
    parse_message_id,
    parse_report,
    segments,
)

PREFIX = "/masking"
USER, PASSWORD = "sandbox", "sandbox-masking-pass"
CREDS = {"username": USER, "password": PASSWORD}
FIRST_ID = "18319370"  # the simulator's first message id after a reset
ODD_PASSWORD = "p@ss w/rd+&=%?"


def number(suffix):
    return "+62812345" + suffix


def wrong_password(client):
    return Client(client.base_url, client.username, "wrong-password", log_sink=client.log_sink)


def sent(suffix, flush=True, balance=None, text="Hello"):
    """Setup: a message already accepted by the simulator (and finished unless flush=False)."""

    def setup(sandbox):
        sandbox.configure(SANDBOX_EVENT_DELAY=60)  # only flush() moves the lifecycle
        simulator = sandbox.simulators["masking"]
        if balance is not None:
            simulator.balance = balance
        simulator.accept("62812345" + suffix, text)
        if flush:
            sandbox.flush()

    return setup


def failing(sandbox):
    sandbox.configure(SANDBOX_FAILURE_RATIO=1)


def expect(**fields):
    def check(result):
        for name, value in fields.items():
            assert getattr(result, name) == value, (name, getattr(result, name))

    return check


def balance_from_raw(result):
    expiry_wib = datetime.strptime(result.raw.split(",")[1], "%Y/%m/%d-%H:%M:%S")
    assert (result.amount, result.expires_at) == (150000.0, expiry_wib - timedelta(hours=7))


def one_failed_row(result):
    header, *rows = result.rows
    assert header[0] == "id" and [(row[0], row[5], row[6]) for row in rows] == [(FIRST_ID, "50", "Failed")]


def empty(result):
    assert (result.messages, result.not_understood) == ([], [])


def inbound(sandbox):
    sandbox.simulators["masking"].receive("628123450000", "STOP")
    sandbox.simulators["masking"].receive("628123450001", "Halo, apa kabar? 😀")


def two_messages(result):
    assert [(m.id, m.sender_e164, m.text) for m in result] == [
        ("1", "+628123450000", "STOP"), ("2", "+628123450001", "Halo, apa kabar? 😀")]


def report_case(suffix, code, detail, state, **kwargs):
    return OutCase(
        f"report_{suffix}_{code or 'none'}", lambda c: c.report(FIRST_ID), "GET", "/report.php",
        {"args": {"rpt": FIRST_ID}}, expect(code=code, detail=detail, state=state), setup=sent(suffix, **kwargs),
    )


OUT_CASES = [
    OutCase("send_get", lambda c: c.send(number("0000"), "Hello"), "GET", "/send.php",
            {"args": {**CREDS, "hp": "628123450000", "message": "Hello"}},
            expect(message_id=FIRST_ID, segments=1)),
    OutCase("send_post", lambda c: c.send(number("0000"), "Hello", method="POST"), "POST", "/send_post.php",
            {"form": {**CREDS, "hp": "628123450000", "message": "Hello"}, "args": {}},
            expect(message_id=FIRST_ID, segments=1)),
    OutCase("send_long_two_segments", lambda c: c.send(number("0000"), "x" * 161), "GET", "/send.php",
            {"args": {"message": "x" * 161}}, expect(segments=2)),
    OutCase("send_unicode", lambda c: c.send(number("0000"), "Halo 😀 ñ"), "GET", "/send.php",
            {"args": {"message": "Halo 😀 ñ"}}, expect(segments=1)),
    OutCase("send_invalid_msisdn_test_number", lambda c: c.send(number("0999"), "Hi"), "GET", "/send.php",
            {"args": {"hp": "628123450999"}}, error="invalid_msisdn", retryable=False),
    OutCase("send_invalid_msisdn_foreign", lambda c: c.send("+14155550100", "Hi"), "GET", "/send.php",
            {"args": {"hp": "14155550100"}}, error="invalid_msisdn", retryable=False),
    OutCase("send_auth_failed", lambda c: wrong_password(c).send(number("0000"), "Hi"), "GET", "/send.php",
            {"args": {"password": "wrong-password"}}, error="auth_failed", retryable=True),
    OutCase("send_post_auth_failed", lambda c: wrong_password(c).send(number("0000"), "Hi", method="POST"),
            "POST", "/send_post.php", error="auth_failed", retryable=True),
    OutCase("send_5xx_outcome_unknown", lambda c: c.send(number("0000"), "Hi"), "GET", "/send.php",
            error="bad_status", retryable=False, setup=failing),
    report_case("0000", "22", "", "delivered"),
    report_case("0404", "22", "", "delivered"),
    report_case("0050", "50", "Failed", "failed"),
    report_case("0051", "51", "Expiration Period", "failed"),
    report_case("0052", "52", "No Charge", "undeliverable"),
    report_case("0020", "20", "Pending", "submitted"),
    report_case("0000", "50", "Saldo Habis", "failed", balance=0),
    report_case("0000", "", "Success Send", None, flush=False),
    OutCase("report_unknown_id", lambda c: c.report("99999999"), "GET", "/report.php",
            {"args": {"rpt": "99999999"}}, expect(code="", state=None)),
    OutCase("report_5xx", lambda c: c.report(FIRST_ID), "GET", "/report.php", error="bad_status", setup=failing),
    OutCase("balance", lambda c: c.balance(), "GET", "/balance.php", {"args": CREDS}, balance_from_raw),
    OutCase("balance_charged_per_segment", lambda c: c.balance(), "GET", "/balance.php",
            result=expect(amount=150000.0 - 2 * 350), setup=sent("0000", text="x" * 200)),
    OutCase("balance_no_charge_52", lambda c: c.balance(), "GET", "/balance.php",
            result=expect(amount=150000.0), setup=sent("0052")),
    OutCase("balance_auth_failed", lambda c: wrong_password(c).balance(), "GET", "/balance.php",
            error="auth_failed"),
    OutCase("reports_empty_range", lambda c: c.reports(date(2020, 1, 1), date(2020, 1, 31)), "POST",
            "/reports_post.php", {"form": {**CREDS, "start": "01-01-2020", "end": "31-01-2020"}},
            expect(rows=[["id", "hp", "message", "segments", "sent_at", "code", "detail"]])),
    OutCase("reports_rows", lambda c: c.reports(date.today() - timedelta(days=2), date.today() + timedelta(days=2)),
            "POST", "/reports_post.php", result=one_failed_row, setup=sent("0050")),
    OutCase("reports_auth_failed", lambda c: wrong_password(c).reports(date(2020, 1, 1), date(2020, 1, 2)),
            "POST", "/reports_post.php", error="auth_failed"),
    OutCase("inbox_empty", lambda c: c.inbox(), "GET", "/inbox.php", {"args": CREDS}, empty),
    OutCase("inbox_messages", lambda c: c.inbox(), "GET", "/inbox.php", result=two_messages, setup=inbound),
    OutCase("inbox_auth_failed", lambda c: wrong_password(c).inbox(), "GET", "/inbox.php", error="auth_failed"),
]


@pytest.mark.parametrize("case", params(OUT_CASES))
def test_out(case, app, sandbox):
    run_out_case(case, make_client("masking", app), sandbox, PREFIX)


# --- parsers of the plain-text answers ---------------------------------------------------------------------
@pytest.mark.parametrize("body, result, retryable", [
    ("18319370", "18319370", None),
    ("Invalid MSISDN", "invalid_msisdn", False),
    ("Sorry anda tidak punya akses", "auth_failed", True),
    ("0", "rejected", False),
    ("-1", "rejected", False),
    ("Error: message empty", "rejected", False),
    ("<html>502 Bad Gateway</html>", "rejected", False),
    ("", "unparseable", False),
])
def test_send_bodies(body, result, retryable):
    if retryable is None:
        assert parse_message_id(body) == result
        return
    with pytest.raises(ProviderError) as info:
        parse_message_id(body)
    assert (info.value.code, info.value.retryable, info.value.raw) == (result, retryable, body)


@pytest.mark.parametrize("body, code, detail, state", [
    ("22,", "22", "", "delivered"),
    ("50,Failed", "50", "Failed", "failed"),
    ("50,Saldo Habis", "50", "Saldo Habis", "failed"),
    ("50, No Charge", "50", "No Charge", "undeliverable"),  # the report table lists No Charge under 50 too
    ("51,Expiration Period", "51", "Expiration Period", "failed"),
    ("52,No Charge", "52", "No Charge", "undeliverable"),
    ("20,Pending", "20", "Pending", "submitted"),
    ("Success Send", "", "Success Send", None),
    ("99,Something new", "99", "Something new", None),
    ("", "", "", None),
])
def test_report_bodies(body, code, detail, state):
    result = parse_report("42", body)
    assert (result.code, result.detail, result.state) == (code, detail, state)
    update = result.to_update()
    assert (update.reference, update.state, update.kind) == ("42", state, "report")


@pytest.mark.parametrize("body, amount, expires_at", [
    ("150000,2025/12/31-23:59:59", 150000.0, datetime(2025, 12, 31, 16, 59, 59)),
    ("1500.5", 1500.5, None),
])
def test_balance_bodies(body, amount, expires_at):
    assert (parse_balance(body).amount, parse_balance(body).expires_at) == (amount, expires_at)


@pytest.mark.parametrize("body", ["abc", "150000,31-12-2025", ""])
def test_balance_unparseable(body):
    with pytest.raises(ProviderError, match="unparseable"):
        parse_balance(body)


STOP = InboxMessage("7", "+628123450000", "STOP", datetime(2025, 1, 2, 0, 0, 0))
NO_ID_STOP = InboxMessage("", "+628123450000", "STOP", datetime(2025, 1, 2, 0, 0, 0))
HI = InboxMessage("8", "+628123450000", "Hi, there", datetime(2025, 1, 2))
GAMMU_ROW = ('{"UpdatedInDB":"2025-01-03 09:00:00","ReceivingDateTime":"2025-01-02 07:00:00","Text":"0053",'
             '"SenderNumber":"+628123450000","SMSCNumber":"+6281100000","TextDecoded":"STOP","ID":7,'
             '"RecipientID":"modem1","Processed":false}')


# Shapes a collocation-modem inbox may answer (the format is not public): read by content, in any order.
@pytest.mark.parametrize("body, expected", [
    ("id,sender,message,datetime\n7,628123450000,STOP,2025-01-02 07:00:00\n", [STOP]),
    ("7,628123450000,STOP,2025-01-02 07:00:00", [STOP]),
    ("7,08123450000,STOP,2025/01/02-07:00:00\r\n", [STOP]),
    ('8,628123450000,"Hi, there",02-01-2025 07:00:00', [HI]),
    ("8,628123450000,Hi, there,02-01-2025 07:00:00", [HI]),  # unquoted text cut by the separator, joined back
    ("02-01-2025 07:00:00;08123450000;STOP", [NO_ID_STOP]),
    ("+62 812-345-0000\tSTOP\t2025-01-02T07:00:00+07:00\t7", [STOP]),
    ('"7"|"02/01/2025 07:00:00"|"628123450000"|"STOP"', [STOP]),
    ("7|2025-01-02 07:00|628123450000|STOP", [STOP]),
    ("628123450000;STOP;2025-01-02;07:00:00", [NO_ID_STOP]),  # date and time in two columns
    ('[{"id":"7","from":"+628123450000","text":"STOP","received_at":"2025-01-02T00:00:00Z"}]', [STOP]),
    ('[["628123450000","2025-01-02 07:00:00","STOP"]]', [NO_ID_STOP]),
    ('{"status":"ok","data":[' + GAMMU_ROW + ']}', [STOP]),  # names break the ties: SMSC, UpdatedInDB
    ("No;Tanggal;Pengirim;Isi\n7;2025-01-02 07:00:00;628123450000;STOP", [STOP]),
    ("sender,message,id,datetime\n628123450000,123,7,2025-01-02 07:00:00",  # the header says which is the id
     [InboxMessage("7", "+628123450000", "123", datetime(2025, 1, 2))]),
    ("7,628123450000,1,2025-01-02 07:00:00", [InboxMessage("7", "+628123450000", "1", datetime(2025, 1, 2))]),
    ("628123450000,STOP", [InboxMessage("", "+628123450000", "STOP", None)]),
    ("", []),
])
def test_inbox_shapes(body, expected):
    answer = parse_inbox(body)
    assert (answer.messages, answer.not_understood) == (expected, [])


# Nothing is dropped: what cannot be read comes back raw, next to the messages that could.
@pytest.mark.parametrize("body, expected, raw", [
    ("<html><body>Not Found</body></html>", [], ["<html><body>Not Found</body></html>"]),
    ("<br />\n<b>Warning</b>: mysqli_connect(): Connection refused in <b>inbox.php</b><br />\nGagal koneksi",
     [], ["<br />", "<b>Warning</b>: mysqli_connect(): Connection refused in <b>inbox.php</b><br />", "Gagal koneksi"]),
    ('{"status":"error","message":"Tidak ada akses"}', [], ['{"status": "error", "message": "Tidak ada akses"}']),
    ("garbage\n7,not-a-phone,STOP,2025-01-02 07:00:00\n7,628123450000,STOP,2025-01-02 07:00:00", [STOP],
     ["garbage", "7,not-a-phone,STOP,2025-01-02 07:00:00"]),
    ('"unterminated\n7,628123450000,STOP,2025-01-02 07:00:00', [STOP], ['"unterminated']),
    ("[1, 2]", [], ["1", "2"]),
    ("628123450000", [], ["628123450000"]),
])
def test_inbox_garbage_is_kept_raw(body, expected, raw):
    answer = parse_inbox(body)
    assert (answer.messages, answer.not_understood) == (expected, raw)


def test_inbox_keys_tell_repeated_messages_apart():
    """Without ids, two identical STOPs in one answer are two messages, and the next poll gives the same keys."""
    body = ("628123450000;STOP;2025-01-02 07:00:00\n628123450000;STOP;2025-01-02 07:00:00\n"
            "628123450000;STOP;2025-01-02 07:00:01")
    keys = [m.key for m in parse_inbox(body).messages]
    assert len(set(keys)) == 3 and keys == [m.key for m in parse_inbox(body).messages]
    assert [m.key for m in parse_inbox("7,628123450000,STOP,2025-01-02 07:00:00").messages] == ["7"]


@pytest.mark.parametrize("text, coding, count", [
    ("", "GSM-7", 1),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # extension characters count two septets
    ("€" * 81, "GSM-7", 2),
    ("a" * 152 + "€" * 77, "GSM-7", 3),  # an escape pair is never split across parts
    ("Çç", "UCS-2", 1),  # only the capital is in the GSM alphabet
    ("ж" * 70, "UCS-2", 1),
    ("ж" * 71, "UCS-2", 2),
    ("ж" * 134, "UCS-2", 2),
    ("ж" * 135, "UCS-2", 3),
    ("😀" * 35, "UCS-2", 1),  # a surrogate pair is two UCS-2 units
    ("😀" * 36, "UCS-2", 2),
])
def test_segments(text, coding, count):
    assert (encoding(text), segments(text)) == (coding, count)


# --- DLR callbacks --------------------------------------------------------------------------------------
DLR = {"session_id": "38590565", "error_code": "51", "error_message": "Expiration Period", "msisdn": "62822000"}


def dlr_update(state, code, message, error=False):
    return StatusUpdate(
        "38590565", state, provider_status=code, error_code=code if error else "",
        error_text=message if error else "", kind="dlr", details={"msisdn": "62822000", "error_message": message},
    )


@pytest.mark.parametrize("kind, payload, expected", [
    ("dlr", DLR, [dlr_update("failed", "51", "Expiration Period", error=True)]),
    ("dlr", {**DLR, "error_code": "22", "error_message": "Delivered"}, [dlr_update("delivered", "22", "Delivered")]),
    ("dlr", {**DLR, "error_code": "50", "error_message": "Saldo Habis"},
     [dlr_update("failed", "50", "Saldo Habis", error=True)]),
    ("dlr", {**DLR, "error_code": "52", "error_message": "No Charge"},
     [dlr_update("undeliverable", "52", "No Charge", error=True)]),
    ("dlr", {**DLR, "error_code": "20", "error_message": "Pending"}, [dlr_update("submitted", "20", "Pending")]),
    ("dlr", {**DLR, "error_code": "99", "error_message": "New"}, [dlr_update(None, "99", "New")]),
    ("dlr", {k: v for k, v in DLR.items() if k != "session_id"}, CallbackInvalid),
    ("dlr", {**DLR, "error_code": ""}, CallbackInvalid),
    ("dlr", {}, CallbackInvalid),
    ("dlr", None, CallbackInvalid),
    ("events", DLR, CallbackInvalid),
])
def test_parse_callback(kind, payload, expected):
    if expected is CallbackInvalid:
        with pytest.raises(CallbackInvalid):
            parse_callback(kind, payload)
    else:
        assert parse_callback(kind, payload) == expected


# --- lifecycle: send -> final status -> DLR on the app, and report.php agreeing --------------------------
@pytest.mark.parametrize("suffix, code, state, callback", [
    ("0000", "22", "delivered", True),
    ("0050", "50", "failed", True),
    ("0051", "51", "failed", True),
    ("0052", "52", "undeliverable", True),
    ("0020", "20", "submitted", False),
    ("0404", "22", "delivered", False),
])
def test_lifecycle(suffix, code, state, callback, ctx, sandbox, live_url, sandbox_mode):
    from webapp.models import CallbackEvent

    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    client = make_client("masking", ctx)
    message_id = client.send(number(suffix), "Hello").message_id
    if sandbox_mode == "default":  # strict decides the final status at once
        assert client.report(message_id).code == ""
    sandbox.flush()
    report = client.report(message_id)
    assert (report.code, report.state) == (code, state)
    if sandbox_mode == "strict":  # the bare code, as the spec's table shows it
        assert (report.raw, report.detail) == (code, "")
    events = list(CallbackEvent.select().where(CallbackEvent.provider == "masking").order_by(CallbackEvent.id))
    # Strict: a delivered message's DLR is followed by a late "20" (pending) one.
    late = sandbox_mode == "strict" and callback and code == "22"
    assert len(events) == int(callback) + int(late)
    if callback:
        sent_callback = sandbox.callbacks_sent[0]
        assert sent_callback["url"].startswith(f"{live_url}/callbacks/masking/") and sent_callback["status"] == 200
        assert events[0].method == "GET"
        [update] = parse_callback(events[0].kind, stored_payload(events[0]))
        assert (update.reference, update.state, update.details["msisdn"]) == (message_id, state, "62812345" + suffix)
        assert update.state == report.to_update().state


def test_lifecycle_on_the_timer(app, sandbox):
    """Without flush: the simulator's own timer finishes the message after SANDBOX_EVENT_DELAY."""
    client = make_client("masking", app)
    message_id = client.send(number("0404"), "Hello").message_id
    deadline = time.monotonic() + 3
    while client.report(message_id).code == "" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.report(message_id).state == "delivered"


def test_simulator_accepts_local_zero_numbers(app, sandbox):
    base = app.config["MASKING_BASE_URL"]
    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    answer = requests.get(f"{base}/send.php", params={**CREDS, "hp": "08123450000", "message": "Hi"}, timeout=5)
    assert answer.text == FIRST_ID
    assert requests.post(f"{base}/send.php", data={**CREDS, "hp": "8123", "message": "Hi"}, timeout=5).text == (
        "Invalid MSISDN")
    sandbox.flush()
    assert sandbox.callbacks_sent[-1]["params"]["msisdn"] == "628123450000"


def test_injected_inbound_sms_reaches_inbox(app, sandbox):
    base = app.config["MASKING_BASE_URL"]
    injected = requests.post(f"{base}/_sandbox/inbox", data={"sender": "+628123450000", "message": "STOP"}, timeout=5)
    assert (injected.status_code, injected.text) == (200, "1")
    refused = requests.post(f"{base}/_sandbox/inbox", data={"sender": "abc", "message": "STOP"}, timeout=5)
    assert refused.status_code == 400
    [message] = make_client("masking", app).inbox()
    assert (message.id, message.sender_e164, message.text) == ("1", "+628123450000", "STOP")
    assert abs(message.received_at - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


# --- check, transport, redaction ------------------------------------------------------------------------
def test_check(app):
    client = make_client("masking", app)
    result = client.check()
    assert result.ok and result.summary.startswith("Balance 150,000, valid until")
    failed = wrong_password(client).check()
    assert (failed.ok, failed.details) == (False, {"code": "auth_failed"})


def test_connection_refused(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client("masking", app, MASKING_BASE_URL=f"http://127.0.0.1:{port}/masking")
    with pytest.raises(ProviderError) as info:
        client.send(number("0000"), "Hello")
    assert (info.value.code, info.value.retryable) == ("connection_failed", True)


def test_missing_credentials_is_a_config_error(app):
    with pytest.raises(ProviderError, match="config"):
        make_client("masking", app, MASKING_PASSWORD="")


@pytest.fixture
def odd_password(sandbox):
    """The simulator expects a password full of URL-special characters for one test."""
    sandbox.configure(MASKING_PASSWORD=ODD_PASSWORD)
    yield ODD_PASSWORD
    sandbox.configure(MASKING_PASSWORD=None)


@pytest.mark.parametrize("password", [PASSWORD, "odd"])
def test_no_secret_in_channel_log(password, app, sandbox, request):
    if password == "odd":
        password = request.getfixturevalue("odd_password")
    sink = ListSink()
    client = make_client("masking", app, sink, MASKING_PASSWORD=password)
    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    message_id = client.send(number("0000"), "Hello").message_id
    client.send(number("0000"), "Hello", method="POST")
    client.report(message_id)
    assert client.balance().amount < 150000
    client.reports(date(2020, 1, 1), date(2020, 1, 2))
    client.inbox()
    assert_no_secrets(sink, [password, quote(password, safe=""), quote_plus(password)])
    assert "password=***" in sink[0].url and "password=***" in sink[1].request_body
