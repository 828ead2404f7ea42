"""Jinja filters and globals shared by every page."""
from zoneinfo import ZoneInfo

from flask import current_app
from flask_login import current_user

from webapp import phones, reasons
from webapp.blueprints import NAVIGATION

UTC = ZoneInfo("UTC")


def local_time(value, fmt="%Y-%m-%d %H:%M"):
    if value is None:
        return ""
    zone = ZoneInfo(getattr(current_user, "timezone", None) or "Asia/Jakarta")
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def navigation():
    if not current_user.is_authenticated:
        return []
    endpoints = current_app.view_functions
    return [
        (label, endpoint)
        for label, endpoint, role in NAVIGATION
        if endpoint in endpoints and current_user.has_role(role)
    ]


def init_app(app):
    app.jinja_env.filters["phone"] = phones.display
    app.jinja_env.filters["localtime"] = local_time
    # A send's failure in human words with the raw code beside it, and its state in its channel's words.
    app.jinja_env.filters["reason"] = lambda send: reasons.send_reason(send) or ""
    app.jinja_env.filters["state_word"] = reasons.state_word
    app.jinja_env.filters["state_label"] = reasons.state_label
    app.jinja_env.globals["reason_for"] = reasons.reason_for
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["has_endpoint"] = lambda name: name in current_app.view_functions
