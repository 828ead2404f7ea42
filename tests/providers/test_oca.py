"""OCA Telkom call gateway: every endpoint and error code against the simulator, call lifecycles polled through
call-status, the concurrency cap, the rate limit, redaction."""
import socket
from datetime import datetime, timedelta

import pytest
import requests

from tests.providers.harness import ListSink, OutCase, assert_no_secrets, make_client, params, run_out_case
from webapp.providers.base import CallbackInvalid, ProviderError, basic_auth_header
from webapp.providers.oca import ERROR_CODES, THROTTLE_CODES, Client, parse_call_status, parse_callback
from webapp.sandbox.oca import IVRS

PREFIX = "/oca/api/v1"
USER, PASSWORD = "sandbox@example.com", "sandbox-oca-pass"
AUTH = basic_auth_header(USER, PASSWORD)
CALLER = "02180602000"
PROMO, SURVEY, TAGIHAN = IVRS
SURVEY_VARIABLES = {"name": "Budi", "audio_1": "http://127.0.0.1/audio/play/x.mp3"}
# One MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz, mono) of silence; and the same behind an ID3v2 header.
MP3 = bytes([0xFF, 0xFB, 0x90, 0xC4]) + bytes(413)
ID3_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3


def to(suffix="0000"):
    return f"+628123456{suffix}"


def local(suffix="0000"):
    return f"08123456{suffix}"


@pytest.fixture
def sandbox(sandbox):
    """Lifecycle steps held until flush(); this module's simulator settings put back for the next tests."""
    sandbox.configure(SANDBOX_EVENT_DELAY=60, SANDBOX_OCA_MAX_CONCURRENT=5, SANDBOX_OCA_RATE_LIMIT=25)
    yield sandbox
    sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=5, SANDBOX_OCA_RATE_LIMIT=25)


def simulator(sandbox):
    return sandbox.simulators["oca"]


def call(suffix="0000", ivr=PROMO, variables=None, from_number=CALLER):
    variables = {"name": "Budi"} if variables is None else variables
    return lambda client: client.call(from_number, to(suffix) if suffix else "+6591234567", ivr, variables)


def forced(code, bare=False):
    return lambda sandbox: simulator(sandbox).fail_next(code, bare)


def configured(**attrs):
    """numbers() from a client whose credentials differ."""
    def run(client):
        for name, value in attrs.items():
            setattr(client, name, value)
        return client.numbers()
    return run


def _equal(actual, expected):
    assert actual == expected


def is_call_id(value):
    assert len(value) == 24 and int(value, 16) >= 0


def accepted(result):
    is_call_id(result.call_id)


def uploaded(result):
    is_call_id(result.id)
    assert result.name == "promo.mp3" and result.filename.endswith(".mp3")
    assert result.url.endswith(f"{PREFIX}/audio/play/{result.filename}")


def listed(result):
    assert [audio.name for audio in result] == ["promo.mp3"]
    uploaded(result[0])


def ivrs(result):
    assert [(i.ivr_id, i.ivr_name, i.required_variable) for i in result] == [
        (PROMO, "Promo Blast", ["name"]), (SURVEY, "Survey Kepuasan", ["name", "audio_1"]),
        (TAGIHAN, "Pengingat Tagihan", [])]
    assert result[0].created_at == datetime(2024, 3, 1, 3, 22, 58, 73000)


AUTHED = {"headers": {"Authorization": AUTH}}
CALL = dict(method="POST", path="/call")
NUMBERS = dict(method="GET", path="/numbers")
OUT_CASES = [
    OutCase("upload_mp3", lambda c: c.upload_audio("promo.mp3", MP3), path="/upload-audio", result=uploaded,
            request={**AUTHED, "files": {"audio": {"filename": "promo.mp3", "content_type": "audio/mpeg",
                                                   "size": len(MP3)}}}),
    OutCase("upload_id3_mp3", lambda c: c.upload_audio("promo.mp3", ID3_MP3), path="/upload-audio", result=uploaded),
    OutCase("upload_not_mp3", lambda c: c.upload_audio("promo.mp3", b"RIFF....WAVEfmt "), path="/upload-audio",
            error="39", retryable=False),
    OutCase("list_audio", lambda c: (c.upload_audio("promo.mp3", MP3), c.list_audio())[1], method="GET",
            path="/audio-list", request=AUTHED, result=listed),
    OutCase("delete_unknown_audio", lambda c: c.delete_audio("0" * 24), method="DELETE",
            path="/delete-audio/" + "0" * 24, error="33", retryable=False),
    OutCase("numbers", lambda c: c.numbers(), **NUMBERS, request=AUTHED,
            result=lambda r: _equal(r, ["02180602000", "02180602001", "02180602002"])),
    OutCase("ivr_list", lambda c: c.ivr_list(), method="GET", path="/ivr-list", request=AUTHED, result=ivrs),
    OutCase("call", call(), **CALL, result=accepted, request={
        "headers": {"Authorization": AUTH, "Content-Type": "application/json"},
        "json": {"from_number": CALLER, "to_number": local(), "ivr_id": PROMO, "variable": {"name": "Budi"}}}),
    OutCase("call_with_audio_variable", call(ivr=SURVEY, variables=SURVEY_VARIABLES), **CALL, result=accepted,
            request={"json": {"ivr_id": SURVEY, "variable": SURVEY_VARIABLES}}),
    OutCase("call_without_variables", call(ivr=TAGIHAN, variables={}), **CALL, result=accepted,
            request={"json": {"variable": {}}}),
    OutCase("call_abroad_as_digits", call(suffix=""), **CALL, result=accepted,
            request={"json": {"to_number": "6591234567"}}),
    # The docs' sample answer carries the id under "to_number".
    OutCase("call_docs_typo_answer", call("0999"), **CALL, result=accepted),
    OutCase("call_unknown_caller_id", call(from_number="02100000000"), **CALL, error="39", retryable=False),
    OutCase("call_unknown_ivr", call(ivr="f" * 24), **CALL, error="33", retryable=False),
    OutCase("call_missing_variable", call(ivr=SURVEY, variables={"name": "Budi"}), **CALL, error="39"),
    OutCase("call_concurrency_limit", call(), **CALL, error="57", retryable=True,
            setup=lambda s: (s.configure(SANDBOX_OCA_MAX_CONCURRENT=1),
                             simulator(s).start_call(CALLER, local("0500"), IVRS[PROMO]))),
    OutCase("call_status_unknown", lambda c: c.call_status("a" * 24), method="GET", path="/call-status/" + "a" * 24,
            request=AUTHED, error="33", retryable=False),
    OutCase("wrong_password", configured(auth_header=basic_auth_header(USER, "nope")), **NUMBERS,
            error="17", retryable=False),
    OutCase("no_authorization_header", configured(auth_header=None), **NUMBERS, error="19", retryable=False),
    OutCase("server_fault", call(), **CALL, setup=lambda s: s.configure(SANDBOX_FAILURE_RATIO=1),
            error="bad_status", retryable=False),
] + [
    # Every documented code, as OCA's JSON error body; 13 is the 500, whose outcome is unknown.
    OutCase(f"code_{code}", call(), **CALL, setup=forced(code), error="bad_status" if code == "13" else code,
            retryable=ERROR_CODES[code][1])
    for code in ERROR_CODES
] + [
    # The same statuses with no JSON body.
    OutCase(f"bare_{status}", call(), **CALL, setup=forced(code, bare=True), error=error, retryable=retryable)
    for status, code, error, retryable in [
        (401, 17, "unauthorized", False), (404, 33, "not_found", False), (406, 39, "not_acceptable", False),
        (429, 9, "9", True), (500, 13, "bad_status", False)]
]


@pytest.mark.parametrize("case", params(OUT_CASES))
def test_endpoints(case, app, sandbox):
    outcome = run_out_case(case, make_client("oca", app), sandbox, PREFIX)
    if case.error == "bad_status":
        assert not outcome.outcome_known and outcome.http_status == 500
    elif case.error:
        assert outcome.outcome_known
        assert (outcome.code in THROTTLE_CODES) is (case.error in ("9", "57"))
        if case.error in ERROR_CODES:
            assert outcome.message.startswith(ERROR_CODES[case.error][0])


def test_refused_parameters_are_named(app, sandbox):
    client = make_client("oca", app)
    with pytest.raises(ProviderError) as info:
        call(ivr=SURVEY, variables={"name": "Budi"})(client)
    assert info.value.message == f"{ERROR_CODES['39'][0]}: variable audio_1 is required by this ivr"
    assert info.value.raw == {"errors": [{"message": "variable audio_1 is required by this ivr", "code": 39}]}
    assert info.value.http_status == 406


def test_audio_is_served_until_deleted(app, sandbox):
    client = make_client("oca", app)
    audio = client.upload_audio("promo.mp3", MP3)
    played = requests.get(audio.url, timeout=5)
    assert (played.status_code, played.headers["Content-Type"], played.content) == (200, "audio/mpeg", MP3)
    assert client.delete_audio(audio.id) is True
    seen = sandbox.last_request(PREFIX + "/delete-audio")
    assert (seen["method"], seen["path"], seen["headers"]["Authorization"]) == (
        "DELETE", f"{PREFIX}/delete-audio/{audio.id}", AUTH)
    assert client.list_audio() == []
    assert requests.get(audio.url, timeout=5).status_code == 404


# --- call lifecycles, polled ----------------------------------------------------------------------------------

def _poll(client, sandbox, call_id):
    status = client.call_status(call_id)
    seen = sandbox.last_request(PREFIX)
    assert (seen["method"], seen["path"], seen["headers"]["Authorization"]) == (
        "GET", f"{PREFIX}/call-status/{call_id}", AUTH)
    return status


LIFECYCLES = [
    ("0000", ["ringing", "answered"], "delivered", "NORMAL_CLEARING"),
    ("0002", ["ringing", "answered"], "delivered", "NORMAL_CLEARING"),
    ("0486", ["failed"], "failed", "USER_BUSY"),
    ("0480", ["ringing", "failed"], "failed", "NO_ANSWER"),
]


@pytest.mark.parametrize(("suffix", "steps", "state", "cause"), LIFECYCLES, ids=[s for s, *_ in LIFECYCLES])
def test_lifecycle(suffix, steps, state, cause, app, sandbox, sandbox_mode):
    client = make_client("oca", app)
    call_id = client.call(CALLER, to(suffix), SURVEY, SURVEY_VARIABLES).call_id
    first = _poll(client, sandbox, call_id)
    assert (first.status, first.state, first.is_final) == ("submitted", "submitted", False)
    assert first.to_number == local(suffix)
    assert first.to_update().state == "submitted" and first.call_start is None
    seen = []
    for _ in steps:
        sandbox.flush(until_idle=False)
        seen.append(_poll(client, sandbox, call_id).status)
    if sandbox_mode == "strict":  # only the documented statuses: submitted, success, failed
        steps = [{"ringing": "submitted", "answered": "success"}.get(step, step) for step in steps]
    assert seen == steps and sandbox.pending() == 0
    final = _poll(client, sandbox, call_id)
    update = final.to_update()
    assert (final.is_final, update.reference, update.state, update.details["hangup_cause"]) == (
        True, call_id, state, cause)
    assert final.call_start.tzinfo is None and final.call_end - final.call_start == timedelta(seconds=final.duration)
    if state == "failed":
        assert (update.error_code, update.error_text, final.call_answer, final.result) == (cause, cause, None, [])


KEYPRESSES = [("0000", ("1", "Puas"), "5"), ("0002", ("2", "Tidak Puas"), "2")]


@pytest.mark.parametrize(("suffix", "choice", "score"), KEYPRESSES, ids=[s for s, *_ in KEYPRESSES])
def test_answered_call_reports_keypresses(suffix, choice, score, app, sandbox):
    client = make_client("oca", app)
    call_id = client.call(CALLER, to(suffix), SURVEY, SURVEY_VARIABLES).call_id
    sandbox.flush()
    status = client.call_status(call_id)
    assert (status.duration, status.talk_duration, status.tta) == (26, 6, 20)
    assert status.call_answer - status.call_start == timedelta(seconds=20)
    assert [(item["type"], item["answer"]) for item in status.result] == [
        ("multiple_choice", [{"key": choice[0], "title": choice[1], "total": 1}]), ("collect_number", [score])]
    details = status.to_update().details
    assert details["result"] == status.result and details["talk_duration"] == 6
    assert details["call_answer"] == status.call_answer.isoformat()


def test_stuck_call_stays_submitted_and_counts_as_active(app, sandbox):
    client = make_client("oca", app)
    call_id = client.call(CALLER, to("0500"), PROMO, {"name": "Budi"}).call_id
    sandbox.flush()
    assert client.call_status(call_id).to_update().state == "submitted"
    assert simulator(sandbox).active_count() == 1


def test_concurrency_cap(app, sandbox):
    sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=2)
    client = make_client("oca", app)
    for _ in range(2):
        client.call(CALLER, to(), PROMO, {"name": "Budi"})
    with pytest.raises(ProviderError) as info:
        client.call(CALLER, to(), PROMO, {"name": "Budi"})
    assert (info.value.code, info.value.retryable, info.value.http_status) == ("57", True, 401)
    assert info.value.code in THROTTLE_CODES
    sim = simulator(sandbox)
    assert (sim.active_count(), sim.max_active_seen) == (2, 2)
    sandbox.flush()
    assert sim.active_count() == 0
    client.call(CALLER, to(), PROMO, {"name": "Budi"})
    assert (sim.active_count(), sim.max_active_seen) == (1, 2)


def test_rate_limit(app, sandbox):
    client = make_client("oca", app)
    for _ in range(25):
        client.numbers()
    with pytest.raises(ProviderError) as info:
        client.numbers()
    assert (info.value.code, info.value.retryable, info.value.http_status) == ("9", True, 429)
    assert info.value.code in THROTTLE_CODES
    answer = requests.get(app.config["OCA_BASE_URL"] + "/ivr-list", headers={"Authorization": AUTH}, timeout=5)
    assert answer.status_code == 429
    assert answer.json() == {"errors": [{"message": "Too Many Request", "code": 9}]}
    assert answer.headers["X-RateLimit-Limit"] == "25" and answer.headers["X-RateLmit-Remaining"] == "0"
    assert int(answer.headers["X-RateLimit-Reset"]) > 0


# --- parsing without the simulator ----------------------------------------------------------------------------

DOCS_SAMPLE = {
    "from_number": "62857xxxxxxx", "to_number": "081212xxxxxxxx", "ivr_id": "x", "call_id": "xxxxkya9iv",
    "application_id": "xxxx708875682700297dxxxx", "call_start": "2024-07-31T18:01:06.000Z",
    "call_answer": "2024-07-31T18:01:26.000Z", "call_end": "2024-07-31T18:01:32.000Z", "duration": 26,
    "talk_duration": 6, "tta": 20, "hangup_cause": "NORMAL_CLEARING", "status": "answered",
    "result": [{"question": "Rekam pesan", "type": "record_speach", "answer": ["https://storage.oca.co.id/a.wav"]}],
}
STATUS_CASES = [
    (DOCS_SAMPLE, "delivered", True),
    ({**DOCS_SAMPLE, "status": "success"}, "delivered", True),
    ({**DOCS_SAMPLE, "status": "submitted"}, "submitted", False),
    ({**DOCS_SAMPLE, "status": "Ringing"}, "submitted", False),
    ({**DOCS_SAMPLE, "status": "failed", "hangup_cause": "CALL_REJECTED"}, "failed", True),
    ({**DOCS_SAMPLE, "status": "NO_ANSWER"}, "failed", True),
    ({**DOCS_SAMPLE, "status": "busy"}, "failed", True),
    ({**DOCS_SAMPLE, "status": "queued"}, None, False),
]


@pytest.mark.parametrize(("body", "state", "final"), STATUS_CASES, ids=[c[0]["status"] for c in STATUS_CASES])
def test_status_mapping(body, state, final):
    status = parse_call_status(body)
    assert (status.state, status.is_final, status.to_update().state) == (state, final, state)


def test_docs_sample_parses_to_naive_utc():
    status = parse_call_status({**DOCS_SAMPLE, "call_id": None, "call_answer": "not a date", "duration": "26"},
                               "asked-id")
    assert status.call_id == "asked-id"
    assert status.call_start == datetime(2024, 7, 31, 18, 1, 6) and status.call_answer is None
    assert status.duration == 26 and status.result[0]["type"] == "record_speach"
    update = status.to_update()
    assert update.details["call_start"] == "2024-07-31T18:01:06" and "call_answer" not in update.details


@pytest.mark.parametrize("kind", ["", "call_status", "dlr"])
def test_no_callbacks(kind):
    with pytest.raises(CallbackInvalid, match="polled"):
        parse_callback(kind, {"call_id": "x", "status": "answered"})


# --- the simulator's own refusals, for requests our client never sends ----------------------------------------

def _raw(app, method, path, **kwargs):
    return requests.request(method, app.config["OCA_BASE_URL"] + path, timeout=5, **kwargs)


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code", "message"), [
    ("GET", "/numbers", {}, 406, 19, "Missing Authorization Header"),
    ("POST", "/call", {"json": {"from_number": CALLER}}, 406, 39, "to_number, ivr_id is required"),
    ("POST", "/call", {"json": {"from_number": CALLER, "to_number": "+62812", "ivr_id": PROMO}}, 406, 39,
     "to_number must contain digits only"),
    ("POST", "/upload-audio", {"files": {"file": ("a.mp3", MP3)}}, 406, 39, "audio is required"),
    ("POST", "/upload-audio", {"files": {"audio": ("a.mp3", b"<html>")}}, 406, 39, "audio must be mp3"),
], ids=["no_auth", "call_missing_fields", "call_plus_number", "upload_wrong_field", "upload_html"])
def test_simulator_refusals(method, path, kwargs, status, code, message, app, sandbox):
    headers = {} if code == 19 else {"Authorization": AUTH}
    answer = _raw(app, method, path, headers=headers, **kwargs)
    assert (answer.status_code, answer.json()) == (status, {"errors": [{"message": message, "code": code}]})


# --- check, transport, redaction ------------------------------------------------------------------------------

def test_check_counts_numbers_and_ivrs(app, sandbox):
    result = make_client("oca", app).check()
    assert (result.ok, result.summary, result.details) == (True, "3 caller numbers, 3 IVRs",
                                                            {"numbers": 3, "ivrs": 3})
    assert [r["path"] for r in sandbox.requests_to(PREFIX)] == [f"{PREFIX}/numbers", f"{PREFIX}/ivr-list"]


def test_check_reports_bad_credentials(app, sandbox):
    result = make_client("oca", app, OCA_PASSWORD="wrong").check()
    assert not result.ok and result.details == {"code": "17", "http_status": 401}
    assert "OCA_PASSWORD" in result.summary


def test_missing_credentials_are_a_config_error(app):
    with pytest.raises(ProviderError) as info:
        make_client("oca", app, OCA_PASSWORD="")
    assert info.value.code == "config"


def test_connection_refused_is_retryable(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client("oca", app, OCA_BASE_URL=f"http://127.0.0.1:{port}{PREFIX}")
    with pytest.raises(ProviderError) as info:
        call()(client)
    assert (info.value.code, info.value.retryable) == ("connection_failed", True)


def test_no_secret_is_logged(app, sandbox):
    sink = ListSink()
    client = make_client("oca", app, sink)
    audio = client.upload_audio("promo.mp3", MP3)
    call_id = client.call(CALLER, to(), PROMO, {"name": "Budi"}).call_id
    client.call_status(call_id)
    client.delete_audio(audio.id)
    client.check()
    with pytest.raises(ProviderError):
        Client(client.base_url, USER, "nope", log_sink=sink).numbers()
    assert {e.operation for e in sink} >= {"upload_audio", "call", "call_status", "delete_audio", "numbers",
                                           "ivr_list"}
    assert_no_secrets(sink, [PASSWORD, AUTH.split()[1], USER, basic_auth_header(USER, "nope").split()[1]])
