from peewee import CharField, DateTimeField, FloatField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class ChannelLog(BaseModel):
    """One HTTP exchange with a provider, secrets already redacted, linked to the send it served."""

    provider = CharField(max_length=16, index=True)
    send_id = IntegerField(null=True, index=True)
    operation = CharField(max_length=32)
    method = CharField(max_length=8)
    url = TextField()
    request_headers = TextField(default="")
    request_body = TextField(default="")
    status_code = IntegerField(null=True)
    response_body = TextField(default="")
    duration_ms = IntegerField(default=0)
    error = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        # The provider log browser's filters, each with the id it pages by (m0021).
        indexes = ((("provider", "id"), False), (("operation", "id"), False))


class CallbackEvent(BaseModel):
    """A provider callback exactly as received, stored before it is applied.

    status: received > applied | orphan (reference not known yet; applied when it appears) | invalid | ignored
            | stale (its send was already final, so it changed nothing)
            | failed (error says why; a handler that raised is tried again until ``attempts`` reaches its limit).
    body_encoding: utf8, or base64 when the body had a NUL byte or was not UTF-8 (no database TEXT holds those).
    """

    provider = CharField(max_length=16)
    kind = CharField(max_length=32, default="")
    dedupe_key = CharField(max_length=255, unique=True)
    reference = CharField(max_length=128, default="", index=True)
    method = CharField(max_length=8)
    query = TextField(default="")
    headers = TextField(default="")
    body = TextField(default="")
    body_encoding = CharField(max_length=8, default="utf8")
    remote_addr = CharField(max_length=64, default="")
    status = CharField(max_length=16, default="received", index=True)
    error = TextField(default="")
    attempts = IntegerField(default=0)
    received_at = DateTimeField(default=utcnow, index=True)
    applied_at = DateTimeField(null=True)

    class Meta:
        # The callback browser's filters, each with the id it pages by (m0021); a send's callbacks (m0022).
        indexes = ((("provider", "id"), False), (("status", "id"), False), (("provider", "status", "id"), False),
                   (("provider", "reference"), False))


class AuditLog(BaseModel):
    user_id = IntegerField(null=True, index=True)
    action = CharField(max_length=64, index=True)
    target = CharField(max_length=255, default="")
    detail = TextField(default="")
    remote_addr = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow, index=True)


class SchedulerLease(BaseModel):
    """Who runs the APScheduler jobs: exactly one worker holds an unexpired lease."""

    name = CharField(max_length=64, primary_key=True)
    holder = CharField(max_length=128)
    expires_at = DateTimeField()


class AccountLimit(BaseModel):
    """A limit of one provider account shared by every worker, locked while it is read and changed.

    name: "<provider>:rate" (next_at: the next moment free to reserve; second_at, second_count: the latest
    second of the clock requests left in, and how many; in seconds of the database's clock) or
    "<provider>:concurrency" (a lock only: the count lives in the send rows).
    """

    name = CharField(max_length=64, primary_key=True)
    next_at = FloatField(default=0)
    second_at = FloatField(default=0)
    second_count = IntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)
