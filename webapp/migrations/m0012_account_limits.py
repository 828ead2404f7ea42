"""Account-wide limits shared by every worker: one row per provider account and limit (webapp.dispatch.limits)."""

STEPS = [
    """CREATE TABLE account_limit (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        next_at DOUBLE PRECISION NOT NULL,
        second_at DOUBLE PRECISION NOT NULL,
        second_count INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL
    )""",
]
