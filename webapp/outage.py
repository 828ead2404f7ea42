"""Living through database outages (PostgreSQL restarted, connections terminated): which errors mean the
database is gone rather than that one statement went wrong, the backoff between attempts, and one log line
when an outage starts and one when it ends, however many threads of the process run into it.
"""
import logging
import sqlite3
import threading
import time
from contextlib import contextmanager

from webapp.extensions import db

log = logging.getLogger(__name__)

# SQLSTATEs of a lost server: class 08 (connection exception) and 57P01-57P03 (administrator shutdown,
# crash shutdown, cannot connect now). 57014, a cancelled statement, is no outage.
LOST_SQLSTATES = ("08", "57P")
# SQLite has no server to lose, only a file that cannot be reached. "database is locked" is contention
# (busy_timeout and BEGIN IMMEDIATE deal with it), never an outage.
SQLITE_LOST = ("unable to open database file", "disk i/o error")

FIRST_DELAY = 0.25
MAX_DELAY = 10.0


def _causes(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_outage(exc):
    """True when ``exc`` (peewee's, or the driver's it wraps) says the database connection is lost."""
    for err in _causes(exc):
        if isinstance(err, sqlite3.Error):
            return isinstance(err, sqlite3.OperationalError) and str(err).lower().startswith(SQLITE_LOST)
        if type(err).__module__.startswith("psycopg2"):
            return _psycopg2_lost(err)
    return False


def _psycopg2_lost(err):
    import psycopg2
    from psycopg2 import extensions

    if isinstance(err, psycopg2.InterfaceError):
        return True  # "connection already closed": a connection that broke earlier
    if not isinstance(err, psycopg2.OperationalError):
        return False
    if err.pgcode:
        return err.pgcode.startswith(LOST_SQLSTATES)
    # No SQLSTATE: the client lost the server (refused, reset, "server closed the connection unexpectedly").
    return not isinstance(err, extensions.QueryCanceledError | extensions.TransactionRollbackError)


def _summary(exc):
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


class Backoff:
    """The waits of one retry loop: FIRST_DELAY, doubling up to MAX_DELAY."""

    def __init__(self, first=None, cap=None):
        self.first = FIRST_DELAY if first is None else first
        self.cap = MAX_DELAY if cap is None else cap
        self.delay = self.first

    def next(self):
        delay = self.delay
        self.delay = min(self.cap, delay * 2)
        return delay

    def reset(self):
        self.delay = self.first


def _opened_at():
    """When this thread's pooled connection was opened (time.time()), or None (no pool, no connection)."""
    database = db.obj
    in_use = getattr(database, "_in_use", None)
    conn = getattr(getattr(database, "_state", None), "conn", None)
    if in_use is None or conn is None:
        return None
    pooled = in_use.get(database.conn_key(conn))
    return pooled.timestamp if pooled is not None else None


class Outage:
    """Whether the database is down as this process sees it. Every thread reports its failures and successes
    here; only the first failure of an outage and the first success after it are logged."""

    def __init__(self, what="database"):
        self.what = what
        self.lock = threading.Lock()
        self.since = None
        self.failures = 0
        # time.time() when the latest outage began: connections opened before it died with it.
        self.began = None

    @property
    def down(self):
        return self.since is not None

    def failed(self, exc):
        """Count one failure; returns False when it was news of nothing: a connection opened before the last
        outage, held by a thread through it (a dispatcher thread waiting on a provider), dying now.
        An error already counted (by noticing(), where its connection was still known) is not counted again."""
        if hasattr(exc, "outage_news"):
            return exc.outage_news
        exc.outage_news = self._failed(exc)
        return exc.outage_news

    def _failed(self, exc):
        opened = _opened_at()
        with self.lock:
            if opened is not None and self.began is not None and opened <= self.began and self.since is None:
                return False
            self.failures += 1
            if self.since is not None:
                return True
            self.since = time.monotonic()
            self.began = time.time()
        log.error("%s unreachable (%s): retrying with backoff until it is back", self.what, _summary(exc))
        # Pooled connections idle since before the outage are dead too: drop them rather than let each
        # fail once more.
        close_idle = getattr(db.obj, "close_idle", None)
        if close_idle is not None:
            close_idle()
        return True

    def ok(self):
        if self.since is None:  # the hot path: no lock while all is well
            return
        with self.lock:
            if self.since is None:
                return
            seconds, failures = time.monotonic() - self.since, self.failures
            self.since, self.failures = None, 0
        log.warning("%s reachable again after %.1f s (%d failed attempts)", self.what, seconds, failures)


DATABASE = Outage()


@contextmanager
def noticing(outage=DATABASE):
    """Count an outage error right where it happens, inside the connection_context it broke: that context
    closes the connection on its way out, and with it the knowledge of how old the connection was."""
    try:
        yield
    except Exception as exc:
        if is_outage(exc):
            outage.failed(exc)
        raise


def reset_connection():
    """Drop this thread's connection after an outage error, so the next statement opens a new one."""
    try:
        if not db.is_closed():
            db.close()
    except Exception:  # noqa: BLE001 (a dead connection may fail to close; it is discarded either way)
        log.debug("closing a broken connection failed", exc_info=True)


def retry(func, stop=None, backoff=None, outage=DATABASE):
    """func() until it runs without an outage error, waiting with backoff between attempts; its result.

    Other errors propagate at once. When ``stop`` (a threading.Event) is set while waiting, the outage
    error propagates: the caller gives up and the lease logic takes over.
    """
    backoff = backoff or Backoff()
    while True:
        try:
            result = func()
        except Exception as exc:
            if not is_outage(exc):
                raise
            news = outage.failed(exc)
            reset_connection()
            if not news:
                continue
            delay = backoff.next()
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise
            continue
        outage.ok()
        return result
