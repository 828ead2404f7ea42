"""All tables. Each area has its module; ALL_MODELS lists every table the migrations must create."""
from webapp.models.base import BaseModel, utcnow
from webapp.models.contacts import (
    Contact, ContactEvent, ContactList, ContactListMember, ImportJob, ImportRowError, OptOut,
)
from webapp.models.sends import Send
from webapp.models.system import AuditLog, CallbackEvent, ChannelLog, SchedulerLease
from webapp.models.users import ROLES, LoginAttempt, User

ALL_MODELS = [User, LoginAttempt, ChannelLog, CallbackEvent, AuditLog, SchedulerLease, Send,
              ContactList, Contact, ContactListMember, ContactEvent, OptOut, ImportJob, ImportRowError]

__all__ = [
    "ALL_MODELS", "ROLES", "AuditLog", "BaseModel", "CallbackEvent", "ChannelLog", "LoginAttempt",
    "Contact", "ContactEvent", "ContactList", "ContactListMember", "ImportJob", "ImportRowError", "OptOut",
    "SchedulerLease", "Send", "User", "utcnow",
]
