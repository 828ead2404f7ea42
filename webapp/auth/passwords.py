"""argon2id password hashing (argon2-cffi)."""
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_HASHERS = {
    # RFC 9106 "second recommended" profile: argon2id, t=3, m=64 MiB, p=4.
    "default": PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID),
    # Same algorithm at minimal cost, selected by PASSWORD_HASH_PROFILE=fast in the test suite only.
    "fast": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID),
}
# Verifying against this keeps the time of a sign-in for an unknown e-mail close to a real one.
_DUMMY = {}

MIN_PASSWORD_LENGTH = 10


def _hasher():
    return _HASHERS[current_app.config.get("PASSWORD_HASH_PROFILE", "default")]


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_verification(password):
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "default")
    if profile not in _DUMMY:
        _DUMMY[profile] = _hasher().hash("not-a-real-password")
    verify_password(_DUMMY[profile], password)


def needs_rehash(password_hash):
    return _hasher().check_needs_rehash(password_hash)


def password_problem(password):
    """A human reason why a new password is refused, or None."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 256:
        return "Passwords can have at most 256 characters."
    return None
