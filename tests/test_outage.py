"""Database outages: which errors are one, the backoff, one log line per outage, and the worker, its jobs and
its dispatcher threads living through one with nothing sent twice and nothing lost."""
import json
import logging
import sqlite3
import threading

import peewee
import psycopg2
import pytest
from psycopg2 import errors as pg_errors

from tests.workers import wait_for
from webapp.dispatch import dispatcher as dispatcher_module
from webapp.dispatch import states
from webapp.dispatch.claim import claim
from webapp.dispatch.dispatcher import Dispatcher
from webapp.extensions import db
from webapp.models import ChannelLog, Send
from webapp.outage import Backoff, Outage, is_outage, retry
from webapp.providers import channel_log


def wrapped(driver_error, peewee_type=peewee.OperationalError):
    """The error as peewee raises it: its own type, the driver's error as the context."""
    try:
        try:
            raise driver_error
        except Exception as exc:
            raise peewee_type(*exc.args) from exc
    except peewee.PeeweeException as err:
        return err


def lost():
    return wrapped(psycopg2.OperationalError("server closed the connection unexpectedly"))


@pytest.mark.parametrize("error, outage", [
    (lambda: lost(), True),
    (lambda: wrapped(psycopg2.InterfaceError("connection already closed"), peewee.InterfaceError), True),
    (lambda: wrapped(sqlite3.OperationalError("unable to open database file")), True),
    (lambda: wrapped(sqlite3.OperationalError("database is locked")), False),
    (lambda: wrapped(pg_errors.QueryCanceled("canceling statement due to statement timeout")), False),
    (lambda: wrapped(pg_errors.SerializationFailure("could not serialize access")), False),
    (lambda: wrapped(psycopg2.IntegrityError("duplicate key"), peewee.IntegrityError), False),
    (lambda: ValueError("not a database error"), False),
])
def test_which_errors_are_outages(error, outage):
    assert is_outage(error()) is outage


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff(first=0.25, cap=2)
    assert [backoff.next() for _ in range(6)] == [0.25, 0.5, 1, 2, 2, 2]
    backoff.reset()
    assert backoff.next() == 0.25


def lines(caplog, text):
    return [r for r in caplog.records if text in r.getMessage()]


def test_one_line_when_an_outage_starts_and_one_when_it_ends(caplog):
    caplog.set_level(logging.INFO, logger="webapp.outage")
    outage = Outage()
    threads = [threading.Thread(target=lambda: [outage.failed(lost()) for _ in range(20)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outage.down
    for _ in range(5):
        outage.ok()
    assert not outage.down
    assert len(lines(caplog, "database unreachable (server closed the connection unexpectedly)")) == 1
    [back] = lines(caplog, "database reachable again")
    assert "(160 failed attempts)" in back.getMessage()
    outage.failed(lost())
    outage.ok()
    assert len(lines(caplog, "database unreachable")) == len(lines(caplog, "database reachable again")) == 2


def test_retry_waits_out_an_outage_and_lets_other_errors_through(caplog):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise lost()
        return "written"

    outage = Outage()
    assert retry(flaky, backoff=Backoff(first=0.01), outage=outage) == "written"
    assert len(calls) == 3 and not outage.down
    with pytest.raises(ValueError):
        retry(lambda: int("x"), outage=outage)
    stop = threading.Event()
    stop.set()
    with pytest.raises(peewee.OperationalError):
        retry(lambda: (_ for _ in ()).throw(lost()), stop=stop, outage=outage)


def test_worker_loop_lives_through_an_outage(app, monkeypatch, caplog):
    from webapp.worker import run_worker

    caplog.set_level(logging.INFO, logger="webapp.outage")
    rounds = []

    def run_once(_app):
        rounds.append(1)
        if 2 <= len(rounds) <= 5:
            raise lost()
        return False

    monkeypatch.setattr(dispatcher_module, "run_once", run_once)
    monkeypatch.setattr("webapp.outage.FIRST_DELAY", 0.01)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop), kwargs={"idle_sleep": 0.01})
    thread.start()
    try:
        assert wait_for(lambda: len(rounds) >= 8, timeout=10)
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(5)
    assert len(lines(caplog, "database unreachable")) == 1
    assert len(lines(caplog, "database reachable again")) == 1


def test_scheduled_job_hitting_an_outage_neither_raises_nor_logs_each_run(app, caplog):
    from webapp.outage import DATABASE
    from webapp.scheduler import _wrap

    caplog.set_level(logging.INFO)

    def job(_app):
        raise lost()

    run = _wrap(app, job)
    for _ in range(3):
        run()
    assert DATABASE.down
    assert not lines(caplog, "scheduled job")
    _wrap(app, lambda _app: None)()
    assert not DATABASE.down
    assert len(lines(caplog, "database unreachable")) == 1


def queue_sms(count):
    rows = [{"kind": "sms.masking", "provider": "masking", "to_number": f"+6281700{i:05d}",
             "payload": json.dumps({"text": f"Promo {i}"})} for i in range(count)]
    Send.insert_many(rows).execute()


def failing_first(monkeypatch, name, times):
    """Make dispatcher_module.<name> meet a lost connection on its first ``times`` calls."""
    real = getattr(dispatcher_module, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise lost()
        return real(*args, **kwargs)

    monkeypatch.setattr(dispatcher_module, name, flaky)
    monkeypatch.setattr("webapp.outage.FIRST_DELAY", 0.01)
    return calls


def assert_each_sent_once(sandbox, count):
    numbers = [r["form"]["hp"] for r in sandbox.requests_to("/masking/send")]
    assert len(numbers) == len(set(numbers)) == count
    # Accepted (a delivery report may already have moved it on), and by the one request each.
    assert Send.select().where(Send.state.in_([states.SUBMITTED, states.DELIVERED])).count() == count


def test_an_answer_is_held_until_the_database_is_back(ctx, sandbox, monkeypatch):
    queue_sms(3)
    calls = failing_first(monkeypatch, "apply_outcome", 4)
    dispatcher = Dispatcher(ctx)
    assert dispatcher.drain(timeout=20)
    assert len(calls) == 3 + 4
    assert_each_sent_once(sandbox, 3)


def test_a_send_cut_off_before_its_request_goes_back_to_the_queue(ctx, sandbox, monkeypatch):
    queue_sms(3)
    failing_first(monkeypatch, "mark_requesting", 2)
    dispatcher = Dispatcher(ctx)
    assert dispatcher.drain(timeout=20)
    assert_each_sent_once(sandbox, 3)
    assert [s.tries for s in Send.select()] == [1, 1, 1]


def test_claims_stranded_by_an_outage_are_sent_once_it_ends(ctx, sandbox):
    queue_sms(4)
    dispatcher = Dispatcher(ctx)
    # A claim whose commit landed while its answer was lost: the rows are ours, no thread works on them.
    with db.connection_context():
        assert len(claim(["sms.masking"], 4, dispatcher.owner)) == 4
    dispatcher.stranded = True
    assert dispatcher.drain(timeout=20)
    assert_each_sent_once(sandbox, 4)


def test_channel_log_rows_are_kept_over_an_outage(ctx, sandbox, monkeypatch):
    real = channel_log._insert
    calls = []

    def flaky(values):
        calls.append(1)
        if len(calls) == 1:
            raise lost()
        return real(values)

    monkeypatch.setattr(channel_log, "_insert", flaky)
    queue_sms(2)
    assert Dispatcher(ctx).drain(timeout=20)
    assert_each_sent_once(sandbox, 2)
    assert ChannelLog.select().where(ChannelLog.provider == "masking").count() == 2
    assert not channel_log.UNWRITTEN


def test_a_leader_that_cannot_renew_its_lease_stops_its_jobs_before_another_may_lead(app):
    from webapp.scheduler import LEASE_SECONDS, RENEW_SECONDS, LeaderScheduler

    leader = LeaderScheduler(app)
    try:
        assert leader.tick()
        leader.unrenewed()  # just renewed: the lease is still ours
        assert leader.is_leader
        leader.renewed_at -= LEASE_SECONDS - RENEW_SECONDS + 1
        leader.unrenewed()
        assert not leader.is_leader
    finally:
        leader.stop()
