"""The dispatcher's promises: a row before a request, never twice, never silently lost, only forward."""
import json
import threading
from datetime import timedelta

import pytest

from webapp.callbacks import ingest
from webapp.dispatch import states
from webapp.dispatch.claim import claim, expire_leases
from webapp.dispatch.dispatcher import Dispatcher
from webapp.dispatch.registry import SENDERS, Outcome, Sender, register_sender
from webapp.dispatch.updates import apply_update
from webapp.models import CallbackEvent, Send, utcnow
from webapp.providers.base import ProviderError, StatusUpdate


class FakeProvider:
    """Stands in for a provider module at the dispatcher boundary; records what it was asked to send."""

    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()
        self.error = None

    def send(self, send):
        with self.lock:
            self.sent.append(send.id)
        if self.error:
            raise self.error
        return Outcome(provider_ref=f"ref-{send.id}", price=100.0, currency="IDR")


@pytest.fixture
def fake(ctx):
    provider = FakeProvider()
    register_sender(Sender(kind="test", provider="testprov", send=provider.send, throttle_codes=frozenset({"57"}),
                           max_tries=2))
    yield provider
    SENDERS.pop("test", None)


def queue(n, **fields):
    return [Send.create(kind="test", provider="testprov", to_number=f"+628123456{i:04d}", **fields).id
            for i in range(n)]


def drain(dispatcher):
    assert dispatcher.drain()
    dispatcher.shutdown()


def test_claim_is_exclusive(fake):
    ids = queue(5)
    first = claim(["test"], 3, "worker-a")
    second = claim(["test"], 10, "worker-b")
    assert first == ids[:3] and second == ids[3:]
    assert claim(["test"], 10, "worker-c") == []
    assert Send.get_by_id(ids[0]).state == states.SENDING


def test_not_before_is_respected(fake):
    later = queue(1, not_before=utcnow() + timedelta(minutes=5))
    assert claim(["test"], 10, "w") == []
    assert Send.get_by_id(later[0]).state == states.QUEUED


def test_two_dispatchers_send_each_row_exactly_once(fake, app):
    ids = queue(120)
    dispatchers = [Dispatcher(app, max_in_flight=8), Dispatcher(app, max_in_flight=8)]
    threads = [threading.Thread(target=drain, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(fake.sent) == ids
    assert Send.select().where(Send.state == states.SUBMITTED).count() == 120
    assert Send.get_by_id(ids[0]).provider_ref == f"ref-{ids[0]}"


def test_refusal_fails_the_send_with_the_provider_code(fake, app):
    fake.error = ProviderError("42", "invalid msisdn", retryable=False)
    (send_id,) = queue(1)
    drain(Dispatcher(app))
    send = Send.get_by_id(send_id)
    assert (send.state, send.error_code, send.error_text) == (states.FAILED, "42", "invalid msisdn")


def test_unknown_outcome_is_never_resent(fake, app):
    fake.error = ProviderError("timeout", "no answer in time")
    (send_id,) = queue(1)
    drain(Dispatcher(app))
    assert Send.get_by_id(send_id).state == states.UNKNOWN
    drain(Dispatcher(app))
    assert fake.sent == [send_id]


def test_connection_failure_is_requeued_then_failed_after_max_tries(fake, app):
    fake.error = ProviderError("connection_failed", "refused", retryable=True)
    (send_id,) = queue(1)
    drain(Dispatcher(app))
    send = Send.get_by_id(send_id)
    assert send.state == states.QUEUED and send.not_before > utcnow()
    Send.update(not_before=utcnow()).execute()
    drain(Dispatcher(app))
    assert Send.get_by_id(send_id).state == states.FAILED
    assert len(fake.sent) == 2


def test_throttle_requeues_without_spending_a_try(fake, app):
    fake.error = ProviderError("57", "concurrency limit", retryable=True)
    (send_id,) = queue(1)
    drain(Dispatcher(app))
    send = Send.get_by_id(send_id)
    assert send.state == states.QUEUED and send.tries == 0


def test_expired_lease_after_the_request_started_becomes_unknown(fake):
    from webapp.dispatch.claim import mark_requesting

    started, waiting = queue(2)
    claim(["test"], 2, "dead-worker")
    assert mark_requesting(started, "dead-worker")
    assert expire_leases(now=utcnow() + timedelta(minutes=10)) == (1, 1)
    send = Send.get_by_id(started)
    assert send.state == states.UNKNOWN and "may or may not" in send.error_text
    # The claim whose request never started provably never left: it is sent by the next worker, once.
    assert Send.get_by_id(waiting).state == states.QUEUED
    assert claim(["test"], 5, "new-worker") == [waiting]


@pytest.mark.parametrize("sequence,final", [
    (["delivered", "submitted"], "delivered"),
    (["failed", "delivered"], "failed"),
    (["submitted", "delivered", "delivered"], "delivered"),
])
def test_updates_only_move_forward(fake, app, sequence, final):
    (send_id,) = queue(1)
    drain(Dispatcher(app))
    for state in sequence:
        apply_update("testprov", StatusUpdate(reference=f"ref-{send_id}", state=state))
    assert Send.get_by_id(send_id).state == final


def test_orphan_callback_is_applied_when_the_reference_appears(fake, app):
    from webapp.dispatch.updates import apply_orphans

    (send_id,) = queue(1)
    ingest.register("testprov", lambda event, payload: _apply_test_payload(event, payload))
    try:
        payload = {"ref": f"ref-{send_id}", "state": "delivered"}
        event = CallbackEvent.create(provider="testprov", dedupe_key="k1", method="POST", body=json.dumps(payload))
        status, _ = ingest.apply(event, payload)
        assert status == "orphan"
        drain(Dispatcher(app))
        apply_orphans("testprov", f"ref-{send_id}")
    finally:
        ingest.HANDLERS.pop("testprov")
    assert Send.get_by_id(send_id).state == states.DELIVERED


def _apply_test_payload(event, payload):
    event.reference = payload["ref"]
    return apply_update("testprov", StatusUpdate(reference=payload["ref"], state=payload["state"]))


def test_send_now_sends_one_row_inline_and_only_once(fake, app):
    from webapp.dispatch.dispatcher import send_now

    first, second = queue(2)
    assert send_now(app, first).state == states.SUBMITTED
    assert send_now(app, first).state == states.SUBMITTED
    assert fake.sent == [first]
    assert Send.get_by_id(second).state == states.QUEUED
