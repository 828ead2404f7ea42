from datetime import timedelta

from peewee import CharField, DateTimeField, FloatField, ForeignKeyField, TextField

from webapp.models.base import BaseModel, utcnow
from webapp.models.contacts import Contact
from webapp.models.users import User

QUEUED = "queued"
CALLING_AGENT = "calling_agent"
AGENT_ANSWERED = "agent_answered"
CALLING_CUSTOMER = "calling_customer"
CONNECTED = "connected"
ENDED = "ended"
FAILED = "failed"

# Events only ever raise the rank, so a late or repeated event cannot move a call backwards.
RANK = {QUEUED: 0, CALLING_AGENT: 1, AGENT_ANSWERED: 2, CALLING_CUSTOMER: 3, CONNECTED: 4, ENDED: 5, FAILED: 5}
FINAL = frozenset({ENDED, FAILED})
LABELS = {
    QUEUED: "Waiting to dial", CALLING_AGENT: "Calling agent", AGENT_ANSWERED: "Agent answered",
    CALLING_CUSTOMER: "Calling customer", CONNECTED: "Connected", ENDED: "Ended", FAILED: "Failed",
}
# How long an ended call's panel keeps polling for the CDR that completes it.
CDR_WAIT = timedelta(minutes=2)


class Call(BaseModel):
    """One click-to-call: Airtel rings the agent, then the customer, and bridges the two.

    queued ──accepted──> calling_agent ──> agent_answered ──> calling_customer ──> connected ──hang-up──> ended
      └──refused──> failed <──agent or customer missed / busy / unreachable──┘
    Real-time events move the state forward only (RANK). The CDR, Airtel's final record, then decides between
    ended and failed and fills the durations, the status and the recording.
    """

    agent = ForeignKeyField(User, backref="calls")
    # Who pressed the button: the agent, or a supervisor calling on their behalf.
    created_by = ForeignKeyField(User, null=True)
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL", backref="calls")
    agent_number = CharField(max_length=20)
    customer_number = CharField(max_length=20, index=True)
    # One per rendered call button: a double click or a resubmitted form finds the call already made.
    idempotency_key = CharField(max_length=64, unique=True)
    state = CharField(max_length=16, default=QUEUED)
    # The CDR's overallCallStatus (Answered, Missed, Busy...); empty until the CDR arrives.
    status = CharField(max_length=32, default="", index=True)
    cause = TextField(default="")
    # Why the request itself failed (an Airtel errorCode, or transport codes such as bad_status).
    error_code = CharField(max_length=64, default="")
    hangup_cause = CharField(max_length=64, default="")
    # Airtel's own id of the call ("Xchange..."), for support requests.
    airtel_id = CharField(max_length=64, default="")
    agent_status = CharField(max_length=32, default="")
    customer_status = CharField(max_length=32, default="")
    conversation_seconds = FloatField(null=True)
    waiting_seconds = FloatField(null=True)
    agent_seconds = FloatField(null=True)
    billable_seconds = FloatField(null=True)
    recording_url = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)
    agent_answered_at = DateTimeField(null=True)
    connected_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)
    # Ours, in the path of the call's callback URLs: ties a callback to the call even when its body has no id.
    # NULL for calls placed before per-call URLs existed.
    callback_ref = CharField(max_length=32, null=True, unique=True)

    class Meta:
        indexes = ((("agent", "state"), False),)

    @property
    def final(self):
        return self.state in FINAL

    @property
    def label(self):
        return LABELS.get(self.state, self.state)

    @property
    def live(self):
        """True while its panel should keep polling: the call runs, or it ended and its CDR is still due."""
        if not self.final:
            return True
        if self.status or self.error_code:
            return False
        return self.ended_at is not None and utcnow() - self.ended_at < CDR_WAIT

    @property
    def talk_seconds(self):
        """Conversation so far: the CDR's figure once known, else counted from the customer's answer."""
        if self.conversation_seconds is not None:
            return self.conversation_seconds
        if self.connected_at is None:
            return None
        until = self.ended_at or utcnow()
        return max(0.0, (until - self.connected_at).total_seconds())


class CallEvent(BaseModel):
    """One real-time event Airtel posted for a call, as it arrived (duplicates dropped)."""

    call = ForeignKeyField(Call, on_delete="CASCADE", backref="events")
    # agent | customer | "" (an event that names no participant)
    leg = CharField(max_length=16, default="")
    event = CharField(max_length=64)
    cause = CharField(max_length=128, default="")
    # Airtel's eventId; NULL when it sent none (so the unique index never rejects those).
    event_id = CharField(max_length=128, null=True)
    # When it happened by Airtel's clock (naive UTC); received_at is ours.
    at = DateTimeField(default=utcnow)
    received_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("call", "event_id"), True), (("call", "at"), False))
