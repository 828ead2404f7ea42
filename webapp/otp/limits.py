"""Caps on OTP sends, counted in the database so they hold across every web process.

Each missed call costs money and rings someone's phone: a number gets one code every
OTP_MIN_INTERVAL_SECONDS and OTP_MAX_PER_NUMBER per window, a user OTP_MAX_PER_USER, an address
OTP_MAX_PER_ADDRESS. A full legitimate round (three missed-call gateways, then SMS) fits inside them.
"""
from flask import current_app

from webapp import ratelimit
from webapp.ratelimit import Limit, LimitExceeded

MESSAGES = {
    "interval": "A code was just sent to this number. Wait {wait} before sending another.",
    "number": "Too many codes were sent to this number. Try again in {wait}.",
    "user": "You have sent too many codes. Try again in {wait}.",
    "address": "Too many codes were sent from this address. Try again in {wait}.",
}


def _limits(phone, user_id, remote_addr):
    cfg = current_app.config
    window = cfg["OTP_WINDOW_SECONDS"]
    limits = [
        Limit("interval", ratelimit.key("otp-gap", phone), 1, cfg["OTP_MIN_INTERVAL_SECONDS"]),
        Limit("number", ratelimit.key("otp-number", phone), cfg["OTP_MAX_PER_NUMBER"], window),
    ]
    if user_id:
        limits.append(Limit("user", ratelimit.key("otp-user", user_id), cfg["OTP_MAX_PER_USER"], window))
    if remote_addr:
        limits.append(Limit("address", ratelimit.key("otp-addr", remote_addr), cfg["OTP_MAX_PER_ADDRESS"], window))
    return limits


def take(phone, user_id, remote_addr):
    """Count one send a person asked for; returns a message for the page when a limit refuses it, else None."""
    try:
        ratelimit.take(_limits(phone, user_id, remote_addr))
    except LimitExceeded as exc:
        return MESSAGES[exc.limit.name].format(wait=ratelimit.wait_text(exc.wait))
    return None
