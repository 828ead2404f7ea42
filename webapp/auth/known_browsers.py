"""Known-browser cookies (OWASP "device cookies"): a browser in which an account has signed in before has
its sign-in tries counted on its own (webapp.auth.throttle), so a stranger guessing from many addresses, or
from the owner's own office address, slows the account down for strangers only, never for its owner.

The cookie is the e-mail signed with SECRET_KEY; it grants nothing by itself (the password and every other
limit still apply), it only says "this browser has proved this account before".
"""
import hashlib
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "known_browser"
LIFETIME = timedelta(days=365)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-browser")


def identity(email):
    """A stable id of this request's browser when it has signed in to ``email`` within LIFETIME, else None
    (the sign-in throttle counts a known browser's tries under this id)."""
    value = request.cookies.get(COOKIE)
    if not value or not email:
        return None
    try:
        if _serializer().loads(value, max_age=int(LIFETIME.total_seconds())) != email:
            return None
    except BadSignature:
        return None
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def remember(email):
    """Mark this browser as known for ``email`` on the response being built."""
    value = _serializer().dumps(email)
    cfg = current_app.config

    @after_this_request
    def set_cookie(response):
        response.set_cookie(COOKIE, value, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            secure=bool(cfg.get("SESSION_COOKIE_SECURE")), samesite="Lax")
        return response
