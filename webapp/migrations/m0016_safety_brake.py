"""The safety brake (a campaign paused by the app, with its reason) and the sender ids kept in Settings."""

STEPS = [
    "ALTER TABLE campaign ADD COLUMN pause_reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE campaign ADD COLUMN pause_code VARCHAR(64) NOT NULL DEFAULT ''",
    "ALTER TABLE campaign ADD COLUMN paused_at TIMESTAMP",
    "ALTER TABLE campaign ADD COLUMN brake_armed_at TIMESTAMP",
    """CREATE TABLE sender_id (
        id {pk},
        provider VARCHAR(16) NOT NULL,
        value VARCHAR(16) NOT NULL,
        note VARCHAR(200) NOT NULL,
        check_send_id INTEGER,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX sender_id_provider_value ON sender_id (provider, value)",
]
