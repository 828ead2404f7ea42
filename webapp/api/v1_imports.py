"""/api/v1/contacts/import and /api/v1/imports: a CSV import through webapp.contacts.importer like the Import
page, for supervisors and admins (as that page). An API client has no preview to confirm, so the upload is
queued already confirmed: the worker runs the dry run and goes straight on to the import."""
from flask import request, url_for
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.errors import ApiError
from webapp.api.framework import operation
from webapp.auth.service import audit_request
from webapp.contacts import importer
from webapp.contacts.service import ContactError
from webapp.models import ImportJob

FIRST_REFUSALS = 20


def import_json(job):
    refusals = importer.error_rows(job).limit(FIRST_REFUSALS)
    return {"id": job.id, "status": job.status, "status_url": url_for("api.get_import", job_id=job.id),
            "filename": job.filename, "dedupe": job.dedupe, "list_id": job.list_id, "message": job.message,
            "total_rows": job.total_rows, "processed_rows": job.processed_rows,
            "counts": {"created": job.created_count, "updated": job.updated_count, "unchanged": job.skipped_count,
                       "refused": job.error_count, "duplicates": job.duplicate_count,
                       "warnings": job.warning_count},
            "refusals": [{"line": r.line, "kind": r.kind, "reason": r.reason} for r in refusals],
            "created_at": job.created_at, "finished_at": job.finished_at}


@operation("/v1/contacts/import", "POST", summary="Import contacts from a CSV file (runs in the worker)",
           tag="contacts", role="supervisor", form=s.ImportForm(), response=s.Import(), status=202,
           errors=(413, 422), idempotent=True, upload={"file": "the CSV file"},
           description="Columns are recognised as on the Import page; poll `status_url` until the status is "
                       "done or failed.")
def import_contacts(form):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "invalid", "Choose a CSV file to upload.", {"file": "Send the CSV as `file`."})
    try:
        job = importer.create_job(upload.stream, upload.filename, current_user.id)
    except importer.ImportTooLarge as exc:
        raise ApiError(413, "too_large", str(exc), {"file": str(exc)}) from exc
    except importer.ImportFileError as exc:
        raise ApiError(422, "invalid", str(exc), {"file": str(exc)}) from exc
    try:
        job = importer.configure(job, job.mapping_list, form["dedupe"], form["list_id"], form["new_list"],
                                 confirmed=True)
    except ContactError as exc:
        importer.cancel(job)
        field = "new_list" if form["new_list"].strip() else "list_id"
        raise ApiError(422, "invalid", str(exc), {field: str(exc)}) from exc
    audit_request("contacts.import", job.filename, f"job {job.id} via the API")
    return import_json(job), 202


@operation("/v1/imports/<int:job_id>", "GET", summary="One CSV import: its state, counts and first refusals",
           tag="contacts", role="supervisor", response=s.Import(), errors=(404,))
def get_import(job_id):
    job = ImportJob.get_or_none(ImportJob.id == job_id)
    if job is None:
        raise ApiError(404, "not_found", "There is no import with this id.")
    return import_json(job)
