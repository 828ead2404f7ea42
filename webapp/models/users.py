from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, IntegerField

from webapp.models.base import BaseModel, utcnow

ROLES = ("admin", "supervisor", "agent")
"""admin > supervisor > agent: each role may do everything the roles after it may."""
ROLE_RANK = {role: rank for rank, role in enumerate(reversed(ROLES))}


class User(UserMixin, BaseModel):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=120)
    role = CharField(max_length=16, default="agent")
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    # The agent's own phone (E.164): click-to-call rings it first.
    phone = CharField(max_length=20, null=True)
    timezone = CharField(max_length=64, default="Asia/Jakarta")
    session_version = IntegerField(default=0)
    # Two-factor sign-in: after the password, a missed-call (or SMS) code to ``phone`` must be typed back.
    two_factor = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    @property
    def is_active(self):
        return self.active

    # The key of the UserSession this user was loaded under (webapp.auth.sessions); None outside a session.
    session_key = None

    def get_id(self):
        # Deleting the session row, or bumping session_version, invalidates the cookies carrying this id.
        return f"{self.id}:{self.session_version}:{self.session_key or ''}"

    def has_role(self, role):
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class LoginAttempt(BaseModel):
    """One failed sign-in, keyed by e-mail and by address, for rate limiting."""

    email = CharField(max_length=254, index=True)
    remote_addr = CharField(max_length=64, index=True)
    created_at = DateTimeField(default=utcnow, index=True)
