"""Revocable sign-in sessions (remember-me cookies die at sign-out) and shared rate-limit counters."""

STEPS = [
    """CREATE TABLE user_session (
        id {pk},
        key_hash VARCHAR(64) NOT NULL UNIQUE,
        user_id INTEGER NOT NULL,
        remember BOOLEAN NOT NULL,
        remote_addr VARCHAR(64) NOT NULL,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX user_session_user_id ON user_session (user_id)",
    "CREATE INDEX user_session_expires_at ON user_session (expires_at)",
    """CREATE TABLE rate_counter (
        key VARCHAR(200) NOT NULL PRIMARY KEY,
        hits INTEGER NOT NULL,
        window_start DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX rate_counter_window_start ON rate_counter (window_start)",
]
