"""Account-wide limits held in the database: rates spaced across every worker, concurrency counted and claimed
under the account's lock, on SQLite and PostgreSQL."""
import threading
import time

import pytest

from webapp.dispatch import limits, states
from webapp.dispatch.dispatcher import Dispatcher
from webapp.dispatch.registry import SENDERS, Outcome, Sender, register_sender
from webapp.extensions import db
from webapp.models import AccountLimit, Send


def test_reservations_are_spaced_by_the_rate(ctx):
    waits = [limits.reserve("testprov:rate", 20) for _ in range(5)]
    assert waits[0] == pytest.approx(0, abs=0.01)
    # Reserved back to back, so each waits 1/20 s more than the one before (less the time between the calls).
    for before, after in zip(waits, waits[1:], strict=False):
        assert after - before == pytest.approx(0.05, abs=0.02)


def test_an_idle_account_banks_no_burst(ctx):
    AccountLimit.create(name="testprov:rate", next_at=0)  # last used long ago
    assert limits.reserve("testprov:rate", 10) == pytest.approx(0, abs=0.01)
    assert limits.reserve("testprov:rate", 10) == pytest.approx(0.1, abs=0.02)


def test_threads_on_their_own_connections_share_one_schedule(ctx):
    rate, per_thread, threads = 10.0, 10, 4
    start = threading.Barrier(threads)
    moments = []

    def reserve_many():
        with db.connection_context():
            start.wait()
            for _ in range(per_thread):
                wait = limits.reserve("testprov:rate", rate)
                moments.append(time.time() + wait)

    workers = [threading.Thread(target=reserve_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    # 40 requests at 10/s, all reserved within a second: one moment every 0.1 s, none shared.
    moments.sort()
    assert len(moments) == threads * per_thread
    for before, after in zip(moments, moments[1:], strict=False):
        assert after - before == pytest.approx(1 / rate, abs=0.04)


def test_a_late_request_leaves_no_sooner_than_one_interval_after_the_last(ctx):
    assert limits.depart("testprov:rate", 10) == pytest.approx(0, abs=0.01)
    # The next one was held up and arrives at once: it waits out the interval instead of following on.
    assert limits.depart("testprov:rate", 10) == pytest.approx(0.1, abs=0.02)
    row = AccountLimit.get_by_id("testprov:rate")
    assert row.next_at >= row.last_at + 0.1 - 1e-6


class HeldCalls:
    """A capped sender whose calls stay in flight until released, counted from the send rows as OCA's are."""

    def __init__(self, cap):
        self.cap = cap
        self.release = threading.Event()
        # Both dispatchers must reach capacity() before either counts, unless one holds the account's lock
        # (then the other waits on the lock and this barrier breaks after its timeout).
        self.counting = threading.Barrier(2)

    def capacity(self):
        try:
            self.counting.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        busy = Send.select().where((Send.kind == "test.capped")
                                   & Send.state.in_([states.SENDING, states.SUBMITTED])).count()
        return max(0, self.cap - busy)

    def send(self, send):
        self.release.wait(10)
        return Outcome(provider_ref=f"ref-{send.id}")


@pytest.fixture
def held_calls(ctx):
    calls = HeldCalls(cap=3)
    register_sender(Sender(kind="test.capped", provider="testcapped", send=calls.send, capacity=calls.capacity))
    yield calls
    calls.release.set()
    SENDERS.pop("test.capped", None)


def test_two_dispatchers_never_claim_more_than_the_account_allows(ctx, held_calls):
    Send.insert_many([{"kind": "test.capped", "provider": "testcapped", "to_number": f"+62811000{i:04d}",
                       "payload": "{}"} for i in range(10)]).execute()
    dispatchers = [Dispatcher(ctx), Dispatcher(ctx)]
    rounds = [threading.Thread(target=d.run_once) for d in dispatchers]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join(20)
    in_flight = Send.select().where(Send.state == states.SENDING).count()
    assert in_flight == 3, f"{in_flight} in flight for a cap of 3"
    held_calls.release.set()
    for dispatcher in dispatchers:
        dispatcher.shutdown()
