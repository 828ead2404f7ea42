from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class ApiToken(BaseModel):
    """A personal API token: it acts as its user, with the user's role. Only its sha256 is stored; the
    token itself is shown once, when it is created (webapp.api.tokens)."""

    user_id = IntegerField(index=True)
    name = CharField(max_length=120, default="")
    # The first characters of the token, so its owner can tell tokens apart on the list.
    prefix = CharField(max_length=16)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "api_token"


class ApiIdempotency(BaseModel):
    """The stored answer to a POST sent with an Idempotency-Key: the same key and body get this answer
    again instead of a second send. status 0 marks a request still being handled."""

    user_id = IntegerField()
    key = CharField(max_length=200)
    # sha256 of method, path and body: the same key with another request is refused (409).
    request_hash = CharField(max_length=64)
    status = IntegerField(default=0)
    body = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "api_idempotency"
        indexes = ((("user_id", "key"), True),)


class WebhookEndpoint(BaseModel):
    """A URL an admin registered to hear about events (webapp.api.webhooks.EVENTS), signed with its secret."""

    url = CharField(max_length=500)
    # Comma-separated event names.
    events = TextField(default="")
    # The HMAC key receivers verify signatures with; kept in clear because every delivery is signed with it.
    secret = CharField(max_length=64)
    active = BooleanField(default=True)
    created_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "webhook_endpoint"

    @property
    def event_list(self):
        return [e for e in self.events.split(",") if e]


class WebhookDelivery(BaseModel):
    """One event for one endpoint: a row first, then POSTed (and retried with backoff) by the worker.

    pending ──2xx──> delivered
       └──other answer or no answer──> pending (next_attempt_at later) ──MAX_ATTEMPTS──> failed
    """

    endpoint_id = IntegerField()
    event = CharField(max_length=40)
    # What the event is about ("otp:12"): with endpoint_id unique, so an event seen twice is delivered once.
    event_key = CharField(max_length=80)
    payload = TextField()
    state = CharField(max_length=16, default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_status = IntegerField(null=True)
    last_answer = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        table_name = "webhook_delivery"
        indexes = ((("endpoint_id", "event_key"), True), (("state", "next_attempt_at"), False))


class WebhookScan(BaseModel):
    """How far the collector has looked at one source of events (webapp.api.webhook_events)."""

    source = CharField(max_length=40, primary_key=True)
    scanned_to = DateTimeField()

    class Meta:
        table_name = "webhook_scan"
