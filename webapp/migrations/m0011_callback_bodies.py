"""Callbacks stored byte for byte and applied by the worker.

A body with a NUL byte or invalid UTF-8 is kept base64-encoded (body_encoding), since neither fits a TEXT column
on PostgreSQL; attempts counts the tries of an event whose handler raised, so a poison event ends `failed`
instead of blocking the ones after it.
"""

STEPS = [
    "ALTER TABLE callback_event ADD COLUMN body_encoding VARCHAR(8) NOT NULL DEFAULT 'utf8'",
    "ALTER TABLE callback_event ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
]
