"""Known-browser cookies (OWASP "device cookies"): a browser in which an account has signed in before is
exempt from that account's account-wide slow-down, so a stranger guessing from many addresses slows the
account down for strangers only, never for its owner's own browsers.

The cookie is the e-mail signed with SECRET_KEY; it grants nothing by itself (the password and every other
limit still apply), it only says "this browser has proved this account before".
"""
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "known_browser"
LIFETIME = timedelta(days=365)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-browser")


def recognizes(email):
    """Whether this request's browser has signed in to ``email`` within LIFETIME."""
    value = request.cookies.get(COOKIE)
    if not value or not email:
        return False
    try:
        return _serializer().loads(value, max_age=int(LIFETIME.total_seconds())) == email
    except BadSignature:
        return False


def remember(email):
    """Mark this browser as known for ``email`` on the response being built."""
    value = _serializer().dumps(email)
    cfg = current_app.config

    @after_this_request
    def set_cookie(response):
        response.set_cookie(COOKIE, value, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            secure=bool(cfg.get("SESSION_COOKIE_SECURE")), samesite="Lax")
        return response
