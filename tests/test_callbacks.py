"""Webhooks: stored raw first, deduplicated, 400 (never 5xx) for bad input, secret token in the path."""
import pytest

from webapp.callbacks import ingest, jobs
from webapp.models import CallbackEvent

TOKEN = "test-callback-token"


@pytest.mark.parametrize("method,path,kwargs,status,stored", [
    ("POST", f"/callbacks/citcall/{TOKEN}", {"data": "{not json", "content_type": "application/json"}, 400, "invalid"),
    ("POST", f"/callbacks/citcall/{TOKEN}", {"json": {"hello": "world"}}, 400, "invalid"),
    ("POST", f"/callbacks/citcall/{TOKEN}", {"json": {"trxid": "123", "result": "Success", "description": "ok",
                                                      "reportedDate": "2026-11-24 10:00:00"}}, 200, "orphan"),
    ("GET", f"/callbacks/masking/{TOKEN}", {"query_string": {"error_code": "22"}}, 400, "invalid"),
    ("POST", f"/callbacks/airtel/{TOKEN}/cdr", {"json": {"correlationId": "Xchange1"}}, 400, "invalid"),
    ("POST", f"/callbacks/airtel/{TOKEN}/events", {"data": b"\xff\xfe", "content_type": "application/json"}, 400,
     "invalid"),
])
def test_bad_input_is_stored_and_answered_4xx(client, ctx, method, path, kwargs, status, stored):
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    event = CallbackEvent.get()
    assert event.status == stored


@pytest.mark.parametrize("path", ["/callbacks/citcall/wrong", "/callbacks/masking/wrong", "/callbacks/airtel/x/cdr"])
def test_wrong_token_is_404_and_nothing_stored(client, ctx, path):
    assert client.post(path, json={}).status_code in (404, 405)
    assert CallbackEvent.select().count() == 0


def test_callbacks_need_no_session_or_csrf(client, ctx):
    response = client.post(f"/callbacks/citcall/{TOKEN}", json={"trxid": "9", "result": "Failed"})
    assert response.status_code == 200


def test_exact_redelivery_is_a_duplicate(client, ctx):
    body = {"trxid": "77", "result": "Success", "description": "ok", "reportedDate": "2026-11-24 10:00:00"}
    assert client.post(f"/callbacks/citcall/{TOKEN}", json=body).get_json()["status"] == "orphan"
    assert client.post(f"/callbacks/citcall/{TOKEN}", json=body).get_json()["status"] == "duplicate"
    assert CallbackEvent.select().count() == 1


def test_a_handler_bug_marks_the_event_failed_and_never_answers_5xx(client, ctx):
    def broken(event, payload):
        raise RuntimeError("bug")

    original = ingest.HANDLERS["masking"]
    ingest.register("masking", broken)
    try:
        response = client.get(f"/callbacks/masking/{TOKEN}?session_id=1&error_code=22")
    finally:
        ingest.register("masking", original)
    assert response.status_code == 200
    event = CallbackEvent.get()
    assert (event.status, event.error, event.attempts) == ("failed", "RuntimeError: bug", 1)
    # Once the handler works again, the replay job applies it (here: an orphan, no such send yet).
    assert jobs.replay_failed(older_than_seconds=0) == 1
    assert CallbackEvent.get().status == "orphan"


def test_replay_gives_up_after_max_attempts(client, ctx):
    def broken(event, payload):
        raise RuntimeError("still broken")

    original = ingest.HANDLERS["masking"]
    ingest.register("masking", broken)
    try:
        client.get(f"/callbacks/masking/{TOKEN}?session_id=1&error_code=22")
        tries = [jobs.replay_failed(older_than_seconds=0) for _ in range(ingest.MAX_ATTEMPTS)]
    finally:
        ingest.register("masking", original)
    assert tries == [0] * ingest.MAX_ATTEMPTS
    assert CallbackEvent.get().attempts == ingest.MAX_ATTEMPTS
    assert jobs.replay_failed(older_than_seconds=0) == 0
    assert CallbackEvent.get().status == "failed"
