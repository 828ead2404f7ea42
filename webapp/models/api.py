from peewee import CharField, DateTimeField, IntegerField, TextField

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
