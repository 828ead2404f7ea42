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

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# What the most common passwords are made of once digits and symbols around them are taken off and
# look-alike characters read back as letters (P@ssw0rd2024! -> password). Short on purpose: length does
# most of the work; this refuses the first things anyone guessing tries.
COMMON_WORDS = frozenset("""
password passwort passw0rd pass qwerty qwertz azerty admin administrator root user login welcome letmein
iloveyou loveyou monkey dragon sunshine princess football baseball soccer master shadow superman batman
michael jennifer starwars whatever trustno freedom secret changeme default guest test testing temp
hello google facebook computer internet samsung summer winter spring autumn
jakarta indonesia bismillah sayang rahasia cinta katasandi
""".split())
# Runs people type as passwords; any stretch of one of these (forwards or backwards) is refused.
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "01234567890", "1qaz2wsx3edc4rfv5tgb6yhn",
             "1q2w3e4r5t6y7u8i9o0p", "zaq12wsxcde34rfv")
LOOK_ALIKES = str.maketrans("0134579@$!", "oieastgasi")


def _common_core(password):
    """The password lowercased, stripped of the digits and symbols around it, look-alikes read as letters."""
    core = password.lower().strip("0123456789!@#$%^&*()_+-=.,?~ ")
    return core.translate(LOOK_ALIKES)


def _is_run(text):
    return len(text) >= 4 and any(text in seq or text in seq[::-1] for seq in SEQUENCES)

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


def password_problem(password, email=""):
    """A human reason why a new password is refused, or None (user create, password change, CLI)."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Passwords can have at most {MAX_PASSWORD_LENGTH} characters."
    core = _common_core(password)
    lowered = password.lower()
    email = (email or "").strip().lower()
    local_part = email.split("@")[0]
    if (not core or core in COMMON_WORDS or _is_run(lowered) or _is_run(core) or len(set(lowered)) <= 3
            or (email and email in lowered) or (len(local_part) >= 4 and local_part in lowered)):
        return "This password is too easy to guess (a common password, a run of keys, or your e-mail). " \
               "Use a few unrelated words or a password manager."
    return None
