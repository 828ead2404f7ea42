"""Outgoing webhooks: endpoints admins register, one delivery row per event and endpoint, collector cursors."""

STEPS = [
    """CREATE TABLE webhook_endpoint (
        id {pk},
        url VARCHAR(500) NOT NULL,
        events TEXT NOT NULL,
        secret VARCHAR(64) NOT NULL,
        active BOOLEAN NOT NULL,
        created_by INTEGER,
        created_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE webhook_delivery (
        id {pk},
        endpoint_id INTEGER NOT NULL,
        event VARCHAR(40) NOT NULL,
        event_key VARCHAR(80) NOT NULL,
        payload TEXT NOT NULL,
        state VARCHAR(16) NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at TIMESTAMP NOT NULL,
        last_status INTEGER,
        last_answer TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        delivered_at TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX webhook_delivery_endpoint_id_event_key ON webhook_delivery (endpoint_id, event_key)",
    "CREATE INDEX webhook_delivery_state_next_attempt_at ON webhook_delivery (state, next_attempt_at)",
    "CREATE INDEX webhook_delivery_created_at ON webhook_delivery (created_at)",
    """CREATE TABLE webhook_scan (
        source VARCHAR(40) NOT NULL PRIMARY KEY,
        scanned_to TIMESTAMP NOT NULL
    )""",
]
