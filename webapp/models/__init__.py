"""All tables. Each area has its module; ALL_MODELS lists every table the migrations must create."""
from webapp.models.base import BaseModel, utcnow
from webapp.models.campaigns import Campaign, InboxMessage, ProviderStatus
from webapp.models.contacts import (
    Contact,
    ContactEvent,
    ContactList,
    ContactListMember,
    ImportJob,
    ImportRowError,
    OptOut,
)
from webapp.models.sends import Send
from webapp.models.system import AuditLog, CallbackEvent, ChannelLog, SchedulerLease
from webapp.models.users import ROLES, LoginAttempt, User

ALL_MODELS = [User, LoginAttempt, ChannelLog, CallbackEvent, AuditLog, SchedulerLease, Send,
              ContactList, Contact, ContactListMember, ContactEvent, OptOut, ImportJob, ImportRowError,
              Campaign, ProviderStatus, InboxMessage]

__all__ = [
    "ALL_MODELS",
    "AuditLog",
    "BaseModel",
    "CallbackEvent",
    "Campaign",
    "ChannelLog",
    "Contact",
    "ContactEvent",
    "ContactList",
    "ContactListMember",
    "ImportJob",
    "ImportRowError",
    "InboxMessage",
    "LoginAttempt",
    "OptOut",
    "ProviderStatus",
    "ROLES",
    "SchedulerLease",
    "Send",
    "User",
    "utcnow",
]
