"""Helpers shared by the contacts tests: CSV bytes, and an import run to the end without the web thread."""
import csv
import io

import pytest

from webapp.contacts import importer


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def run_import(ctx):
    """Upload ``data``, keep the guessed (or given) mapping, and import it synchronously; returns the job."""

    def run(data, mapping=None, dedupe="update", **list_choice):
        job = importer.create_job(io.BytesIO(data), "contacts.csv")
        importer.configure(job, mapping or job.mapping_list, dedupe, **list_choice)
        return importer.run_import(job.id)

    return run
