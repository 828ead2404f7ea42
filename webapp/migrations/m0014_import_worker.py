"""Imports run by the worker: the upload kept in the database (any worker host can read it), a lease on the
job, the dry-run plan, and counts of in-file duplicates and warnings."""

STEPS = [
    """CREATE TABLE import_file (
        id {pk},
        job_id INTEGER NOT NULL REFERENCES import_job (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data BYTEA NOT NULL
    )""",
    "CREATE UNIQUE INDEX import_file_job_id_seq ON import_file (job_id, seq)",
    "ALTER TABLE import_job DROP COLUMN stored_name",
    "ALTER TABLE import_job ADD COLUMN file_size INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE import_job ADD COLUMN sample TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE import_job ADD COLUMN plan TEXT NOT NULL DEFAULT '{{}}'",
    "ALTER TABLE import_job ADD COLUMN duplicate_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE import_job ADD COLUMN warning_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE import_job ADD COLUMN lease_holder VARCHAR(64) NOT NULL DEFAULT ''",
    "ALTER TABLE import_job ADD COLUMN lease_expires_at TIMESTAMP",
    "ALTER TABLE import_job ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE import_row_error ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'refused'",
]
