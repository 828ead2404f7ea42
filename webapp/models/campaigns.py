import json

from peewee import BooleanField, CharField, DateTimeField, FloatField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class Campaign(BaseModel):
    """An SMS blast or an IVR robocall campaign to an audience.

    draft ──send now──> running <──pause/resume──> paused
      └──schedule──> scheduled ──time reached──> running ──no send left to make──> completed
    any state but completed ──cancel──> cancelled (queued sends become cancelled; in-flight ones finish)
    ``in_window`` is kept by the scheduler tick: sends are claimed only while it is true.
    """

    name = CharField(max_length=200)
    kind = CharField(max_length=8)
    provider = CharField(max_length=16)
    status = CharField(max_length=16, default="draft", index=True)
    message = TextField(default="")
    sender_id = CharField(max_length=16, default="")
    # Kind-specific settings as JSON (IVR: ivr_id, from_number, variable mapping, retry policy).
    settings = TextField(default="{}")
    # Audience: JSON list of contact-list ids, plus an optional contact search.
    list_ids = TextField(default="[]")
    audience_query = CharField(max_length=200, default="")
    scheduled_at = DateTimeField(null=True)
    timezone = CharField(max_length=64, default="Asia/Jakarta")
    window_start = CharField(max_length=5, default="")
    window_end = CharField(max_length=5, default="")
    in_window = BooleanField(default=True)
    recipients = IntegerField(default=0)
    excluded_opted_out = IntegerField(default=0)
    excluded_duplicates = IntegerField(default=0)
    estimated_cost = FloatField(null=True)
    created_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    launched_at = DateTimeField(null=True)
    completed_at = DateTimeField(null=True)
    # Set when the safety brake paused the campaign (webapp.dispatch.brake); cleared by Resume.
    pause_reason = TextField(default="")
    pause_code = CharField(max_length=64, default="")
    paused_at = DateTimeField(null=True)
    # Only outcomes after this moment count for the failure-rate brake (set by Resume: the brake re-arms).
    brake_armed_at = DateTimeField(null=True)

    @property
    def lists(self):
        return json.loads(self.list_ids or "[]")

    @property
    def options(self):
        return json.loads(self.settings or "{}")


class SenderId(BaseModel):
    """A sender id (SMS mask) registered with a provider, kept by admins in Settings; compose offers only these."""

    provider = CharField(max_length=16)
    value = CharField(max_length=16)
    note = CharField(max_length=200, default="")
    # The last test send that checked it (its state says whether the provider accepts the sender id).
    check_send_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "sender_id"
        indexes = ((("provider", "value"), True),)


class ProviderStatus(BaseModel):
    """The last polled account state of a provider (masking balance) for the compose page and alerts."""

    provider = CharField(max_length=16, primary_key=True)
    ok = BooleanField(default=True)
    balance = FloatField(null=True)
    expires_at = DateTimeField(null=True)
    message = TextField(default="")
    checked_at = DateTimeField(default=utcnow)


class InboxMessage(BaseModel):
    """An inbound SMS polled from the masking inbox."""

    provider = CharField(max_length=16)
    external_id = CharField(max_length=128)
    sender = CharField(max_length=20, index=True)
    text = TextField(default="")
    received_at = DateTimeField(null=True)
    fetched_at = DateTimeField(default=utcnow, index=True)
    contact_id = IntegerField(null=True)
    # True when this message opted its sender out (STOP / BERHENTI).
    opted_out = BooleanField(default=False)
    # The line (or JSON item) as the provider wrote it.
    raw = TextField(default="")
    # False for a line that is no message the parser could read: kept raw and shown, never dropped.
    understood = BooleanField(default=True)

    class Meta:
        indexes = ((("provider", "external_id"), True),)
