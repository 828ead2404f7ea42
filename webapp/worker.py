"""The worker process: dispatcher loop, long jobs (imports) in their own thread, and the leader-elected
scheduler (`flask worker`, or a thread in demo).

It outlives its database: an outage (PostgreSQL restarted, connections terminated) makes the loop wait with
backoff and try again, logging one line when the outage starts and one when it ends (webapp.outage).
"""
import logging
import threading
import time

from webapp.outage import DATABASE, Backoff, is_outage, reset_connection
from webapp.scheduler import RENEW_SECONDS, LeaderScheduler

log = logging.getLogger(__name__)


def run_worker(app, stop_event=None, idle_sleep=0.2):
    """Blocks until stop_event is set. Any number of workers may run; one of them leads the scheduler."""
    from webapp import long_jobs
    from webapp.dispatch import dispatcher

    stop_event = stop_event or threading.Event()
    leader = LeaderScheduler(app)
    backoff = Backoff()
    jobs_thread = long_jobs.start_in_thread(app, stop_event)
    next_tick = 0.0
    log.info("worker started")
    try:
        while not stop_event.is_set():
            try:
                now = time.monotonic()
                if now >= next_tick:
                    leader.tick()
                    next_tick = now + RENEW_SECONDS
                with app.app_context():
                    worked = dispatcher.run_once(app)
            except Exception as exc:
                if is_outage(exc):
                    DATABASE.failed(exc)
                    reset_connection()
                    leader.unrenewed()
                else:
                    # A bug in one round must not end the worker: the next round starts from the database.
                    log.exception("worker round failed")
                stop_event.wait(backoff.next())
                continue
            DATABASE.ok()
            backoff.reset()
            if not worked:
                stop_event.wait(idle_sleep)
    finally:
        stop_event.set()
        # The long-job thread hands its import back at the next batch; one cut short anyway is resumed by
        # another worker once its lease expires.
        jobs_thread.join(5)
        dispatcher.stop(app)
        try:
            leader.stop()
        except Exception as exc:  # noqa: BLE001 (the lease expires by itself)
            log.warning("scheduler lease not released: %s", exc)
        log.info("worker stopped")


def start_in_thread(app):
    stop_event = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop_event), name="worker", daemon=True)
    thread.start()
    return thread, stop_event
