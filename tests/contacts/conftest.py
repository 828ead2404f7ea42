"""Helpers shared by the contacts tests: CSV bytes, and an import run to the end as the worker runs it."""
import csv
import io

import pytest

from webapp.contacts import import_run, importer
from webapp.models import ImportJob


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def plan_import(ctx):
    """Upload ``data``, keep the guessed (or given) mapping and run the dry run; returns the planned job."""

    def plan(data, mapping=None, dedupe="fill", **list_choice):
        job = importer.create_job(io.BytesIO(data), "contacts.csv")
        importer.configure(job, mapping or job.mapping_list, dedupe, **list_choice)
        import_run.run_pending(ctx)
        return ImportJob.get_by_id(job.id)

    return plan


@pytest.fixture
def run_import(ctx, plan_import):
    """The dry run, then the import confirmed and run to the end; returns the job."""

    def run(data, mapping=None, dedupe="fill", **list_choice):
        job = plan_import(data, mapping, dedupe, **list_choice)
        importer.confirm(job)
        import_run.run_pending(ctx)
        return ImportJob.get_by_id(job.id)

    return run
