"""Account-wide limits held in the database: rates spaced across every worker, concurrency counted and claimed
under the account's lock, on SQLite and PostgreSQL."""
import math
import threading
import time

import pytest

from webapp.dispatch import limits, states
from webapp.dispatch.dispatcher import Dispatcher
from webapp.dispatch.registry import SENDERS, Outcome, Sender, register_sender
from webapp.extensions import db
from webapp.models import AccountLimit, Send


def test_reservations_are_spaced_by_the_rate(ctx):
    started = time.monotonic()
    waits = limits.reserve("testprov:rate", 20, count=4)
    assert waits == pytest.approx([0, 0.05, 0.1, 0.15], abs=0.02)
    # The next batch carries on from there, less the time between the calls.
    [wait] = limits.reserve("testprov:rate", 20)
    assert 0.2 - (time.monotonic() - started) - 0.01 <= wait <= 0.2


def test_an_idle_account_banks_no_burst(ctx):
    AccountLimit.create(name="testprov:rate", next_at=0)  # last used long ago
    assert limits.reserve("testprov:rate", 10, count=3) == pytest.approx([0, 0.1, 0.2], abs=0.01)


def test_threads_on_their_own_connections_share_one_schedule(ctx):
    rate, per_thread, threads = 10.0, 10, 4
    start = threading.Barrier(threads)
    moments = []

    def reserve_many():
        with db.connection_context():
            start.wait()
            for _ in range(per_thread):
                [wait] = limits.reserve("testprov:rate", rate)
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


def test_requests_held_up_never_pass_the_rate_in_one_second(ctx):
    second = math.floor(time.time()) + 5  # a second of its own, whatever the clock says now
    AccountLimit.create(name="testprov:rate", second_at=second, second_count=2)
    # At 3/s one more fits in that second; the work given runs in the same transaction.
    wait, result = limits.depart("testprov:rate", 3, during=lambda: "marked")
    assert result == "marked" and 4 < wait <= 5
    # The second is full: the next request is counted in, and waits for, the one after.
    wait, _ = limits.depart("testprov:rate", 3)
    assert 5 < wait <= 6
    row = AccountLimit.get_by_id("testprov:rate")
    assert (row.second_at, row.second_count) == (second + 1, 1)


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
