"""Sign-in, throttling and user management as plain functions (views and CLI call these)."""
from zoneinfo import available_timezones

from webapp.auth import sessions, throttle
from webapp.auth.passwords import burn_verification, hash_password, needs_rehash, password_problem, verify_password
from webapp.models import ROLES, AuditLog, LoginAttempt, User, utcnow

# Same words for a wrong password, an unknown e-mail and a deactivated account: no account enumeration.
BAD_CREDENTIALS = "Invalid e-mail or password."
# RFC 5321's longest address, and the users.email column; the users.name column.
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 120


class UserError(ValueError):
    """A refused user-management request, with a message fit for the page."""


def normalize_email(email):
    return (email or "").strip().lower()


def authenticate(email, password, remote_addr, browser=None):
    """Check the password: (user, None) or (None, message). Each try is counted by the throttle before the
    check (webapp.auth.throttle); the caller calls complete_login once every factor has passed."""
    email = normalize_email(email)
    try:
        reservation = throttle.reserve(email, remote_addr, browser)
    except throttle.Throttled as exc:
        return None, str(exc)
    user = User.get_or_none(User.email == email)
    if user is None:
        burn_verification(password or "")
    ok = user is not None and verify_password(user.password_hash, password or "") and user.active
    if not ok:
        # Kept as the record of failed sign-ins; the throttle itself counts in webapp.ratelimit.
        # Cut to the columns: an e-mail no account can have is still a failed try, not a database error.
        LoginAttempt.create(email=email[:MAX_EMAIL_LENGTH], remote_addr=remote_addr[:64])
        return None, BAD_CREDENTIALS
    throttle.release(reservation)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        user.save()
    return user, None


def complete_login(user, remote_addr=""):
    """The last factor passed: clear the throttle and note the sign-in (not at the password step of a
    two-factor sign-in, so a known password alone never resets the failure count)."""
    throttle.clear(user.email, remote_addr)
    LoginAttempt.delete().where(LoginAttempt.email == user.email).execute()
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()


def create_user(email, name, role, password):
    email = normalize_email(email)
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        raise UserError("Enter a valid e-mail address.")
    if role not in ROLES:
        raise UserError(f"Role must be one of: {', '.join(ROLES)}.")
    name = clean_name(name)
    problem = password_problem(password, email)
    if problem:
        raise UserError(problem)
    if User.select().where(User.email == email).exists():
        raise UserError("A user with this e-mail already exists.")
    return User.create(email=email, name=name, role=role, password_hash=hash_password(password))


def clean_name(name):
    name = (name or "").strip()
    if not name:
        raise UserError("Enter a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"Names can have at most {MAX_NAME_LENGTH} characters.")
    return name


def check_timezone(zone):
    """Every page renders times in the user's zone: an unknown one would break all of them."""
    if zone not in available_timezones():
        raise UserError("Choose a time zone from the list (for example Asia/Jakarta or Asia/Kolkata).")
    return zone


def set_password(user, password):
    problem = password_problem(password, user.email)
    if problem:
        raise UserError(problem)
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.save()
    sessions.revoke_all(user.id)


def set_active(user, active):
    user.active = active
    user.session_version += 1
    user.save()
    sessions.revoke_all(user.id)


def audit(action, target="", detail="", user_id=None, remote_addr=""):
    AuditLog.create(user_id=user_id, action=action, target=str(target), detail=detail, remote_addr=remote_addr)


def audit_request(action, target="", detail=""):
    """An audit row for what the signed-in user (if any) of the current request did, and from where."""
    from flask import request
    from flask_login import current_user

    user_id = current_user.id if current_user.is_authenticated else None
    audit(action, target, detail, user_id=user_id, remote_addr=(request.remote_addr or "")[:64])
