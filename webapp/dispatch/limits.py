"""Account-wide limits, held in the database so any number of workers on any number of hosts keep them.

Each provider account has a row per limit in account_limit, read and changed only while locked: PostgreSQL
`SELECT ... FOR UPDATE` on the row, SQLite a transaction that begins IMMEDIATE (webapp.db), which holds the
database's write lock.

- Rate ("<provider>:rate"), in two steps per request. It first reserves a moment (`next_at`, moved on by
  1/rate each time) and sleeps until it, so the requests of every worker wake one after the other instead
  of all polling the row. Then, right before its request, it checks the moment the last request actually
  left (`last_at`): a request held up on the way (a thread that woke late, a write that waited for the
  database) must not leave together with the next one, on time. It leaves only 1/rate after the last,
  waiting the rest if need be. Moments are on the database server's clock (SQLite: this machine's), so
  hosts whose clocks disagree still share one schedule.
- Concurrency ("<provider>:concurrency"): the row is only a lock. The sender's capacity() counts the
  account's calls from the send rows and the claim marks the new ones `sending`, both under the lock, so
  two workers cannot both see the same free places.
"""
import time
from contextlib import contextmanager

from webapp.db import dialect
from webapp.extensions import db
from webapp.models import utcnow


def rate_key(provider):
    return f"{provider}:rate"


def concurrency_key(provider):
    return f"{provider}:concurrency"


def _locked_row(name):
    """Inside a transaction: (now, next_at, last_at) with this limit's row locked until commit."""
    p = db.param
    if dialect() == "postgresql":
        select = (f"SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION), next_at, last_at "
                  f"FROM account_limit WHERE name = {p} FOR UPDATE")
        row = db.execute_sql(select, (name,)).fetchone()
        if row is None:
            db.execute_sql(f"INSERT INTO account_limit (name, next_at, last_at, updated_at) VALUES ({p}, 0, 0, {p}) "
                           "ON CONFLICT (name) DO NOTHING", (name, utcnow()))
            row = db.execute_sql(select, (name,)).fetchone()
        return row
    # SQLite: this transaction began IMMEDIATE and holds the write lock; no other writer runs until commit.
    row = db.execute_sql(f"SELECT next_at, last_at FROM account_limit WHERE name = {p}", (name,)).fetchone()
    if row is None:
        db.execute_sql(f"INSERT INTO account_limit (name, next_at, last_at, updated_at) VALUES ({p}, 0, 0, {p})",
                       (name, utcnow()))
        row = (0.0, 0.0)
    return (time.time(), *row)


def _set(name, next_at, last_at):
    p = db.param
    db.execute_sql(f"UPDATE account_limit SET next_at = {p}, last_at = {p}, updated_at = {p} WHERE name = {p}",
                   (next_at, last_at, utcnow(), name))


def reserve(name, rate):
    """Reserve the next moment of this account's rate; returns the seconds to wait until it."""
    with db.atomic():
        now, next_at, last_at = _locked_row(name)
        # An idle account banks no unused moments: the next request may leave now, not a burst of them.
        moment = max(now, next_at)
        _set(name, moment + 1.0 / rate, last_at)
    return moment - now


def depart(name, rate):
    """Record that one request leaves now, or 1/rate after the last one if that is later; returns the seconds
    to wait before it leaves."""
    interval = 1.0 / rate
    with db.atomic():
        now, next_at, last_at = _locked_row(name)
        leaves = max(now, last_at + interval)
        _set(name, max(next_at, leaves + interval), leaves)
    return leaves - now


def wait_for_turn(name, rate, sleep=time.sleep):
    """Block until the moment this request reserved in the account's rate."""
    wait = reserve(name, rate)
    if wait > 0:
        sleep(wait)


def wait_to_leave(name, rate, sleep=time.sleep):
    """Block, right before the request, until 1/rate after the account's last request left."""
    wait = depart(name, rate)
    if wait > 0:
        sleep(wait)


@contextmanager
def held(name):
    """A transaction holding this limit's lock: what is counted and claimed inside is seen by the next holder."""
    with db.atomic():
        _locked_row(name)
        yield
