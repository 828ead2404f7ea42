"""REST API: personal tokens (hashed) and the stored answers of idempotent POSTs."""

STEPS = [
    """CREATE TABLE api_token (
        id {pk},
        user_id INTEGER NOT NULL,
        name VARCHAR(120) NOT NULL,
        prefix VARCHAR(16) NOT NULL,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP,
        last_used_at TIMESTAMP,
        revoked_at TIMESTAMP
    )""",
    "CREATE INDEX api_token_user_id ON api_token (user_id)",
    """CREATE TABLE api_idempotency (
        id {pk},
        user_id INTEGER NOT NULL,
        key VARCHAR(200) NOT NULL,
        request_hash VARCHAR(64) NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX api_idempotency_user_id_key ON api_idempotency (user_id, key)",
    "CREATE INDEX api_idempotency_created_at ON api_idempotency (created_at)",
]
