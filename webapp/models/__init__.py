"""All tables. Each area has its module; ALL_MODELS lists every table the migrations must create."""
from webapp.models.base import BaseModel, utcnow
from webapp.models.calls import Call, CallEvent
from webapp.models.campaigns import Campaign, InboxMessage, ProviderStatus, SenderId
from webapp.models.contacts import (
    Contact,
    ContactEvent,
    ContactList,
    ContactListMember,
    ImportFile,
    ImportJob,
    ImportRowError,
    OptOut,
)
from webapp.models.ivr import AudioFile, OcaIvr, OcaNumber
from webapp.models.otp import OtpAttempt, OtpRequest
from webapp.models.sends import Send
from webapp.models.system import AccountLimit, AuditLog, CallbackEvent, ChannelLog, SchedulerLease
from webapp.models.users import ROLES, LoginAttempt, User

ALL_MODELS = [User, LoginAttempt, ChannelLog, CallbackEvent, AuditLog, SchedulerLease, Send,
              ContactList, Contact, ContactListMember, ContactEvent, OptOut, ImportJob, ImportFile, ImportRowError,
              Campaign, ProviderStatus, InboxMessage, Call, CallEvent,
              OtpRequest, OtpAttempt, AudioFile, OcaIvr, OcaNumber, SenderId, AccountLimit]

__all__ = [
    "ALL_MODELS",
    "AccountLimit",
    "AudioFile",
    "AuditLog",
    "BaseModel",
    "Call",
    "CallEvent",
    "CallbackEvent",
    "Campaign",
    "ChannelLog",
    "Contact",
    "ContactEvent",
    "ContactList",
    "ContactListMember",
    "ImportFile",
    "ImportJob",
    "ImportRowError",
    "InboxMessage",
    "LoginAttempt",
    "OcaIvr",
    "OcaNumber",
    "OptOut",
    "OtpAttempt",
    "OtpRequest",
    "ProviderStatus",
    "ROLES",
    "SchedulerLease",
    "SenderId",
    "Send",
    "User",
    "utcnow",
]

from webapp.models.security import RateCounter, UserSession  # noqa: E402

ALL_MODELS += [UserSession, RateCounter]
__all__ += ["RateCounter", "UserSession"]

from webapp.models.api import (  # noqa: E402
    ApiIdempotency,
    ApiToken,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookScan,
)

ALL_MODELS += [ApiToken, ApiIdempotency, WebhookEndpoint, WebhookDelivery, WebhookScan]
__all__ += ["ApiIdempotency", "ApiToken", "WebhookDelivery", "WebhookEndpoint", "WebhookScan"]
