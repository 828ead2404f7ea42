"""Hostile callbacks: each is answered without a 5xx, kept byte for byte (or at least recorded), and never stops
the worker's apply job from applying the valid callback that comes after it."""
import pytest

from webapp.callbacks import bodies, ingest, jobs
from webapp.models import CallbackEvent, Send

TOKEN = "test-callback-token"
MASKING = f"/callbacks/masking/{TOKEN}"
CITCALL = f"/callbacks/citcall/{TOKEN}"
AIRTEL = f"/callbacks/airtel/{TOKEN}/events"
FORM = "application/x-www-form-urlencoded"
DEEP = b"[" * 100_000 + b"]" * 100_000

# (name, method, path, body, content type, query, answer, stored status after the web, after the job)
CASES = [
    ("json-100000-deep", "POST", CITCALL, DEEP, "application/json", "", 400, "failed", "failed"),
    ("json-deep-in-form-type", "POST", AIRTEL, b'{"a":' * 5000 + b"1" + b"}" * 5000, FORM, "", 400, "failed",
     "failed"),
    ("masking-dlr-percent-00", "GET", MASKING, b"", None,
     "session_id=9001&error_code=51&error_message=Expir%00ed&msisdn=62811%00", 200, "received", "applied"),
    ("masking-dlr-percent-00-in-reference", "GET", MASKING, b"", None, "session_id=90%0001&error_code=22", 200,
     "received", "orphan"),
    ("masking-dlr-raw-nul-form", "POST", MASKING, b"session_id=9002&error_code=51&error_message=a\x00b", FORM, "",
     200, "received", "applied"),
    ("citcall-json-raw-nul", "POST", CITCALL, b'{"trxid":"1\x00","result":"Success"}', "application/json", "", 400,
     "invalid", "invalid"),
    ("citcall-json-escaped-nul-and-surrogate", "POST", CITCALL,
     b'{"trxid":"7\\u0000","result":"Failed","description":"\\ud800"}', "application/json", "", 200, "received",
     "orphan"),
    ("airtel-invalid-utf8", "POST", AIRTEL, b'{"correlationId":"\xff\xfe"}', "application/json", "", 400, "invalid",
     "invalid"),
    ("masking-invalid-utf8-form", "POST", MASKING, b"session_id=9003&error_code=51&error_message=\xc3\x28", FORM,
     "", 200, "received", "applied"),
    ("oversize-body", "POST", CITCALL, b'{"trxid":"' + b"9" * 300_000 + b'"}', "application/json", "", 413,
     "failed", "failed"),
]


@pytest.fixture
def worker_mode(app):
    app.config["CALLBACK_APPLY"] = "worker"


def _send(ref):
    return Send.create(kind="sms", provider="masking", to_number="+6281100000000", provider_ref=ref,
                       state="submitted")


@pytest.mark.parametrize("name,method,path,body,content_type,query,answer,stored,after_job", CASES,
                         ids=[case[0] for case in CASES])
def test_hostile_callback_is_kept_and_the_next_one_still_applies(client, ctx, worker_mode, name, method, path,
                                                                 body, content_type, query, answer, stored,
                                                                 after_job):
    targets = [_send(ref) for ref in ("9001", "9002", "9003")]
    valid = _send("4242")
    response = client.open(f"{path}?{query}" if query else path, method=method, data=body,
                           content_type=content_type)
    assert response.status_code == answer
    hostile = CallbackEvent.get()
    assert hostile.status == stored
    if answer == 413:
        assert hostile.body == "" and "CALLBACK_MAX_BYTES" in hostile.error
    else:
        assert bodies.raw_body(hostile) == body
    assert client.get(f"{MASKING}?session_id=4242&error_code=22").status_code == 200

    assert jobs.apply_received(ctx) == (2 if stored == "received" else 1)
    assert CallbackEvent.get_by_id(hostile.id).status == after_job
    assert Send.get_by_id(valid.id).state == "delivered"
    assert CallbackEvent.select().where(CallbackEvent.status == "applied").count() == (
        2 if after_job == "applied" else 1)
    for target in targets:
        changed = Send.get_by_id(target.id)
        if changed.state == "failed":
            assert "\x00" not in changed.error_text + changed.details


def test_a_100000_deep_body_says_why(client, ctx, worker_mode):
    response = client.post(CITCALL, data=DEEP, content_type="application/json")
    assert response.get_json()["error"] == "JSON nested deeper than 32 levels"
    assert CallbackEvent.get().attempts == ingest.MAX_ATTEMPTS  # a limit, not a bug: never replayed


def test_nul_in_a_dlr_field_reaches_the_send_replaced(client, ctx, worker_mode):
    send = _send("9001")
    client.get(f"{MASKING}?session_id=9001&error_code=51&error_message=Expir%00ed")
    jobs.apply_received(ctx)
    assert Send.get_by_id(send.id).error_text == "Expir\ufffded"


def test_a_raising_event_is_marked_failed_and_the_job_moves_on(client, ctx, worker_mode):
    original = ingest.HANDLERS["masking"]

    def poison_first(event, payload):
        if payload.get("session_id") == "1":
            raise RecursionError("maximum recursion depth exceeded")
        return original(event, payload)

    send = _send("4242")
    client.get(f"{MASKING}?session_id=1&error_code=22")
    client.get(f"{MASKING}?session_id=4242&error_code=22")
    ingest.register("masking", poison_first)
    try:
        assert jobs.apply_received(ctx) == 2
    finally:
        ingest.register("masking", original)
    first, second = CallbackEvent.select().order_by(CallbackEvent.id)
    assert (first.status, first.error) == ("failed", "RecursionError: maximum recursion depth exceeded")
    assert second.status == "applied" and Send.get_by_id(send.id).state == "delivered"


def test_worker_mode_answers_before_applying(client, ctx, worker_mode):
    send = _send("4242")
    response = client.get(f"{MASKING}?session_id=4242&error_code=22")
    assert response.get_json() == {"status": "received"}
    assert Send.get_by_id(send.id).state == "submitted"
    assert jobs.apply_received(ctx) == 1
    assert Send.get_by_id(send.id).state == "delivered"


def test_the_job_stops_at_its_budget_and_the_next_run_carries_on(client, ctx, worker_mode):
    sends = [_send(ref) for ref in ("4242", "4243")]
    for send in sends:
        client.get(f"{MASKING}?session_id={send.provider_ref}&error_code=22")
    assert jobs.apply_received(ctx, budget=0) == 1
    assert [Send.get_by_id(s.id).state for s in sends] == ["delivered", "submitted"]
    assert jobs.apply_received(ctx) == 1
    assert Send.get_by_id(sends[1].id).state == "delivered"


def test_a_handler_that_writes_then_raises_leaves_nothing_behind(client, ctx, worker_mode):
    original = ingest.HANDLERS["masking"]

    def writes_then_raises(event, payload):
        status = original(event, payload)
        if payload.get("session_id") == "4243":
            raise RuntimeError("after writing")
        return status

    sends = [_send(ref) for ref in ("4242", "4243", "4244")]
    for send in sends:
        client.get(f"{MASKING}?session_id={send.provider_ref}&error_code=22")
    ingest.register("masking", writes_then_raises)
    try:
        assert jobs.apply_received(ctx) == 3
    finally:
        ingest.register("masking", original)
    assert [Send.get_by_id(s.id).state for s in sends] == ["delivered", "submitted", "delivered"]
    assert [e.status for e in CallbackEvent.select().order_by(CallbackEvent.id)] == ["applied", "failed", "applied"]
