"""CitCALL: every endpoint and rc against the simulator, the callback parser, lifecycles and redaction."""
import base64
import json
import socket

import pytest
import requests

from tests.providers.harness import ListSink, OutCase, assert_no_secrets, make_client, params, run_out_case
from webapp.providers import citcall
from webapp.providers.base import CallbackInvalid

PREFIX = "/citcall/gateway/v3"
KEY = "sandbox-citcall-key"
HEADERS = {"Authorization": f"Apikey {KEY}", "Content-Type": "application/json"}
OK = "+6281200000000"
TRX = "20190801155200606557556587"
TOKEN = "622130401234"


def number(suffix):
    """A test number whose last four digits pick the simulator's behaviour (see webapp/sandbox/citcall.py)."""
    return "+628120000" + suffix


def digits(e164):
    return e164.lstrip("+")


@pytest.fixture
def cc(app):
    return make_client("citcall", app)


def open_session(valid_time=60, limit_try=5, token=TOKEN, accepted=(TOKEN, TOKEN[-4:])):
    return lambda sb: sb.simulators["citcall"].open_session(TRX, digits(OK), token, accepted, valid_time, limit_try)


def force(rc):
    return lambda sb: sb.simulators["citcall"].force_rc(rc)


def wrong_key(client):
    return citcall.Client(client.base_url, "not-the-key", log_sink=client.log_sink)


def verify_after_wrong_try(client):
    with pytest.raises(citcall.ProviderError):
        client.verify(TRX, OK, "0000")
    return client.verify(TRX, OK, TOKEN[-4:])


def check_miscall(result):
    assert result.trxid.isdigit() and len(result.trxid) == 26
    assert result.token.startswith("6221") and len(result.token) == 12
    assert result.otp_digits == result.token[-4:]
    assert result.msisdn == OK and result.gateway == 0


def check_gateway(result, gateway):
    assert result.gateway == gateway


def check_static_text(result):
    assert len(result.token) == 5 and result.text == f"Kode OTP Anda {result.token}"


def check_sms(count, price, text=None, token=None):
    def check(result):
        assert len(result.trxid) == 26 and result.msisdn == OK
        assert (result.sms_count, result.price, result.currency, result.senderid) == (count, price, "IDR", "CITCALL")
        if text is not None:
            assert result.text == text
        if token is not None:
            assert result.token == token
    return check


def check_verify(token_verify):
    def check(result):
        assert (result.info, result.trxid_verify, result.token, result.token_verify) == (
            "valid", TRX, TOKEN, token_verify)
        assert len(result.trxid) == 26 and result.trxid != TRX and result.currency == "IDR"
    return check


OUT_CASES = [
    # --- rc 00 on every endpoint ---
    OutCase("asynccall", lambda c: c.asynccall(OK), path="/asynccall",
            request={"headers": HEADERS, "json": {"msisdn": "6281200000000", "gateway": 0}}, result=check_miscall),
    OutCase("asynccall-options",
            lambda c: c.asynccall(OK, gateway=2, valid_time=120, limit_try=20, callback_url="http://127.0.0.1:9/cb"),
            path="/asynccall", request={"json": {"msisdn": "6281200000000", "gateway": 2, "valid_time": 120,
                                                 "limit_try": 20, "callback_url": "http://127.0.0.1:9/cb"}},
            result=lambda r: check_gateway(r, 2)),
    OutCase("sms", lambda c: c.sms(OK, "Halo dari kampanye"), path="/sms",
            request={"headers": HEADERS,
                     "json": {"msisdn": "6281200000000", "senderid": "CITCALL", "text": "Halo dari kampanye"}},
            result=check_sms(1, 300.0, text="Halo dari kampanye", token="")),
    OutCase("sms-two-segments", lambda c: c.sms(OK, "x" * 161), path="/sms", result=check_sms(2, 600.0)),
    OutCase("smsotp-advanced", lambda c: c.smsotp(OK, "CITCALL", text="Kode XXXXX", token="4321", valid_time=60,
                                                  limit_try=3),
            path="/smsotp", request={"headers": HEADERS, "json": {
                "msisdn": "6281200000000", "senderid": "CITCALL", "text": "Kode XXXXX", "token": "4321",
                "valid_time": 60, "limit_try": 3}},
            result=check_sms(1, 300.0, text="Kode 4321", token="4321")),
    OutCase("smsotp-static-text", lambda c: c.smsotp(OK, "CITCALL"), path="/smsotp",
            request={"json": {"msisdn": "6281200000000", "senderid": "CITCALL"}},
            result=check_static_text),
    OutCase("verify-last-4", lambda c: c.verify(TRX, OK, TOKEN[-4:]), path="/verify", setup=open_session(),
            request={"headers": HEADERS, "json": {"trxid": TRX, "msisdn": "6281200000000", "token": "1234"}},
            result=check_verify("1234")),
    OutCase("verify-full-token", lambda c: c.verify(TRX, OK, TOKEN), path="/verify", setup=open_session(),
            result=check_verify(TOKEN)),
    OutCase("verify-after-one-wrong", verify_after_wrong_try, path="/verify", setup=open_session(limit_try=2),
            result=check_verify("1234")),
    # --- every documented refusal, by its natural trigger where a proper client can cause one ---
    OutCase("rc06-forced", lambda c: c.sms(OK, "hi"), path="/sms", setup=force("06"), error="06", retryable=False),
    OutCase("rc07-forced", lambda c: c.asynccall(OK), path="/asynccall", setup=force("07"), error="07",
            retryable=False),
    OutCase("rc14-balance", lambda c: c.sms(number("0014"), "hi"), path="/sms", error="14", retryable=False),
    OutCase("rc34-unavailable", lambda c: c.asynccall(number("0034")), path="/asynccall", error="34",
            retryable=True),
    OutCase("rc42-msisdn", lambda c: c.asynccall(number("0042")), path="/asynccall",
            request={"json": {"msisdn": "6281200000042"}}, error="42", retryable=False),
    OutCase("rc43-empty-text", lambda c: c.sms(OK, "  "), path="/sms", error="43", retryable=False),
    OutCase("rc44-senderid", lambda c: c.sms(OK, "hi", senderid="ACME"), path="/sms",
            request={"json": {"senderid": "ACME"}}, error="44", retryable=False),
    OutCase("rc66-maintenance", lambda c: c.smsotp(number("0066"), "CITCALL"), path="/smsotp", error="66",
            retryable=True),
    OutCase("rc76-forced", lambda c: c.sms(OK, "hi"), path="/sms", setup=force("76"), error="76", retryable=False),
    OutCase("rc77-forced", lambda c: c.sms(OK, "hi"), path="/sms", setup=force("77"), error="77", retryable=False),
    OutCase("rc78-unknown-trxid", lambda c: c.verify(TRX, OK, "1234"), path="/verify", error="78",
            retryable=False),
    OutCase("rc78-other-msisdn", lambda c: c.verify(TRX, number("0001"), "1234"), path="/verify",
            setup=open_session(), error="78"),
    OutCase("rc79-wrong-token", lambda c: c.verify(TRX, OK, "9999"), path="/verify", setup=open_session(),
            error="79", retryable=False),
    OutCase("rc80-expired", lambda c: c.verify(TRX, OK, "1234"), path="/verify", setup=open_session(valid_time=0),
            error="80", retryable=False),
    OutCase("rc81-limit-try", verify_after_wrong_try, path="/verify", setup=open_session(limit_try=1), error="81",
            retryable=False),
    OutCase("rc88-missing-token", lambda c: c.verify(TRX, OK, ""), path="/verify", error="88", retryable=False),
    OutCase("rc96-wrong-key", lambda c: wrong_key(c).asynccall(OK), path="/asynccall",
            request={"headers": {"Authorization": "Apikey not-the-key"}}, error="96", retryable=False),
    OutCase("rc97-forced", lambda c: c.verify(TRX, OK, "1234"), path="/verify", setup=force("97"), error="97",
            retryable=False),
    OutCase("rc98-forced", lambda c: c.asynccall(OK), path="/asynccall", setup=force("98"), error="98",
            retryable=False),
    OutCase("rc99-forced", lambda c: c.smsotp(OK, "CITCALL"), path="/smsotp", setup=force("99"), error="99",
            retryable=False),
    # --- transport-level outcomes ---
    OutCase("http-503-outcome-unknown", lambda c: c.sms(OK, "hi"), path="/sms",
            setup=lambda sb: sb.configure(SANDBOX_FAILURE_RATIO=1), error="bad_status", retryable=False),
]


@pytest.mark.parametrize("case", params(OUT_CASES))
def test_out(case, cc, sandbox):
    outcome = run_out_case(case, cc, sandbox, PREFIX)
    if case.error and case.error.isdigit():
        assert outcome.outcome_known and outcome.http_status == 200 and outcome.raw["info"]


def test_every_documented_rc_has_a_case():
    codes = {case.error for case in OUT_CASES if case.error and case.error.isdigit()}
    assert codes == set(citcall.ERROR_CODES)


@pytest.mark.parametrize("call", [
    lambda c: c.asynccall(OK, gateway=3),
    lambda c: c.asynccall(OK, gateway=-1),
    lambda c: c.asynccall(OK, limit_try=21),
    lambda c: c.asynccall(OK, valid_time=0),
    lambda c: c.smsotp(OK, "CITCALL", limit_try=0),
    lambda c: c.sms("not a number", "hi"),
], ids=["gateway-3", "gateway-negative", "limit-try-21", "valid-time-0", "smsotp-limit-try-0", "msisdn"])
def test_invalid_request_is_refused_before_sending(call, cc, sandbox):
    with pytest.raises(citcall.ProviderError) as info:
        call(cc)
    assert (info.value.code, info.value.retryable) == ("invalid_request", False)
    assert sandbox.requests_to(PREFIX) == []


# --- the simulator's own rules, spoken to directly (a proper client never sends most of these) ---
def basic(credentials):
    return base64.b64encode(credentials.encode()).decode()


SIM_CASES = [
    ("get-is-wrong-method", "GET", "/sms", HEADERS, None, 99),
    ("no-authorization", "POST", "/asynccall", {"Content-Type": "application/json"}, {}, 98),
    ("unknown-scheme", "POST", "/asynccall", {**HEADERS, "Authorization": "Bearer x"}, {}, 98),
    ("wrong-apikey", "POST", "/asynccall", {**HEADERS, "Authorization": "Apikey nope"}, {}, 96),
    ("basic-wrong-key", "POST", "/asynccall", {**HEADERS, "Authorization": "Basic " + basic("u:nope")}, {}, 96),
    ("basic-ok", "POST", "/asynccall", {**HEADERS, "Authorization": "Basic " + basic(f"u:{KEY}")},
     {"msisdn": "081200000000", "gateway": 0}, "00"),
    ("bare-b64-ok", "POST", "/motp", {**HEADERS, "Authorization": basic(f"u:{KEY}")},
     {"msisdn": "6281200000000", "retry": 1}, "00"),
    ("bad-json", "POST", "/sms", HEADERS, "{", 97),
    ("not-json-content-type", "POST", "/sms", {**HEADERS, "Content-Type": "text/plain"}, "{}", 97),
    ("missing-msisdn", "POST", "/asynccall", HEADERS, {"gateway": 0}, 88),
    ("missing-gateway", "POST", "/asynccall", HEADERS, {"msisdn": "6281200000000"}, 88),
    ("missing-text", "POST", "/sms", HEADERS, {"msisdn": "6281200000000", "senderid": "CITCALL"}, 88),
    ("limit-try-over-20", "POST", "/asynccall", HEADERS, {"msisdn": "6281200000000", "gateway": 0,
                                                          "limit_try": 21}, 88),
    ("msisdn-letters", "POST", "/asynccall", HEADERS, {"msisdn": "62812abc0000", "gateway": 0}, 42),
    ("msisdn-short", "POST", "/sms", HEADERS, {"msisdn": "62812", "senderid": "CITCALL", "text": "x"}, 42),
    ("gateway-5", "POST", "/motp", HEADERS, {"msisdn": "6281200000000", "gateway": 5}, 7),
    ("call-deprecated", "POST", "/call", HEADERS, {"msisdn": "6281200000000", "gateway": 0}, 6),
]


@pytest.mark.parametrize("method, path, headers, body, rc", [c[1:] for c in SIM_CASES], ids=[c[0] for c in SIM_CASES])
def test_simulator_rules(app, sandbox, method, path, headers, body, rc):
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    response = requests.request(method, app.config["CITCALL_BASE_URL"] + path, headers=headers, data=data,
                                timeout=5)
    answer = response.json()
    assert response.status_code == 200 and answer["rc"] == rc
    assert rc == "00" or answer["info"]
    if path == "/call":
        assert answer["info"] == "deprecated"


def test_simulator_accepts_configured_senderid(cc, sandbox):
    sandbox.configure(CITCALL_SENDERIDS="ACME, SHOP")
    try:
        assert cc.sms(OK, "hi", senderid="shop").senderid == "shop"
    finally:
        sandbox.configure(CITCALL_SENDERIDS="")


# --- OTP lifecycles through the client ---
def test_miscall_otp_verifies_once(cc):
    sent = cc.asynccall(OK, valid_time=300)
    result = cc.verify(sent.trxid, OK, sent.otp_digits)
    assert (result.info, result.trxid_verify, result.token) == ("valid", sent.trxid, sent.token)
    with pytest.raises(citcall.ProviderError) as info:
        cc.verify(sent.trxid, OK, sent.otp_digits)
    assert info.value.code == "78"


def test_miscall_without_valid_time_cannot_be_verified(cc):
    sent = cc.asynccall(OK)
    with pytest.raises(citcall.ProviderError) as info:
        cc.verify(sent.trxid, OK, sent.otp_digits)
    assert info.value.code == "78"


def test_smsotp_generated_token_verifies(cc):
    sent = cc.smsotp(OK, "CITCALL", text="Kode Anda XXXXX", valid_time=300)
    assert sent.token.isdigit() and sent.text == f"Kode Anda {sent.token}"
    with pytest.raises(citcall.ProviderError):
        cc.verify(sent.trxid, OK, sent.token[-4:])  # SMS OTP: only the whole token counts
    assert cc.verify(sent.trxid, OK, sent.token).token_verify == sent.token


def test_limit_try_defaults_to_five(cc):
    sent = cc.asynccall(OK, valid_time=300)
    codes = []
    for _ in range(6):
        with pytest.raises(citcall.ProviderError) as info:
            cc.verify(sent.trxid, OK, "0000" if sent.otp_digits != "0000" else "1111")
        codes.append(info.value.code)
    assert codes == ["79"] * 5 + ["81"]


# --- callbacks: simulator -> app over loopback -> stored -> parsed ---
LIFECYCLES = [
    ("miscall-delivered", lambda c: c.asynccall(OK), "miscall", "delivered"),
    ("miscall-busy", lambda c: c.asynccall(number("0486")), "miscall", "failed"),
    ("sms-delivered", lambda c: c.sms(OK, "hi"), "sms", "delivered"),
    ("sms-failed", lambda c: c.sms(number("0099"), "hi"), "sms", "failed"),
    ("smsotp-delivered", lambda c: c.smsotp(OK, "CITCALL", token="55555"), "smsotp", "delivered"),
    ("smsotp-failed", lambda c: c.smsotp(number("0099"), "CITCALL"), "smsotp", "failed"),
]


@pytest.fixture
def held(sandbox):
    """Timers wait for flush(): the timer thread cannot be half-way through a callback when we look."""
    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    return sandbox


def callbacks_for(sandbox, trxid):
    """(url, our HTTP answer) of the callbacks about one trxid (timers of earlier tests may still land)."""
    sent = list(sandbox.callbacks_sent)
    return [(c["url"], c["status"]) for c in sent if (c.get("json") or {}).get("trxid") == trxid]


@pytest.mark.parametrize("send, kind, state", [c[1:] for c in LIFECYCLES], ids=[c[0] for c in LIFECYCLES])
def test_callback_lifecycle(send, kind, state, cc, held, live_url, ctx, sandbox_mode):
    from webapp.models import CallbackEvent

    sent = send(cc)
    held.flush()
    # Strict: the callback is delivered twice, byte-identical (the second is stored once: a duplicate).
    copies = {"default": 1, "strict": 2}[sandbox_mode]
    assert callbacks_for(held, sent.trxid) == [(f"{live_url}/callbacks/citcall/test-callback-token", 200)] * copies
    event = CallbackEvent.get(CallbackEvent.reference == sent.trxid)
    # The app parsed it with parse_callback; no send holds this trxid, so it waits as an orphan.
    assert (event.status, event.reference) == ("orphan", sent.trxid)
    [update] = citcall.parse_callback(event.kind, json.loads(event.body))
    assert (update.reference, update.kind, update.state) == (sent.trxid, kind, state)
    if sandbox_mode == "strict" and kind != "miscall":  # strict SMS reports leave out price and currency
        assert (update.price, update.currency) == (None, "")
        return
    assert update.currency == "IDR"
    if kind == "miscall":
        # The one-time code never reaches the database, not even in the raw copy of the callback.
        assert json.loads(event.body)["token"] == "***" and sent.token not in event.body
        assert update.price == (165.0 if state == "delivered" else 0.0)
    else:
        assert update.price == 300.0
        assert bool(update.error_text) == (state == "failed")


def test_silent_number_never_calls_back(cc, held, ctx):
    from webapp.models import CallbackEvent

    trxids = [cc.asynccall(number("0500")).trxid, cc.sms(number("0500"), "hi").trxid]
    held.flush()
    assert [callbacks_for(held, trxid) for trxid in trxids] == [[], []]
    assert CallbackEvent.select().where(CallbackEvent.reference.in_(trxids)).count() == 0


def test_callback_url_from_the_request_wins(cc, held, live_url):
    sent = cc.asynccall(OK, callback_url=f"{live_url}/callbacks/citcall/other-token")
    held.flush()
    assert callbacks_for(held, sent.trxid) == [(f"{live_url}/callbacks/citcall/other-token", 404)]


# --- parse_callback table ---
MISCALL = {"rc": "00", "trxid": TRX, "msisdn": "+6281200000000", "via": "voice", "token": TOKEN,
           "dial_code": "200", "dial_status": "OK", "call_status": "ANSWERED", "result": "Success",
           "currency": "IDR", "price": "165"}
SMS = {"trxid": TRX, "result": "Success", "description": "Delivered", "reportedDate": "2019-08-01 15:53:01",
       "currency": "IDR", "price": 300}

CALLBACK_CASES = [
    ("miscall-200", MISCALL, {"state": "delivered", "kind": "miscall", "price": 165.0, "error_code": ""}),
    ("miscall-180-int", {**MISCALL, "dial_code": 180, "rc": 0}, {"state": "delivered"}),
    ("miscall-183", {**MISCALL, "dial_code": "183"}, {"state": "delivered", "provider_status": "183 OK"}),
    ("miscall-486", {**MISCALL, "dial_code": "486", "dial_status": "Busy Here"},
     {"state": "failed", "error_code": "486", "error_text": "Busy Here"}),
    ("miscall-603-no-status", {**MISCALL, "dial_code": 603, "dial_status": ""},
     {"state": "failed", "error_code": "603", "error_text": "ANSWERED"}),
    ("miscall-rc-06", {**MISCALL, "rc": 6, "dial_code": ""},
     {"state": "failed", "error_code": "06", "error_text": citcall.ERROR_CODES["06"][0]}),
    ("sms-success", SMS, {"state": "delivered", "kind": "sms", "price": 300.0, "error_text": ""}),
    ("sms-delivered-word", {**SMS, "result": "DELIVERED"}, {"state": "delivered"}),
    ("sms-failed", {**SMS, "result": "Failed", "description": "Rejected"},
     {"state": "failed", "error_text": "Rejected", "provider_status": "Failed"}),
    ("sms-no-price", {k: v for k, v in SMS.items() if k != "price"}, {"price": None}),
    ("smsotp", {**SMS, "token": "12345"}, {"state": "delivered", "kind": "smsotp"}),
    ("smsotp-null-token-is-sms", {**SMS, "token": None}, {"kind": "sms"}),
    ("not-an-object", ["x"], CallbackInvalid),
    ("no-trxid", {**SMS, "trxid": ""}, CallbackInvalid),
    ("neither-shape", {"trxid": TRX, "price": "1"}, CallbackInvalid),
    ("miscall-no-dial-code", {k: v for k, v in MISCALL.items() if k != "dial_code"}, CallbackInvalid),
    ("sms-empty-result", {**SMS, "result": " "}, CallbackInvalid),
]


@pytest.mark.parametrize("payload, expected", [c[1:] for c in CALLBACK_CASES], ids=[c[0] for c in CALLBACK_CASES])
def test_parse_callback(payload, expected):
    if expected is CallbackInvalid:
        with pytest.raises(CallbackInvalid):
            citcall.parse_callback("", payload)
        return
    [update] = citcall.parse_callback("", payload)
    assert update.reference == TRX
    for key, value in expected.items():
        assert getattr(update, key) == value, key


@pytest.mark.parametrize("code, delivered", [
    (180, True), ("183", True), (200, True), ("204", True), (299, True),
    (100, False), (181, False), (300, False), ("486", False), ("", False), (None, False),
])
def test_miscall_delivered(code, delivered):
    assert citcall.miscall_delivered(code) is delivered


@pytest.mark.parametrize("raw, rc", [("00", "00"), (0, "00"), ("0", "00"), (6, "06"), ("42", "42"),
                                      (None, None), ("ok", None)])
def test_normalize_rc(raw, rc):
    assert citcall.normalize_rc(raw) == rc


# --- connection, check, config, redaction ---
def test_connection_refused(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client("citcall", app, CITCALL_BASE_URL=f"http://127.0.0.1:{port}/gateway/v3")
    with pytest.raises(citcall.ProviderError) as info:
        client.sms(OK, "hi")
    assert (info.value.code, info.value.retryable) == ("connection_failed", True)


def test_check(cc, sandbox):
    result = cc.check()
    assert result.ok and result.details == {"rc": "78"}
    seen = sandbox.last_request(PREFIX)
    assert seen["path"] == f"{PREFIX}/verify" and seen["headers"]["Authorization"] == f"Apikey {KEY}"
    refused = wrong_key(cc).check()
    assert not refused.ok and refused.details == {"code": "96"} and "refused" in refused.summary


def test_missing_key_is_a_config_error(app):
    with pytest.raises(citcall.ProviderError) as info:
        make_client("citcall", app, CITCALL_API_KEY="")
    assert info.value.code == "config"


def test_no_secret_in_logs(app):
    sink = ListSink()
    client = make_client("citcall", app, sink=sink)
    sent = client.asynccall(OK, valid_time=60)
    client.verify(sent.trxid, OK, sent.otp_digits)
    client.sms(OK, "hi")
    client.check()
    assert [e.operation for e in sink] == ["asynccall", "verify", "sms", "check"]
    assert all(e.request_headers["Authorization"] == "***" for e in sink)
    assert_no_secrets(sink, [KEY])
