"""Worker entry points and the single-scheduler-leader rule."""
import threading
from datetime import timedelta

from webapp.models import SchedulerLease, utcnow
from webapp.scheduler import JOBS, LEASE_SECONDS, LeaderScheduler, try_acquire


def test_only_one_holder_at_a_time(ctx):
    assert try_acquire("worker-a")
    assert not try_acquire("worker-b")
    assert try_acquire("worker-a")  # renewal


def test_expired_lease_is_taken_over(ctx):
    assert try_acquire("worker-a")
    later = utcnow() + timedelta(seconds=LEASE_SECONDS + 1)
    assert try_acquire("worker-b", now=later)
    assert SchedulerLease.get().holder == "worker-b"


def test_two_workers_run_one_scheduler(app):
    first, second = LeaderScheduler(app), LeaderScheduler(app)
    try:
        with app.app_context():
            assert first.tick() is True
            assert second.tick() is False
        assert first.is_leader and not second.is_leader
        assert {job.id for job in first.scheduler.get_jobs()} == {job_id for job_id, _, _ in JOBS}
        assert all(job.misfire_grace_time == 60 and job.coalesce for job in first.scheduler.get_jobs())
    finally:
        first.stop()
        second.stop()
    with app.app_context():
        assert not SchedulerLease.select().exists()


def test_worker_loop_starts_and_stops_cleanly(app):
    from webapp.worker import run_worker

    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop))
    thread.start()
    stop.wait(0.5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_sandbox_serves_every_simulator(sandbox_server):
    import requests

    body = requests.get(sandbox_server.url + "/", timeout=5).json()
    assert set(body["simulators"]) == {"citcall", "masking", "airtel", "oca"}
