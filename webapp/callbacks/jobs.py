"""The worker's jobs over stored callbacks: apply them in arrival order, and retry the ones that raised."""
import logging
import time
from datetime import timedelta

from flask import current_app

from webapp.callbacks.bodies import safe_text, stored_payload
from webapp.callbacks.ingest import HANDLERS, MAX_ATTEMPTS, apply, record
from webapp.extensions import db
from webapp.models import CallbackEvent, utcnow

log = logging.getLogger(__name__)

APPLY_BATCH = 200
# Events applied per transaction by the job; few enough that SQLite's single writer is not held for long.
COMMIT_EVERY = 25
# The apply job runs every second: it stops taking events before the next run is due, so the scheduler never
# has to skip (and warn about) a run still going; the next run carries on where it stopped.
APPLY_BUDGET_SECONDS = 0.9
# Inline mode applies in the web; the worker only picks up what a web process stored and then died before applying.
INLINE_GRACE_SECONDS = 60


def _pending(condition):
    return (CallbackEvent.select().where(condition & CallbackEvent.provider.in_(list(HANDLERS)))
            .order_by(CallbackEvent.id).limit(APPLY_BATCH))


def apply_received(app=None, older_than_seconds=None, budget=APPLY_BUDGET_SECONDS):
    """The worker's job: stored callbacks in arrival order, each in isolation. Returns how many it took.

    In inline mode the web applies them itself; only those left behind for INLINE_GRACE_SECONDS are taken."""
    if older_than_seconds is None:
        inline = (app or current_app).config["CALLBACK_APPLY"] == "inline"
        older_than_seconds = INLINE_GRACE_SECONDS if inline else 0
    condition = CallbackEvent.status == "received"
    if older_than_seconds:
        condition &= CallbackEvent.received_at < utcnow() - timedelta(seconds=older_than_seconds)
    deadline = time.monotonic() + budget
    done, last_id = 0, 0
    while True:
        # Past the last id seen: an event a handler left "received" is not taken again in this run.
        batch = list(_pending(condition & (CallbackEvent.id > last_id)))
        for start in range(0, len(batch), COMMIT_EVERY):
            chunk = batch[start:start + COMMIT_EVERY]
            taken = _apply_chunk(chunk, deadline)
            done += taken
            last_id = chunk[taken - 1].id
            if time.monotonic() > deadline:
                return done
        if len(batch) < APPLY_BATCH:
            return done


def _apply_chunk(events, deadline):
    """Apply events in one transaction (a commit waits for the disk); returns how many were taken.

    Handlers almost never raise, so the chunk first goes without a savepoint per event. If one raises, the
    whole chunk is rolled back and done again with each event in its own savepoint (apply), where the one
    that raises ends failed and the others are applied."""
    taken = 0
    try:
        with db.atomic():
            for event in events:
                handler = HANDLERS[event.provider]
                try:
                    payload = stored_payload(event)
                except ValueError as exc:
                    record(event, "invalid", safe_text(str(exc)))
                else:
                    record(event, handler(event, payload), "")
                taken += 1
                if time.monotonic() > deadline:
                    break
        return taken
    except Exception:
        log.info("a callback in events %s..%s raised: applying them one by one", events[0].id, events[-1].id)
    taken = 0
    with db.atomic():
        for event in events:
            apply(event)
            taken += 1
            if time.monotonic() > deadline:
                break
    return taken


def replay_failed(app=None, older_than_seconds=60):
    """Apply again, each in isolation, the events a handler raised on fewer than MAX_ATTEMPTS times."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    retry = ((CallbackEvent.status == "failed") & (CallbackEvent.attempts < MAX_ATTEMPTS)
             & (CallbackEvent.received_at < cutoff))
    return sum(1 for event in list(_pending(retry)) if apply(event)[0] != "failed")
