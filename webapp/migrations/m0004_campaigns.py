"""Campaigns (SMS and IVR), polled provider account state, inbound SMS."""

STEPS = [
    """CREATE TABLE campaign (
        id {pk},
        name VARCHAR(200) NOT NULL,
        kind VARCHAR(8) NOT NULL,
        provider VARCHAR(16) NOT NULL,
        status VARCHAR(16) NOT NULL,
        message TEXT NOT NULL,
        sender_id VARCHAR(16) NOT NULL,
        settings TEXT NOT NULL,
        list_ids TEXT NOT NULL,
        audience_query VARCHAR(200) NOT NULL,
        scheduled_at TIMESTAMP,
        timezone VARCHAR(64) NOT NULL,
        window_start VARCHAR(5) NOT NULL,
        window_end VARCHAR(5) NOT NULL,
        in_window BOOLEAN NOT NULL,
        recipients INTEGER NOT NULL,
        excluded_opted_out INTEGER NOT NULL,
        excluded_duplicates INTEGER NOT NULL,
        estimated_cost DOUBLE PRECISION,
        created_by INTEGER,
        created_at TIMESTAMP NOT NULL,
        launched_at TIMESTAMP,
        completed_at TIMESTAMP
    )""",
    "CREATE INDEX campaign_status ON campaign (status)",
    """CREATE TABLE provider_status (
        provider VARCHAR(16) NOT NULL PRIMARY KEY,
        ok BOOLEAN NOT NULL,
        balance DOUBLE PRECISION,
        expires_at TIMESTAMP,
        message TEXT NOT NULL,
        checked_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE inbox_message (
        id {pk},
        provider VARCHAR(16) NOT NULL,
        external_id VARCHAR(128) NOT NULL,
        sender VARCHAR(20) NOT NULL,
        text TEXT NOT NULL,
        received_at TIMESTAMP,
        fetched_at TIMESTAMP NOT NULL,
        contact_id INTEGER,
        opted_out BOOLEAN NOT NULL
    )""",
    "CREATE INDEX inbox_message_sender ON inbox_message (sender)",
    "CREATE INDEX inbox_message_fetched_at ON inbox_message (fetched_at)",
    "CREATE UNIQUE INDEX inbox_message_provider_external_id ON inbox_message (provider, external_id)",
]
