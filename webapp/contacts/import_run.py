"""CSV import, worker side: the dry run (counts and example rows, nothing written) and the import itself,
BATCH_SIZE rows at a time under the job's lease (webapp.long_jobs).

Each import batch is one transaction that writes its contacts, list memberships, events and row reports,
advances the job's counters and renews the lease, so a job taken over after its worker died resumes after
the last committed batch: nothing is imported twice and no row is skipped.
"""
import json
import logging

from webapp import long_jobs
from webapp.contacts import importer
from webapp.contacts.import_plan import CREATE, DUPLICATE, REFUSED, UNCHANGED, UPDATE, Planner, Rules
from webapp.contacts.importer import DONE, FAILED, PLANNED, PLANNING, QUEUED, RUNNING, ImportFileError
from webapp.contacts.service import chunks
from webapp.extensions import db
from webapp.models import Contact, ContactEvent, ContactListMember, ImportJob, ImportRowError, utcnow
from webapp.models.contacts import dump_fields, load_fields, search_text

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Example rows of each kind the dry run keeps for its preview.
SAMPLE_ROWS = 20
COUNTERS = {CREATE: "created_count", UPDATE: "updated_count", UNCHANGED: "skipped_count", REFUSED: "error_count",
            DUPLICATE: "duplicate_count"}
UNEXPECTED = "The import stopped unexpectedly; rows already imported are kept. The error has been logged."


def rules_for(job):
    return Rules(mapping=tuple(job.mapping_list), dedupe=job.dedupe, countries=importer.phone_countries(),
                 max_columns=importer.max_columns())


def select_by_phone(table, columns, phones):
    """Rows of ``table`` whose phone is one of ``phones``. SQL written out: peewee builds a 500-value IN list
    more slowly than the database answers it."""
    rows = []
    for chunk in chunks(phones):
        sql = f'SELECT {columns} FROM "{table}" WHERE phone IN (' + ", ".join([db.param] * len(chunk)) + ")"
        rows.extend(db.execute_sql(sql, chunk).fetchall())
    return rows


def lookup_existing(phones):
    return {phone: {"id": contact_id, "name": name, "email": email, "fields": load_fields(custom_fields)}
            for contact_id, phone, name, email, custom_fields in
            select_by_phone("contact", "id, phone, name, email, custom_fields", phones)}


def batches(rows, size):
    batch = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- dry run -----------------------------------------------------------------------------------------------

def _example(plan):
    example = {"line": plan.line, "phone": plan.phone, "reason": plan.reason, "warnings": plan.warnings}
    if plan.action == CREATE:
        example["record"] = plan.record
    elif plan.action == UPDATE:
        example["changes"] = plan.changes
    elif plan.action in (REFUSED, DUPLICATE):
        example["cells"] = plan.cells
    return example


def dry_run(job, lease):
    """Plan every row against the contacts as they are now; returns the summary stored in job.plan."""
    planner = Planner(rules_for(job))
    counts = dict.fromkeys([*COUNTERS, "warnings", "rows"], 0)
    examples = {kind: [] for kind in [*COUNTERS, "warnings"]}
    for batch in batches(importer.file_records(job), BATCH_SIZE):
        lease.check_stop()
        for plan in planner.plan(batch, lookup_existing):
            counts[plan.action] += 1
            counts["rows"] += 1
            if len(examples[plan.action]) < SAMPLE_ROWS:
                examples[plan.action].append(_example(plan))
            if plan.warnings:
                counts["warnings"] += 1
                if len(examples["warnings"]) < SAMPLE_ROWS:
                    examples["warnings"].append(_example(plan))
        lease.renew()
    return {"counts": counts, "examples": examples, "dedupe": job.dedupe, "planned_at": utcnow().isoformat()}


def plan_job(job, lease):
    try:
        summary = dry_run(job, lease)
    except ImportFileError as exc:
        importer.finish(job.id, FAILED, str(exc))
        return
    if not summary["counts"]["rows"]:
        importer.finish(job.id, FAILED, "The file has no data rows.")
        return
    confirmed = json.loads(job.plan or "{}").get(importer.CONFIRMED, False)
    # The import is a stage of its own: its takeovers are counted from zero, as after confirm().
    lease.release(status=QUEUED if confirmed else PLANNED, plan=json.dumps(summary, ensure_ascii=False),
                  total_rows=summary["counts"]["rows"], updated_at=utcnow(), attempts=0)


# --- import ------------------------------------------------------------------------------------------------

# Column order of the tuples insert_rows receives, per table.
INSERT_COLUMNS = {
    Contact: ("name", "phone", "email", "custom_fields", "search", "opted_out", "opted_out_at", "opted_out_reason",
              "created_at", "updated_at"),
    ContactListMember: ("contact_id", "list_id", "added_at"),
    ContactEvent: ("contact_id", "kind", "detail", "created_at"),
    ImportRowError: ("job_id", "line", "kind", "reason", "data"),
}

UPSERT_CONTACT = ("ON CONFLICT (phone) DO UPDATE SET name = excluded.name, email = excluded.email, "
                  "custom_fields = excluded.custom_fields, search = excluded.search, updated_at = excluded.updated_at")


def insert_rows(model, rows, suffix=""):
    """Multi-row INSERTs written out by hand, returning any RETURNING rows. For thousands of rows peewee's
    per-value query building costs several times what the database spends storing them."""
    columns = INSERT_COLUMNS[model]
    placeholders = "(" + ", ".join([db.param] * len(columns)) + ")"
    head = f'INSERT INTO "{model._meta.table_name}" ({", ".join(columns)}) VALUES '
    returned = []
    for chunk in chunks(rows):
        sql = head + ", ".join([placeholders] * len(chunk)) + " " + suffix
        cursor = db.execute_sql(sql, [value for row in chunk for value in row])
        if "RETURNING" in suffix:
            returned.extend(cursor.fetchall())
    return returned


class _Writer:
    """Writes one batch of RowPlans and the job's counters, in one transaction that also renews the lease."""

    def __init__(self, job, lease):
        self.job = job
        self.lease = lease
        self.counts = {name: getattr(job, name) for name in
                       ("processed_rows", *COUNTERS.values(), "warning_count")}

    def contact_row(self, plan, blocked, now):
        record = plan.record
        opted_out, opted_out_at, reason = False, None, ""
        if plan.phone in blocked:
            # Re-imported numbers on the do-not-contact list come back opted out.
            opted_out, (opted_out_at, reason) = True, blocked[plan.phone]
        return (record["name"], plan.phone, record["email"], dump_fields(record["fields"]),
                search_text(record["name"], plan.phone, record["email"], record["fields"]),
                opted_out, opted_out_at, reason, now, now)

    def write(self, plans):
        now = utcnow()
        new = [p for p in plans if p.action == CREATE]
        changed = [p for p in plans if p.action == UPDATE]
        blocked = self.blocked([p.phone for p in new + changed])
        reports = [(self.job.id, p.line, p.action, p.reason, json.dumps(p.cells, ensure_ascii=False))
                   for p in plans if p.action in (REFUSED, DUPLICATE)]
        reports += [(self.job.id, p.line, "warning", "; ".join(p.warnings), json.dumps(p.cells, ensure_ascii=False))
                    for p in plans if p.warnings and p.action in (CREATE, UPDATE, UNCHANGED)]
        detail = str(self.job.id)
        with db.atomic():
            created = insert_rows(Contact, [self.contact_row(p, blocked, now) for p in new],
                                  "ON CONFLICT DO NOTHING RETURNING id, phone")
            ids = {phone: contact_id for contact_id, phone in created}
            # Every row hits the phone conflict and takes the merged values: one statement per chunk.
            insert_rows(Contact, [self.contact_row(p, blocked, now) for p in changed], UPSERT_CONTACT)
            ids.update({p.phone: p.contact_id for p in plans if p.contact_id})
            if self.job.list_id:
                insert_rows(ContactListMember, [(cid, self.job.list_id, now) for cid in ids.values()],
                            "ON CONFLICT DO NOTHING")
            insert_rows(ContactEvent, [(cid, "imported", detail, now) for cid, _phone in created]
                        + [(p.contact_id, "import_updated", detail, now) for p in changed])
            insert_rows(ImportRowError, reports)
            self.counts["processed_rows"] += len(plans)
            for plan in plans:
                self.counts[COUNTERS[plan.action]] += 1
            # A new contact someone else created between planning and writing: counted as unchanged.
            self.counts["created_count"] -= len(new) - len(created)
            self.counts["skipped_count"] += len(new) - len(created)
            self.counts["warning_count"] += sum(1 for p in plans if p.warnings)
            self.lease.renew(updated_at=now, **self.counts)

    @staticmethod
    def blocked(phones):
        return {phone: (at, reason) for phone, at, reason in
                select_by_phone("opt_out", "phone, created_at, reason", phones)}


def import_job(job, lease):
    """Import from the first row not yet imported (0, or where a worker that died stopped) to the end."""
    now = utcnow()
    lease.renew(status=RUNNING, started_at=job.started_at or now, updated_at=now)
    planner = Planner(rules_for(job))
    writer = _Writer(job, lease)
    done = job.processed_rows
    for batch in batches(importer.file_records(job), BATCH_SIZE):
        if done >= len(batch):
            planner.remember(batch)
            done -= len(batch)
            continue
        if done:
            planner.remember(batch[:done])
            batch, done = batch[done:], 0
        lease.check_stop()
        writer.write(planner.plan(batch, lookup_existing))
    importer.finish(job.id, DONE, total_rows=writer.counts["processed_rows"])


def gave_up(job):
    stage = "dry run" if job.status == PLANNING else "import"
    return (f"The {stage} was interrupted {job.attempts - 1} times (the worker running it stopped); rows already "
            "imported are kept. Upload the file again to finish it.")


def run_next(_app, holder, stop_event=None):
    """Take the oldest dry run or import no worker holds (queued, or left by a worker that died) and run it."""
    claimed = long_jobs.claim(ImportJob, [PLANNING, QUEUED, RUNNING], holder, stop_event)
    if claimed is None:
        return False
    job, lease = claimed
    if job.attempts > long_jobs.MAX_ATTEMPTS:
        importer.finish(job.id, FAILED, gave_up(job))
        return True
    try:
        if job.status == PLANNING:
            plan_job(job, lease)
        else:
            import_job(job, lease)
    except long_jobs.LeaseLost:
        log.warning("import %s: lease lost, another worker continues it", job.id)
    except long_jobs.HandedBack:
        log.info("import %s handed back: this worker is stopping", job.id)
    except ImportFileError as exc:
        importer.finish(job.id, FAILED, str(exc))
    except Exception:
        log.exception("import %s failed", job.id)
        importer.finish(job.id, FAILED, UNEXPECTED)
    return True


def run_pending(app):
    """Run every queued stage to the end in this process (tests and the benchmark; the worker uses run_next)."""
    holder = long_jobs.holder_id()
    with app.app_context():
        while run_next(app, holder):
            pass
