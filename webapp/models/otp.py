from peewee import CharField, DateTimeField, FloatField, ForeignKeyField, IntegerField, TextField

from webapp.models.base import BaseModel, utcnow


class OtpRequest(BaseModel):
    """One person proving they hold a number: one or more sends (each a Send row whose subject_id is this
    id), then codes typed back and checked by CitCALL /verify. The code itself is never stored.

    status: pending ──valid code──> verified
               ├──CitCALL rc 80──> expired ──new send──> pending
               └──CitCALL rc 81──> locked ───new send──> pending
    The delivery fields mirror the current send (the latest one), updated by its callbacks.
    """

    # contact: staff verifying someone's number; login: a staff sign-in; enroll: turning two-factor on.
    purpose = CharField(max_length=16, default="contact")
    phone = CharField(max_length=20, index=True)
    contact_id = IntegerField(null=True, index=True)
    # Who asked: the staff member on the OTP page, or the user signing in or enrolling.
    user_id = IntegerField(null=True, index=True)
    # miscall | sms, and the miscall gateway (0, 1, 2), of the current send.
    method = CharField(max_length=8)
    gateway = IntegerField(null=True)
    valid_time = IntegerField()
    limit_try = IntegerField()
    # Template of SMS OTP texts, webapp.otp.service.CODE_PLACEHOLDER standing for the code.
    sms_text = CharField(max_length=160, default="")
    status = CharField(max_length=16, default="pending")
    send_id = IntegerField(null=True)
    delivery = CharField(max_length=16, default="queued")
    dial_status = CharField(max_length=64, default="")
    error = TextField(default="")
    # The miscall caller number without its last 4 digits: what the person looks for in their call log.
    caller_hint = CharField(max_length=20, default="")
    price = FloatField(null=True)
    currency = CharField(max_length=8, default="")
    # The page's words for the last verify try ("Wrong code", "Code expired", ...).
    outcome = CharField(max_length=200, default="")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)
    delivered_at = DateTimeField(null=True)
    verified_at = DateTimeField(null=True)


class OtpAttempt(BaseModel):
    """The OTP audit trail: every send and every verify try, who made it and how it ended (never the code)."""

    otp = ForeignKeyField(OtpRequest, backref="attempts", on_delete="CASCADE")
    # send | verify
    action = CharField(max_length=8)
    method = CharField(max_length=8)
    gateway = IntegerField(null=True)
    phone = CharField(max_length=20, index=True)
    user_id = IntegerField(null=True, index=True)
    send_id = IntegerField(null=True, index=True)
    # send: the send's state; verify: valid | wrong | expired | exhausted | unknown | error
    outcome = CharField(max_length=16)
    detail = TextField(default="")
    remote_addr = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow, index=True)
