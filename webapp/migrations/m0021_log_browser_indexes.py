"""Indexes for the provider log and callback browsers: each filter with the id they page by (keyset, newest
first), so a filtered page reads its 50 rows from an index instead of sorting or scanning every match.

The partial index holds only the exchanges that went wrong (rare, so any filter on them reads few rows);
its condition is repeated literally by webapp.ops.provider_log.TROUBLE (SQLite uses it only then).
send.retry_of finds a send's later attempts (its story page)."""

STEPS = [
    "CREATE INDEX channel_log_provider_id ON channel_log (provider, id)",
    "CREATE INDEX channel_log_operation_id ON channel_log (operation, id)",
    "CREATE INDEX channel_log_trouble ON channel_log (id)"
    " WHERE (status_code IS NULL OR status_code NOT BETWEEN 200 AND 299 OR error <> '')",
    "CREATE INDEX callback_event_provider_id ON callback_event (provider, id)",
    "CREATE INDEX callback_event_status_id ON callback_event (status, id)",
    "CREATE INDEX callback_event_provider_status_id ON callback_event (provider, status, id)",
    "CREATE INDEX send_retry_of ON send (retry_of)",
]
