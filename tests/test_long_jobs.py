"""Long jobs in the worker: claimed by one worker only, resumed after a worker dies, given up after repeated
deaths, and run by `flask worker`'s long-job thread."""
import io
import threading
import time
from datetime import timedelta

import pytest

from tests.contacts.conftest import csv_bytes
from webapp import long_jobs
from webapp.contacts import import_run, importer
from webapp.extensions import db
from webapp.models import Contact, ContactEvent, ImportFile, ImportJob, utcnow

ROWS = [["name", "phone"]] + [[f"P{i}", f"0812000000{i:02d}"] for i in range(7)]


class WorkerDied(BaseException):
    """Stands for kill -9: nothing after it runs, not even the job's own error handling."""


@pytest.fixture
def queued(ctx):
    job = importer.create_job(io.BytesIO(csv_bytes(ROWS)), "a.csv")
    importer.configure(job, job.mapping_list, "fill")
    import_run.run_pending(ctx)
    return importer.confirm(ImportJob.get_by_id(job.id))


def expire_lease(job_id):
    ImportJob.update(lease_expires_at=utcnow() - timedelta(seconds=1)).where(ImportJob.id == job_id).execute()


def test_a_job_is_claimed_by_one_worker_only(queued):
    first = long_jobs.claim(ImportJob, [importer.QUEUED], "worker-a")
    assert first is not None and first[0].id == queued.id and first[0].attempts == 1
    assert long_jobs.claim(ImportJob, [importer.QUEUED], "worker-b") is None


def test_two_workers_racing_for_one_job(app, queued):
    results = []
    barrier = threading.Barrier(2)

    def race(holder):
        with app.app_context(), db.connection_context():
            barrier.wait()
            results.append(long_jobs.claim(ImportJob, [importer.QUEUED], holder) is not None)

    threads = [threading.Thread(target=race, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False, True]


def test_a_worker_that_lost_its_lease_writes_nothing(queued):
    _job, lease = long_jobs.claim(ImportJob, [importer.QUEUED], "worker-a")
    expire_lease(queued.id)
    assert long_jobs.claim(ImportJob, [importer.QUEUED], "worker-b") is not None
    with pytest.raises(long_jobs.LeaseLost), db.atomic():
        Contact.create(name="x", phone="+6281200000099")
        lease.renew(processed_rows=99)
    assert Contact.select().count() == 0 and ImportJob.get_by_id(queued.id).processed_rows == 0


def test_an_import_whose_worker_died_is_resumed_exactly(queued, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    real_write = import_run._Writer.write
    calls = []

    def dies_on_third_batch(self, plans):
        calls.append(len(plans))
        if len(calls) == 3:
            raise WorkerDied
        real_write(self, plans)

    monkeypatch.setattr(import_run._Writer, "write", dies_on_third_batch)
    with pytest.raises(WorkerDied):
        import_run.run_next(None, "worker-a")
    job = ImportJob.get_by_id(queued.id)
    assert (job.status, job.processed_rows, job.lease_holder) == ("running", 4, "worker-a")
    # Nobody takes it over while the lease runs; once it expires another worker does.
    assert import_run.run_next(None, "worker-b") is False
    expire_lease(job.id)
    monkeypatch.setattr(import_run._Writer, "write", real_write)
    assert import_run.run_next(None, "worker-b") is True
    job = ImportJob.get_by_id(queued.id)
    assert (job.status, job.attempts, job.processed_rows, job.created_count) == ("done", 2, 7, 7)
    assert Contact.select().count() == 7 and ContactEvent.select().count() == 7
    assert ImportFile.select().count() == 0


def test_a_job_that_keeps_killing_its_worker_is_failed_with_a_clear_message(queued, monkeypatch):
    def dies(self, plans):
        raise WorkerDied

    monkeypatch.setattr(import_run._Writer, "write", dies)
    for attempt in range(long_jobs.MAX_ATTEMPTS):
        with pytest.raises(WorkerDied):
            import_run.run_next(None, f"worker-{attempt}")
        expire_lease(queued.id)
    assert import_run.run_next(None, "worker-last") is True
    job = ImportJob.get_by_id(queued.id)
    assert job.status == "failed"
    assert job.message.startswith("The import was interrupted 3 times (the worker running it stopped)")
    assert ImportFile.select().count() == 0


def test_the_worker_process_runs_imports(app, ctx, queued):
    from webapp.worker import start_in_thread

    thread, stop = start_in_thread(app)
    try:
        deadline = time.monotonic() + 10
        while ImportJob.get_by_id(queued.id).status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert ImportJob.get_by_id(queued.id).status == "done" and Contact.select().count() == 7


def test_two_workers_share_the_queue_and_import_each_file_once(app, ctx, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 50)
    jobs = []
    for n in range(3):
        rows = [["name", "phone"]] + [[f"P{n}-{i}", f"0812{n}{i:07d}"] for i in range(300)]
        job = importer.create_job(io.BytesIO(csv_bytes(rows)), f"{n}.csv")
        jobs.append(importer.configure(job, job.mapping_list, "fill"))
    import_run.run_pending(ctx)
    for job in jobs:
        importer.confirm(ImportJob.get_by_id(job.id))
    stop = threading.Event()
    threads = [long_jobs.start_in_thread(app, stop) for _ in range(2)]
    try:
        deadline = time.monotonic() + 30
        while ImportJob.select().where(ImportJob.status != "done").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert [(j.status, j.created_count, j.attempts) for j in ImportJob.select().order_by(ImportJob.id)] == [
        ("done", 300, 1)] * 3
    assert Contact.select().count() == 900 and ContactEvent.select().count() == 900


def test_a_stopping_worker_hands_its_import_back_between_batches(queued, monkeypatch):
    monkeypatch.setattr(import_run, "BATCH_SIZE", 2)
    stop = threading.Event()
    real_write = import_run._Writer.write

    def stop_after_second_batch(self, plans):
        real_write(self, plans)
        if self.counts["processed_rows"] == 4:
            stop.set()

    monkeypatch.setattr(import_run._Writer, "write", stop_after_second_batch)
    assert import_run.run_next(None, "worker-a", stop) is True
    job = ImportJob.get_by_id(queued.id)
    assert (job.status, job.processed_rows, job.lease_holder, job.attempts) == ("running", 4, "", 0)
    # No lease to wait for: the next worker continues at once.
    assert import_run.run_next(None, "worker-b") is True
    job = ImportJob.get_by_id(queued.id)
    assert (job.status, job.processed_rows, job.created_count, job.attempts) == ("done", 7, 7, 1)
    assert Contact.select().count() == 7
