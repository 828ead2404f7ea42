import json

from peewee import CharField, DateTimeField, FloatField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class Send(BaseModel):
    """One SMS, OTP, IVR call or click-to-call to one number: a row before it is a request.

    queued ──claim──> sending ──provider accepted──> submitted ──report──> delivered | failed | undeliverable
      │                  │ └─provider refused────────────────────────────> failed
      │                  ├─lease expired after the request started / outcome unknown──> unknown ──reconciled──> ...
      │                  └─lease expired before the request started (sent_at empty)──> queued
      └─cancel──> cancelled
    A state only moves forward (see webapp.dispatch.states.RANK), except that one provably never-requested
    claim returns to queued; `unknown` is never re-queued automatically.
    """

    kind = CharField(max_length=16)
    provider = CharField(max_length=16)
    state = CharField(max_length=16, default="queued")
    to_number = CharField(max_length=20)
    campaign_id = IntegerField(null=True)
    contact_id = IntegerField(null=True, index=True)
    user_id = IntegerField(null=True)
    # The record this send serves outside campaigns (an OTP request, a click-to-call).
    subject_id = IntegerField(null=True, index=True)
    attempt = IntegerField(default=1)
    retry_of = IntegerField(null=True)
    payload = TextField(default="{}")
    provider_ref = CharField(max_length=128, null=True)
    provider_status = CharField(max_length=64, default="")
    error_code = CharField(max_length=64, default="")
    error_text = TextField(default="")
    segments = IntegerField(default=1)
    price = FloatField(null=True)
    currency = CharField(max_length=8, default="")
    details = TextField(default="{}")
    # Transport attempts of this row (only failures that prove nothing was accepted are tried again).
    tries = IntegerField(default=0)
    not_before = DateTimeField(default=utcnow)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    submitted_at = DateTimeField(null=True)
    final_at = DateTimeField(null=True)
    # An `unknown` send (no provider id) that took the id of a callback naming its number.
    adopted_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("state", "not_before"), False),
            (("provider", "provider_ref"), False),
            (("campaign_id", "state"), False),
        )

    @property
    def data(self):
        return json.loads(self.payload or "{}")

    @property
    def detail(self):
        return json.loads(self.details or "{}")
