"""APScheduler jobs (polling, recovery). Runs only in a worker process, and only in the leader.

Leadership is a lease row in scheduler_lease renewed every few seconds; it works the same on SQLite and
PostgreSQL. A worker that loses the lease shuts its scheduler down before another can take it over, because
the lease outlives one renewal period by LEASE_SECONDS - RENEW_SECONDS.
"""
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from peewee import IntegrityError

from webapp.extensions import db
from webapp.models import SchedulerLease, utcnow
from webapp.outage import DATABASE, is_outage, noticing, reset_connection

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_SECONDS = 30
RENEW_SECONDS = 5
# Jobs read their work from the database, so a missed run is simply made up by the next one.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}

# (job id, callable(app), seconds between runs); areas add theirs with register_job.
JOBS = []


def register_job(job_id, func, seconds):
    if all(existing[0] != job_id for existing in JOBS):
        JOBS.append((job_id, func, seconds))


def holder_id():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(holder, now=None):
    """Take or renew the lease; True when ``holder`` is the leader afterwards."""
    now = now or utcnow()
    expires = now + timedelta(seconds=LEASE_SECONDS)
    mine_or_expired = (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now)
    with db.atomic():
        updated = (
            SchedulerLease.update(holder=holder, expires_at=expires)
            .where((SchedulerLease.name == LEASE_NAME) & mine_or_expired)
            .execute()
        )
        if updated:
            return True
        if SchedulerLease.select().where(SchedulerLease.name == LEASE_NAME).exists():
            return False
    try:
        with db.atomic():
            SchedulerLease.create(name=LEASE_NAME, holder=holder, expires_at=expires)
        return True
    except IntegrityError:
        return False


def release(holder):
    SchedulerLease.delete().where((SchedulerLease.name == LEASE_NAME) & (SchedulerLease.holder == holder)).execute()


def _wrap(app, func):
    def run():
        try:
            with app.app_context(), db.connection_context(), noticing():
                func(app)
        except Exception as exc:
            if is_outage(exc):
                # Logged once per outage (webapp.outage); the next run works on a fresh connection.
                DATABASE.failed(exc)
                reset_connection()
            else:
                log.exception("scheduled job %s failed", getattr(func, "__name__", func))
        else:
            DATABASE.ok()

    return run


def build_scheduler(app):
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    # First runs are spread over a few seconds after taking the lead (a new leader catches up at once, e.g.
    # the balance shown on the compose page) instead of all waiting one full interval.
    start = datetime.now(UTC)
    for index, (job_id, func, seconds) in enumerate(JOBS):
        scheduler.add_job(_wrap(app, func), "interval", seconds=seconds, id=job_id, name=job_id, replace_existing=True,
                          next_run_time=start + timedelta(seconds=1 + index % 5))
    return scheduler


class LeaderScheduler:
    """Starts the scheduler while this process holds the lease, stops it when the lease is lost."""

    def __init__(self, app):
        self.app = app
        self.holder = holder_id()
        self.scheduler = None
        self.renewed_at = 0.0

    @property
    def is_leader(self):
        return self.scheduler is not None

    def tick(self):
        with db.connection_context(), noticing():
            leader = try_acquire(self.holder)
        if leader:
            self.renewed_at = time.monotonic()
        if leader and self.scheduler is None:
            self.scheduler = build_scheduler(self.app)
            self.scheduler.start()
            log.info("scheduler leader: %s", self.holder)
        elif not leader and self.scheduler is not None:
            self.stop(release_lease=False)
        return leader

    def unrenewed(self):
        """The lease could not be renewed (database unreachable): once it may have expired, another worker
        may lead, so this one stops its jobs until it takes the lease again."""
        if self.scheduler is not None and time.monotonic() - self.renewed_at > LEASE_SECONDS - RENEW_SECONDS:
            log.warning("scheduler lease not renewed for %d s: jobs stopped until it is", LEASE_SECONDS - RENEW_SECONDS)
            self.stop(release_lease=False)

    def stop(self, release_lease=True):
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if release_lease:
            with db.connection_context():
                release(self.holder)
