"""Kill -9 a real `flask worker` mid-import: another worker resumes after the last committed batch, so every
row is imported exactly once."""
import io
import signal
from datetime import timedelta

from tests.campaigns.test_worker_crash import start_worker, wait_for
from tests.contacts.conftest import csv_bytes
from webapp.contacts import import_run, importer
from webapp.models import Contact, ContactEvent, ImportFile, ImportJob, utcnow

ROWS = 30_000


def test_kill_worker_mid_import_then_another_resumes(app, sandbox_server, live_url):
    rows = [["name", "phone"]] + [[f"P{i}", f"0812{i:08d}"] for i in range(ROWS)]
    with app.app_context():
        job = importer.create_job(io.BytesIO(csv_bytes(rows)), "big.csv")
        importer.configure(job, job.mapping_list, "fill")
        import_run.run_pending(app)
        importer.confirm(ImportJob.get_by_id(job.id))
    worker = start_worker(app, sandbox_server.url, live_url)
    try:
        with app.app_context():
            assert wait_for(lambda: ImportJob.get_by_id(job.id).processed_rows >= import_run.BATCH_SIZE, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with app.app_context():
        at_kill = ImportJob.get_by_id(job.id)
        assert at_kill.status == "running" and at_kill.processed_rows < ROWS, "the kill came too late"
        assert at_kill.processed_rows % import_run.BATCH_SIZE == 0
        assert Contact.select().count() == at_kill.created_count == at_kill.processed_rows
        # The dead worker's lease runs out; the next worker takes the job over where it stopped.
        ImportJob.update(lease_expires_at=utcnow() - timedelta(seconds=1)).where(ImportJob.id == job.id).execute()
        import_run.run_pending(app)
        done = ImportJob.get_by_id(job.id)
        assert (done.status, done.attempts, done.processed_rows, done.created_count) == ("done", 2, ROWS, ROWS)
        assert Contact.select().count() == ContactEvent.select().count() == ROWS
        assert ImportFile.select().count() == 0
