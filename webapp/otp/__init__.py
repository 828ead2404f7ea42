"""OTP by CitCALL missed call or SMS: staff verify a person's number, and staff sign in with two factors."""
from flask import Blueprint

bp = Blueprint("otp", __name__, url_prefix="/otp")
# The code step of a two-factor sign-in lives beside /login and runs before any session exists.
login_bp = Blueprint("twofactor", __name__, url_prefix="/login")


def init_app(app):
    from webapp.contacts.timeline import TIMELINE_SOURCES
    from webapp.dispatch.registry import Sender, on_update, register_sender
    from webapp.otp import service

    # One transport try: a person is waiting, and a code that turns up minutes later only confuses them.
    register_sender(Sender(kind=service.SEND_KINDS["miscall"], provider="citcall", send=service.send_miscall,
                           max_tries=1))
    register_sender(Sender(kind=service.SEND_KINDS["sms"], provider="citcall", send=service.send_sms, max_tries=1))
    for kind in service.SEND_KINDS.values():
        on_update(kind, service.on_send_update)
    if service.otp_timeline not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(service.otp_timeline)


from webapp.otp import twofactor, views  # noqa: E402,F401  (routes register on import)
