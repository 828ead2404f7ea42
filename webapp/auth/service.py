"""Sign-in, throttling and user management as plain functions (views and CLI call these)."""
from datetime import timedelta

from flask import current_app
from peewee import fn

from webapp.auth.passwords import burn_verification, hash_password, needs_rehash, password_problem, verify_password
from webapp.models import ROLES, AuditLog, LoginAttempt, User, utcnow

# Same words for a wrong password, an unknown e-mail and a deactivated account: no account enumeration.
BAD_CREDENTIALS = "Invalid e-mail or password."
# Per-address ceiling, several times the per-account one so a shared office NAT is not locked out at once.
ADDRESS_FACTOR = 4


class UserError(ValueError):
    """A refused user-management request, with a message fit for the page."""


def normalize_email(email):
    return (email or "").strip().lower()


def throttle_wait(email, remote_addr):
    """Seconds until another sign-in may be tried for this e-mail/address, 0 when allowed."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOGIN_WINDOW_SECONDS"])
    since = utcnow() - window
    limit = cfg["LOGIN_MAX_FAILURES"]
    waits = []
    for column, value, ceiling in (
        (LoginAttempt.email, email, limit),
        (LoginAttempt.remote_addr, remote_addr, limit * ADDRESS_FACTOR),
    ):
        query = LoginAttempt.select(fn.COUNT(LoginAttempt.id), fn.MIN(LoginAttempt.created_at)).where(
            (column == value) & (LoginAttempt.created_at > since)
        )
        count, oldest = query.scalar(as_tuple=True)
        if count >= ceiling and oldest is not None:
            waits.append(max(1, int((oldest + window - utcnow()).total_seconds())))
    return max(waits, default=0)


def authenticate(email, password, remote_addr):
    """Check the password: (user, None) or (None, message). Failures are recorded for throttling; the
    caller calls complete_login once every factor has passed."""
    email = normalize_email(email)
    wait = throttle_wait(email, remote_addr)
    if wait:
        minutes = (wait + 59) // 60
        return None, f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    user = User.get_or_none(User.email == email)
    if user is None:
        burn_verification(password or "")
    ok = user is not None and verify_password(user.password_hash, password or "") and user.active
    if not ok:
        LoginAttempt.create(email=email, remote_addr=remote_addr)
        return None, BAD_CREDENTIALS
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        user.save()
    return user, None


def complete_login(user):
    """The last factor passed: clear the throttle and note the sign-in (not at the password step of a
    two-factor sign-in, so a known password alone never resets the failure count)."""
    LoginAttempt.delete().where(LoginAttempt.email == user.email).execute()
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()


def create_user(email, name, role, password):
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise UserError("Enter a valid e-mail address.")
    if role not in ROLES:
        raise UserError(f"Role must be one of: {', '.join(ROLES)}.")
    if not (name or "").strip():
        raise UserError("Enter a name.")
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    if User.select().where(User.email == email).exists():
        raise UserError("A user with this e-mail already exists.")
    return User.create(email=email, name=name.strip(), role=role, password_hash=hash_password(password))


def set_password(user, password):
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.save()


def set_active(user, active):
    user.active = active
    user.session_version += 1
    user.save()


def audit(action, target="", detail="", user_id=None, remote_addr=""):
    AuditLog.create(user_id=user_id, action=action, target=str(target), detail=detail, remote_addr=remote_addr)
