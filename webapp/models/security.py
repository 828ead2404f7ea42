from peewee import BooleanField, CharField, DateTimeField, FloatField, IntegerField

from webapp.models.base import BaseModel, utcnow


class UserSession(BaseModel):
    """One signed-in browser: the session and remember-me cookies carry its key, the user loader accepts a
    cookie only while this row exists, so sign-out and a password change revoke the cookies themselves."""

    # sha256 of the random key the cookies carry (a copy of the table cannot be replayed as cookies).
    key_hash = CharField(max_length=64, unique=True)
    user_id = IntegerField(index=True)
    remember = BooleanField(default=False)
    remote_addr = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)


class RateCounter(BaseModel):
    """A fixed-window counter shared by every web process (sign-in throttle, OTP limits): the first hit
    opens the window, hits are added atomically in one statement, a hit after the window opens a new one."""

    key = CharField(max_length=200, primary_key=True)
    hits = IntegerField(default=0)
    # Epoch seconds the window opened (a float keeps the one-statement upsert portable across dialects).
    window_start = FloatField(index=True)
