"""Personal API tokens: created (shown once), checked on every API request, listed, revoked."""
import hashlib
import secrets
from datetime import timedelta

from webapp.models import ApiToken, User, utcnow

PREFIX = "cc_"
MAX_EXPIRES_DAYS = 3650
# last_used_at is written at most this often per token: one UPDATE per request would serialise API traffic.
TOUCH_EVERY = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be created, with a message for the page or the command line."""


def _digest(token):
    # The token is 256 random bits: a plain sha256 cannot be brute-forced, and it is looked up by equality.
    return hashlib.sha256(token.encode()).hexdigest()


def create(user, name="", expires_days=None):
    """Returns (row, token). The token itself is never stored: the caller shows it once."""
    name = (name or "").strip()[:120] or "API token"
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise TokenError(f"Expiry is between 1 and {MAX_EXPIRES_DAYS} days.")
    if not user.active:
        raise TokenError("This account is deactivated.")
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken.create(user_id=user.id, name=name, prefix=token[:10], token_hash=_digest(token), created_at=now,
                          expires_at=now + timedelta(days=expires_days) if expires_days else None)
    return row, token


def authenticate(token, now=None):
    """The (token row, user) a bearer token stands for, or None: unknown, revoked, expired or user inactive."""
    if not token or not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = ApiToken.get_or_none(ApiToken.token_hash == _digest(token))
    now = now or utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = User.get_or_none((User.id == row.user_id) & User.active)
    if user is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row, user


def for_user(user_id):
    return list(ApiToken.select().where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()))


def revoke(user_id, token_id):
    """Revoke one of the user's own tokens; False when there is no such live token."""
    return bool(ApiToken.update(revoked_at=utcnow())
                .where((ApiToken.id == token_id) & (ApiToken.user_id == user_id) & ApiToken.revoked_at.is_null())
                .execute())
