"""Import a generated 100,000-row CSV into a fresh SQLite database and print the throughput.

    .venv/bin/python bench/import_contacts.py [rows]

The target is under 20 s for 100k rows on a 2-core machine. About 1% of the rows are invalid on purpose, and
the run goes through the same functions as the web import (inspect, guess mapping, configure, run_import).
"""
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.contacts import importer  # noqa: E402
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


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, rows)
        app = create_app({"SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench", "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                          "INSTANCE_UPLOADS": str(Path(tmp) / "uploads")})
        migrate()
        with app.app_context(), db.connection_context():
            started = time.perf_counter()
            job = importer.create_job(io.BytesIO(csv_path.read_bytes()), "contacts.csv")
            importer.configure(job, job.mapping_list, "update", new_list="Bench")
            inspected = time.perf_counter()
            importer.run_import(job.id)
            finished = time.perf_counter()
            job = ImportJob.get_by_id(job.id)
            assert job.status == importer.DONE, job.message
            total = finished - started
            print(f"rows in file:     {rows:,} ({csv_path.stat().st_size / 1e6:.1f} MB)")
            print(f"created/errors:   {job.created_count:,} / {job.error_count:,} "
                  f"(contacts in DB: {Contact.select().count():,})")
            print(f"upload+inspect:   {inspected - started:.2f} s")
            print(f"import:           {finished - inspected:.2f} s")
            print(f"total:            {total:.2f} s  ({rows / total:,.0f} rows/s)")
            # The same file again: every valid row now matches an existing phone and takes the update path.
            started = time.perf_counter()
            again = importer.create_job(io.BytesIO(csv_path.read_bytes()), "contacts.csv")
            importer.configure(again, again.mapping_list, "update")
            importer.run_import(again.id)
            seconds = time.perf_counter() - started
            again = ImportJob.get_by_id(again.id)
            print(f"re-import:        {seconds:.2f} s  ({rows / seconds:,.0f} rows/s, {again.updated_count:,} updated)")


if __name__ == "__main__":
    main()
