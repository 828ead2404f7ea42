"""Rate limits held in the database, so they hold across every web process and host.

Each limit is a fixed-window counter row (webapp.models.RateCounter): one upsert adds the hit and returns the
new count, so concurrent requests can never all read "4 of 5" and all pass. A hit refused by its limit is
taken back, so the counter only counts what was let through.
"""
import hashlib
import random
import time
from dataclasses import dataclass

from peewee import Case

from webapp.models import RateCounter

# Rows whose window opened this long ago are pruned now and then (no limit here has a longer window).
PRUNE_AFTER_SECONDS = 2 * 86400
PRUNE_CHANCE = 0.01


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits per ``window`` seconds for ``key``; ``name`` tells the caller which one refused."""

    name: str
    key: str
    limit: int
    window: float


class LimitExceeded(Exception):  # noqa: N818 (an outcome, like Django's Throttled)
    def __init__(self, limit, wait):
        super().__init__(f"{limit.name}: retry in {wait} s")
        self.limit = limit
        self.wait = wait


def key(*parts):
    """A fixed-length counter key; e-mails and addresses are not stored in clear in yet another table."""
    prefix, *rest = parts
    digest = hashlib.sha256("\x1f".join(str(p) for p in rest).encode()).hexdigest()[:40]
    return f"{prefix}:{digest}"


def hit(counter_key, window, now=None):
    """Add one hit; returns (hits in the current window, seconds until that window closes)."""
    now = time.time() if now is None else now
    expired = RateCounter.window_start <= now - window
    query = (RateCounter.insert(key=counter_key, hits=1, window_start=now)
             .on_conflict(conflict_target=[RateCounter.key], update={
                 RateCounter.hits: Case(None, [(expired, 1)], RateCounter.hits + 1),
                 RateCounter.window_start: Case(None, [(expired, now)], RateCounter.window_start),
             })
             .returning(RateCounter.hits, RateCounter.window_start))
    hits, started = query.tuples().execute()[0]
    if random.random() < PRUNE_CHANCE:
        RateCounter.delete().where(RateCounter.window_start < now - PRUNE_AFTER_SECONDS).execute()
    return hits, max(1, int(started + window - now + 0.999))


def undo(counter_key):
    """Take one hit back (a refused or successful attempt that must not count)."""
    (RateCounter.update(hits=RateCounter.hits - 1)
     .where((RateCounter.key == counter_key) & (RateCounter.hits > 0)).execute())


def reset(counter_key):
    RateCounter.delete().where(RateCounter.key == counter_key).execute()


def take(limits, now=None):
    """One hit on each limit, in order; raises LimitExceeded (with every hit of this call taken back) at the
    first limit over its ceiling."""
    taken = []
    for limit in limits:
        hits, wait = hit(limit.key, limit.window, now)
        taken.append(limit)
        if hits > limit.limit:
            for done in taken:
                undo(done.key)
            raise LimitExceeded(limit, wait)
    return taken


def wait_text(seconds):
    """'45 seconds', '1 minute', '15 minutes': how long the page tells someone to wait."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
