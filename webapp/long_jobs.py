"""Long jobs (CSV imports and their dry runs) run by the worker, never in a web process.

A job is a row with ``status``, ``lease_holder``, ``lease_expires_at`` and ``attempts``. A worker takes it with
one conditional UPDATE (the row is in a runnable state and nobody holds an unexpired lease), so of two workers
racing for a row exactly one changes it, on PostgreSQL and SQLite alike. The holder renews the lease with every
batch, inside the batch's transaction: a worker that lost its lease rolls the batch back instead of writing
beside the new holder. A worker that died simply stops renewing; once the lease expires another worker takes
the job over, and after MAX_ATTEMPTS takeovers the job's handler gives up on it with a clear message. A worker
asked to stop hands its job back between two batches, so the next worker continues it at once.
"""
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

from webapp.extensions import db
from webapp.models import utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
MAX_ATTEMPTS = 3
IDLE_SECONDS = 0.5

# (name, callable(app, holder, stop_event) -> True when it ran a job); areas add theirs with register.
HANDLERS = []


class LeaseLost(RuntimeError):
    """Another worker took the job over (this one was too slow to renew): stop without writing."""


class HandedBack(RuntimeError):
    """The worker is stopping: the job was handed back between two batches, for the next worker to continue."""


def register(name, handler):
    if all(existing != name for existing, _handler in HANDLERS):
        HANDLERS.append((name, handler))


def holder_id():
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    model: type
    job_id: int
    holder: str
    seconds: int = LEASE_SECONDS
    stop_event: threading.Event | None = None

    def _mine(self):
        return (self.model.id == self.job_id) & (self.model.lease_holder == self.holder)

    def renew(self, **changes):
        """Extend the lease (and apply ``changes``) or raise LeaseLost; call inside the batch's transaction."""
        expires = utcnow() + timedelta(seconds=self.seconds)
        if not self.model.update(lease_expires_at=expires, **changes).where(self._mine()).execute():
            raise LeaseLost(f"{self.model.__name__} {self.job_id} was taken over by another worker")

    def release(self, **changes):
        """Give the job up with its new state; False when it was no longer ours."""
        return bool(self.model.update(lease_holder="", lease_expires_at=None, **changes).where(self._mine()).execute())

    def check_stop(self):
        """Between two batches: when the worker is stopping, hand the job back (HandedBack) instead of going on."""
        if self.stop_event is not None and self.stop_event.is_set():
            # The takeover this allows is not a death: it does not count towards MAX_ATTEMPTS.
            self.release(attempts=self.model.attempts - 1)
            raise HandedBack(f"{self.model.__name__} {self.job_id} handed back")


def claim(model, states, holder, stop_event=None, seconds=LEASE_SECONDS, now=None):
    """The oldest job in ``states`` that nobody holds, leased to ``holder``: (job, Lease), or None."""
    now = now or utcnow()
    free = model.lease_expires_at.is_null() | (model.lease_expires_at < now)
    candidates = model.select(model.id).where(model.status.in_(states) & free).order_by(model.id).limit(10)
    for (job_id,) in candidates.tuples():
        taken = (
            model.update(lease_holder=holder, lease_expires_at=now + timedelta(seconds=seconds),
                         attempts=model.attempts + 1)
            .where((model.id == job_id) & model.status.in_(states) & free)
            .execute()
        )
        if taken:
            return model.get_by_id(job_id), Lease(model, job_id, holder, seconds, stop_event)
    return None


def run_once(app, holder, stop_event):
    """Run at most one job of each kind; True when any ran."""
    worked = False
    for name, handler in HANDLERS:
        try:
            with app.app_context(), db.connection_context():
                worked = handler(app, holder, stop_event) or worked
        except Exception:
            log.exception("long job %s failed", name)
    return worked


def run_forever(app, stop_event, idle_seconds=IDLE_SECONDS):
    holder = holder_id()
    while not stop_event.is_set():
        if not run_once(app, holder, stop_event):
            stop_event.wait(idle_seconds)


def start_in_thread(app, stop_event):
    """The worker runs long jobs in their own thread so a 100k-row import never holds up sending."""
    thread = threading.Thread(target=run_forever, args=(app, stop_event), name="long-jobs", daemon=True)
    thread.start()
    return thread
