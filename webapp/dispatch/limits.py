"""Account-wide limits, held in the database so any number of workers on any number of hosts keep them.

Each provider account has a row per limit in account_limit, read and changed only while locked: PostgreSQL
`SELECT ... FOR UPDATE` on the row, SQLite a transaction that begins IMMEDIATE (webapp.db), which holds the
database's write lock.

- Rate ("<provider>:rate"), in two steps. A dispatcher reserves one moment per claimed send (`next_at`,
  moved on by 1/rate each), one write for the whole batch, and each send's thread sleeps until its moment,
  so the requests of every worker leave evenly spaced without polling the row. Then, right before its
  request, each is counted in the current second of the clock (`second_at`, `second_count`), in the same
  transaction that records the request as started: requests held up on the way (a thread that woke late,
  a write that waited for the database) may catch up, but never past `rate` in one second; one that finds
  its second full waits for the next. Moments are on the database server's clock
  (SQLite: this machine's), so hosts whose clocks disagree still share one schedule.
- Concurrency ("<provider>:concurrency"): the row is only a lock. The sender's capacity() counts the
  account's calls from the send rows and the claim marks the new ones `sending`, both under the lock, so
  two workers cannot both see the same free places.
"""
import math
import time
from contextlib import contextmanager

from webapp.db import dialect
from webapp.extensions import db
from webapp.models import utcnow

COLUMNS = "next_at, second_at, second_count"
# A request counted this close to the end of a second would start in the next one (the commit and the
# connection take a few ms): it is counted in, and waits for, the next second instead.
BOUNDARY_SECONDS = 0.02


def rate_key(provider):
    return f"{provider}:rate"


def concurrency_key(provider):
    return f"{provider}:concurrency"


def _locked_row(name):
    """Inside a transaction: (now, next_at, second_at, second_count), the row locked until commit."""
    p = db.param
    if dialect() == "postgresql":
        select = (f"SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION), {COLUMNS} "
                  f"FROM account_limit WHERE name = {p} FOR UPDATE")
        row = db.execute_sql(select, (name,)).fetchone()
        if row is None:
            db.execute_sql(f"INSERT INTO account_limit (name, {COLUMNS}, updated_at) VALUES ({p}, 0, 0, 0, {p}) "
                           "ON CONFLICT (name) DO NOTHING", (name, utcnow()))
            row = db.execute_sql(select, (name,)).fetchone()
        return row
    # SQLite: this transaction began IMMEDIATE and holds the write lock; no other writer runs until commit.
    row = db.execute_sql(f"SELECT {COLUMNS} FROM account_limit WHERE name = {p}", (name,)).fetchone()
    if row is None:
        db.execute_sql(f"INSERT INTO account_limit (name, {COLUMNS}, updated_at) VALUES ({p}, 0, 0, 0, {p})",
                       (name, utcnow()))
        row = (0.0, 0.0, 0)
    return (time.time(), *row)


def _set(name, next_at, second_at, second_count):
    p = db.param
    db.execute_sql(f"UPDATE account_limit SET next_at = {p}, second_at = {p}, second_count = {p}, updated_at = {p} "
                   f"WHERE name = {p}", (next_at, second_at, second_count, utcnow(), name))


def reserve(name, rate, count=1):
    """Reserve the next ``count`` moments of this account's rate; returns the seconds to wait until each."""
    with db.atomic():
        now, next_at, second_at, second_count = _locked_row(name)
        # An idle account banks no unused moments: the next request may leave now, not a burst of them.
        first = max(now, next_at)
        _set(name, first + count / rate, second_at, second_count)
    return [max(0.0, first - now + index / rate) for index in range(count)]


def depart(name, rate, during=None):
    """Count one request in the account's current second, or the first second not yet full, running
    ``during()`` in the same transaction; returns (seconds to wait until that second, during's result)."""
    per_second = max(1, math.floor(rate))
    with db.atomic():
        now, next_at, second_at, second_count = _locked_row(name)
        current = math.floor(now + BOUNDARY_SECONDS)
        if current > second_at:
            second_at, second_count = current, 0
        if second_count >= per_second:
            second_at, second_count = second_at + 1, 0
        _set(name, next_at, second_at, second_count + 1)
        result = during() if during is not None else None
    return max(0.0, second_at - now), result


@contextmanager
def held(name):
    """A transaction holding this limit's lock: what is counted and claimed inside is seen by the next holder."""
    with db.atomic():
        _locked_row(name)
        yield
