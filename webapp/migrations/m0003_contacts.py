"""Contacts, lists, contact events, do-not-contact numbers, CSV import jobs."""

STEPS = [
    """CREATE TABLE contact_list (
        id {pk},
        name VARCHAR(120) NOT NULL UNIQUE,
        description TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE contact (
        id {pk},
        name VARCHAR(200) NOT NULL,
        phone VARCHAR(20) NOT NULL UNIQUE,
        email VARCHAR(254),
        custom_fields TEXT NOT NULL,
        search TEXT NOT NULL,
        opted_out BOOLEAN NOT NULL,
        opted_out_at TIMESTAMP,
        opted_out_reason VARCHAR(255) NOT NULL,
        verified_at TIMESTAMP,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX contact_name ON contact (name)",
    "CREATE INDEX contact_opted_out ON contact (opted_out)",
    "CREATE INDEX contact_created_at ON contact (created_at)",
    """CREATE TABLE contact_list_member (
        id {pk},
        contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
        list_id INTEGER NOT NULL REFERENCES contact_list (id) ON DELETE CASCADE,
        added_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX contact_list_member_contact_id_list_id ON contact_list_member (contact_id, list_id)",
    "CREATE INDEX contact_list_member_list_id ON contact_list_member (list_id)",
    """CREATE TABLE contact_event (
        id {pk},
        contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
        kind VARCHAR(32) NOT NULL,
        detail TEXT NOT NULL,
        user_id INTEGER,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX contact_event_contact_id_created_at ON contact_event (contact_id, created_at)",
    """CREATE TABLE opt_out (
        id {pk},
        phone VARCHAR(20) NOT NULL UNIQUE,
        reason VARCHAR(255) NOT NULL,
        source VARCHAR(16) NOT NULL,
        user_id INTEGER,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX opt_out_created_at ON opt_out (created_at)",
    """CREATE TABLE import_job (
        id {pk},
        user_id INTEGER,
        filename VARCHAR(255) NOT NULL,
        stored_name VARCHAR(255) NOT NULL,
        encoding VARCHAR(32) NOT NULL,
        delimiter VARCHAR(4) NOT NULL,
        has_header BOOLEAN NOT NULL,
        headers TEXT NOT NULL,
        mapping TEXT NOT NULL,
        list_id INTEGER,
        dedupe VARCHAR(16) NOT NULL,
        status VARCHAR(16) NOT NULL,
        note TEXT NOT NULL,
        message TEXT NOT NULL,
        total_rows INTEGER NOT NULL,
        processed_rows INTEGER NOT NULL,
        created_count INTEGER NOT NULL,
        updated_count INTEGER NOT NULL,
        skipped_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        updated_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX import_job_status ON import_job (status)",
    "CREATE INDEX import_job_created_at ON import_job (created_at)",
    """CREATE TABLE import_row_error (
        id {pk},
        job_id INTEGER NOT NULL REFERENCES import_job (id) ON DELETE CASCADE,
        line INTEGER NOT NULL,
        reason TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX import_row_error_job_id_line ON import_row_error (job_id, line)",
]
