"""Users, sign-in throttling, provider channel log, raw callbacks, audit trail, scheduler lease."""

STEPS = [
    """CREATE TABLE "user" (
        id {pk},
        email VARCHAR(254) NOT NULL UNIQUE,
        name VARCHAR(120) NOT NULL,
        role VARCHAR(16) NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        active BOOLEAN NOT NULL,
        phone VARCHAR(20),
        timezone VARCHAR(64) NOT NULL,
        session_version INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        last_login_at TIMESTAMP
    )""",
    """CREATE TABLE login_attempt (
        id {pk},
        email VARCHAR(254) NOT NULL,
        remote_addr VARCHAR(64) NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX login_attempt_email ON login_attempt (email)",
    "CREATE INDEX login_attempt_remote_addr ON login_attempt (remote_addr)",
    "CREATE INDEX login_attempt_created_at ON login_attempt (created_at)",
    """CREATE TABLE channel_log (
        id {pk},
        provider VARCHAR(16) NOT NULL,
        send_id INTEGER,
        operation VARCHAR(32) NOT NULL,
        method VARCHAR(8) NOT NULL,
        url TEXT NOT NULL,
        request_headers TEXT NOT NULL,
        request_body TEXT NOT NULL,
        status_code INTEGER,
        response_body TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        error TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX channel_log_provider ON channel_log (provider)",
    "CREATE INDEX channel_log_send_id ON channel_log (send_id)",
    "CREATE INDEX channel_log_created_at ON channel_log (created_at)",
    """CREATE TABLE callback_event (
        id {pk},
        provider VARCHAR(16) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        dedupe_key VARCHAR(255) NOT NULL UNIQUE,
        reference VARCHAR(128) NOT NULL,
        method VARCHAR(8) NOT NULL,
        query TEXT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        remote_addr VARCHAR(64) NOT NULL,
        status VARCHAR(16) NOT NULL,
        error TEXT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        applied_at TIMESTAMP
    )""",
    "CREATE INDEX callback_event_reference ON callback_event (reference)",
    "CREATE INDEX callback_event_status ON callback_event (status)",
    "CREATE INDEX callback_event_received_at ON callback_event (received_at)",
    """CREATE TABLE audit_log (
        id {pk},
        user_id INTEGER,
        action VARCHAR(64) NOT NULL,
        target VARCHAR(255) NOT NULL,
        detail TEXT NOT NULL,
        remote_addr VARCHAR(64) NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX audit_log_user_id ON audit_log (user_id)",
    "CREATE INDEX audit_log_action ON audit_log (action)",
    "CREATE INDEX audit_log_created_at ON audit_log (created_at)",
    """CREATE TABLE scheduler_lease (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        holder VARCHAR(128) NOT NULL,
        expires_at TIMESTAMP NOT NULL
    )""",
]
