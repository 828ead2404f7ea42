"""Revocable sign-in sessions: the cookies carry a random key that must match a UserSession row.

flask-login puts ``User.get_id()`` in the session cookie and, with "remember me", in a long-lived signed
cookie. Both now read "<user id>:<session version>:<key>"; deleting the row (sign-out, password change,
deactivation) makes both cookies worthless at once, wherever they were copied to.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_login import current_user, login_user, logout_user

from webapp.auth import known_browsers
from webapp.models import User, UserSession, utcnow


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def _duration():
    duration = current_app.config.get("REMEMBER_COOKIE_DURATION") or timedelta(days=30)
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def sign_in(user, remember=False, remote_addr=""):
    """A new session row, then the flask-login session (and remember cookie) carrying its key."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    UserSession.delete().where((UserSession.user_id == user.id) & (UserSession.expires_at <= now)).execute()
    UserSession.create(key_hash=_hash(key), user_id=user.id, remember=bool(remember), remote_addr=remote_addr[:64],
                       created_at=now, expires_at=now + _duration())
    user.session_key = key
    login_user(user, remember=bool(remember), duration=_duration())
    known_browsers.remember(user.email)


def load(session_id):
    """flask-login's user loader: the user of a live session row, or None."""
    user_id, _, rest = (session_id or "").partition(":")
    version, _, key = rest.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit() and key):
        return None
    row = (UserSession.select(UserSession.id)
           .where((UserSession.key_hash == _hash(key)) & (UserSession.user_id == int(user_id))
                  & (UserSession.expires_at > utcnow())).first())
    if row is None:
        return None
    user = User.get_or_none(User.id == int(user_id))
    if user is None or user.session_version != int(version) or not user.active:
        return None
    user.session_key = key
    return user


def sign_out():
    """Revoke this browser's session row (so its remember cookie dies too), then clear the cookies."""
    key = getattr(current_user, "session_key", None)
    if key:
        UserSession.delete().where(UserSession.key_hash == _hash(key)).execute()
    logout_user()


def revoke_all(user_id):
    """Every session of a user ends (password change, deactivation, an admin's "sign out everywhere")."""
    return UserSession.delete().where(UserSession.user_id == user_id).execute()


def _others(user_id, key):
    return (UserSession.user_id == user_id) & (UserSession.key_hash != _hash(key or ""))


def count_others(user_id, key):
    """Live sessions of this user in other browsers (remembered or not)."""
    return UserSession.select().where(_others(user_id, key) & (UserSession.expires_at > utcnow())).count()


def revoke_others(user_id, key):
    """Every session of this user but the one carrying ``key`` ends, with its remember-me cookie; returns how
    many browsers were signed out."""
    return UserSession.delete().where(_others(user_id, key)).execute()
