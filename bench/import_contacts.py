"""Import a generated 100,000-row CSV into a fresh database through the worker path and print the throughput.

    .venv/bin/python bench/import_contacts.py [rows]          (SQLite, or DATABASE_URL=postgresql://...)

The target is under 20 s for 100k rows on a 2-core machine. About 1% of the rows are invalid on purpose.
The run goes through what the pages and the worker do: upload (stored in the database), the worker's dry run,
the confirmation, then the worker's import, each stage claimed with a lease by webapp.long_jobs.
"""
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.contacts import import_run, importer  # noqa: E402
from webapp.db import migrate  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Contact, ImportJob  # noqa: E402


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Name", "Phone", "Email", "City", "Plan", "Order ID"])
        for i in range(rows):
            phone = "12345" if i % 100 == 99 else f"0812{i:08d}"
            writer.writerow([f"Person {i}", phone, f"person{i}@example.com", ["Jakarta", "Bandung", "Medan"][i % 3],
                             ["basic", "pro"][i % 2], f"INV-{i}"])


def import_file(app, data, dedupe="fill", new_list=""):
    """Upload, dry run, confirm, import; returns the job and the seconds each stage took."""
    started = time.perf_counter()
    job = importer.create_job(io.BytesIO(data), "contacts.csv")
    importer.configure(job, job.mapping_list, dedupe, new_list=new_list)
    uploaded = time.perf_counter()
    import_run.run_pending(app)
    planned = time.perf_counter()
    importer.confirm(ImportJob.get_by_id(job.id))
    import_run.run_pending(app)
    finished = time.perf_counter()
    job = ImportJob.get_by_id(job.id)
    assert job.status == importer.DONE, job.message
    return job, (uploaded - started, planned - uploaded, finished - planned)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    database_url = os.environ.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, rows)
        data = csv_path.read_bytes()
        app = create_app({"SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench",
                          "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db"})
        if database_url:
            with db.connection_context():
                db.execute_sql("DROP SCHEMA public CASCADE")
                db.execute_sql("CREATE SCHEMA public")
        migrate()
        with app.app_context(), db.connection_context():
            job, (upload, dry_run, run) = import_file(app, data, new_list="Bench")
            total = upload + dry_run + run
            print(f"database:         {'PostgreSQL' if database_url else 'SQLite'}")
            print(f"rows in file:     {rows:,} ({len(data) / 1e6:.1f} MB)")
            print(f"created/refused:  {job.created_count:,} / {job.error_count:,} "
                  f"(contacts in DB: {Contact.select().count():,})")
            print(f"upload+inspect:   {upload:.2f} s")
            print(f"dry run (worker): {dry_run:.2f} s  ({rows / dry_run:,.0f} rows/s)")
            print(f"import (worker):  {run:.2f} s  ({rows / run:,.0f} rows/s)")
            print(f"total:            {total:.2f} s  ({rows / total:,.0f} rows/s)")
            # The same rows with new e-mails, overwriting: every valid row takes the update path.
            again, (upload, dry_run, run) = import_file(app, data.replace(b"@example.com", b"@example.org"),
                                                        dedupe="overwrite")
            total = upload + dry_run + run
            print(f"re-import:        {total:.2f} s  ({rows / total:,.0f} rows/s, {again.updated_count:,} updated)")


if __name__ == "__main__":
    main()
