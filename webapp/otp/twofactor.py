"""Two-factor sign-in for staff: after the password, a missed call to the user's phone (SMS OTP as fallback).

Until the code verifies, the session holds only a pending marker (user id, session version, expiry, the
OTP request), never a login. Wrong codes are capped three ways: CitCALL's limit_try per code, a count per
user over the sign-in window kept in the database (a replayed session cookie cannot reset it), and the
sign-in throttle of the password step (webapp.auth.throttle), which every wrong code feeds.
"""
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for

from webapp.auth import known_browsers, sessions, throttle
from webapp.auth.service import audit, complete_login
from webapp.live import render_live
from webapp.models import LoginAttempt, OtpAttempt, OtpRequest, User, utcnow
from webapp.otp import login_bp, service
from webapp.otp.service import OtpError

# Session key of the sign-in waiting for its code.
PENDING_KEY = "two_factor"
# How long the code step stays open after the password step.
PENDING_SECONDS = 600
# CitCALL settings of sign-in codes.
VALID_TIME, LIMIT_TRY = 300, 3
# Wrong codes, and codes sent, per user within LOGIN_WINDOW_SECONDS before the code step closes.
MAX_WRONG_CODES = 5
MAX_CODES_SENT = 6


class TooManyAttempts(OtpError):  # noqa: N818 (an outcome the page shows, like OtpError)
    """The code step is closed for now; the user starts again at the password once the window has passed."""


def _window_start():
    return utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def _login_attempts(user, action, outcome=None):
    query = (OtpAttempt.select().join(OtpRequest)
             .where((OtpRequest.user_id == user.id) & (OtpRequest.purpose == "login") & (OtpAttempt.action == action)
                    & (OtpAttempt.created_at > _window_start())))
    return query.where(OtpAttempt.outcome == outcome).count() if outcome else query.count()


def _check_sends(user):
    if _login_attempts(user, "send") >= MAX_CODES_SENT:
        raise TooManyAttempts("Too many codes were sent to your phone. Try again later.")


def begin(user, remember, next_url, remote_addr):
    """After a correct password: send the first code and park the sign-in in the session. Returns the request."""
    if not user.phone:
        raise OtpError("Two-factor sign-in is on for this account, but it has no phone number. "
                       "Ask an admin to reset two-factor sign-in.")
    _check_sends(user)
    otp = service.start(user.phone, "miscall", purpose="login", user_id=user.id, valid_time=VALID_TIME,
                        limit_try=LIMIT_TRY, remote_addr=remote_addr)
    session[PENDING_KEY] = {
        "user": user.id, "version": user.session_version, "otp": otp.id, "remember": bool(remember),
        "next": next_url, "expires": (utcnow() + timedelta(seconds=PENDING_SECONDS)).isoformat(),
    }
    return otp


def pending():
    """(user, otp, marker) of the sign-in waiting for its code; None when absent, expired or outdated."""
    marker = session.get(PENDING_KEY)
    if not isinstance(marker, dict):
        return None
    try:
        expired = utcnow() >= datetime.fromisoformat(marker["expires"])
    except (KeyError, TypeError, ValueError):
        expired = True
    user = None if expired else User.get_or_none(User.id == marker.get("user"))
    # A password change, deactivation or 2FA reset since the password step voids the pending sign-in.
    if user is None or not user.active or not user.two_factor or user.session_version != marker.get("version"):
        session.pop(PENDING_KEY, None)
        return None
    otp = OtpRequest.get_or_none((OtpRequest.id == marker.get("otp")) & (OtpRequest.user_id == user.id)
                                 & (OtpRequest.purpose == "login"))
    if otp is None:
        session.pop(PENDING_KEY, None)
        return None
    return user, otp, marker


def check(user, otp, code, remote_addr, browser=None):
    """Verify a sign-in code within every cap; raises TooManyAttempts when the step must close."""
    if _login_attempts(user, "verify", "wrong") >= MAX_WRONG_CODES:
        raise TooManyAttempts("Too many wrong codes. Try again later.")
    try:
        reservation = throttle.reserve(user.email, remote_addr, browser)
    except throttle.Throttled as exc:
        raise TooManyAttempts(str(exc)) from None
    try:
        result = service.verify(otp, code, user_id=user.id, remote_addr=remote_addr)
    except OtpError:
        throttle.release(reservation)
        raise
    if result.outcome != "wrong":
        throttle.release(reservation)
        return result
    LoginAttempt.create(email=user.email, remote_addr=remote_addr)
    if _login_attempts(user, "verify", "wrong") >= MAX_WRONG_CODES:
        raise TooManyAttempts("Too many wrong codes. Try again later.")
    return result


def resend(user, otp, method, remote_addr):
    _check_sends(user)
    return service.resend(otp, method, user_id=user.id, remote_addr=remote_addr)


def begin_enrolment(user, remote_addr):
    """Turning two-factor on: a missed call to the user's phone; the verified code switches it on."""
    if user.two_factor:
        raise OtpError("Two-factor sign-in is already on.")
    if not user.phone:
        raise OtpError("Your account has no phone number: ask an admin to add it first.")
    return service.start(user.phone, "miscall", purpose="enroll", user_id=user.id, valid_time=VALID_TIME,
                         limit_try=LIMIT_TRY, remote_addr=remote_addr)


# --- the code step ------------------------------------------------------------------------------------------

def _masked(phone):
    return f"•••{phone[-3:]}" if phone else ""


def _page(user, otp, error=None, status=200):
    context = {"otp": otp, "progress": service.progress(otp), "error": error, "phone": _masked(user.phone),
               "status_url": url_for("twofactor.verify"), "advice": service.SIGNAL_ADVICE, "masked": True}
    if request.method == "GET" and status == 200:
        return render_live("otp/login_verify.html", "otp/_status.html", context["progress"].live, **context)
    return render_template("otp/login_verify.html", **context), status


def _restart(message, category="error"):
    session.pop(PENDING_KEY, None)
    flash(message, category)
    if request.htmx:
        return "", 204, {"HX-Redirect": url_for("auth.login")}
    return redirect(url_for("auth.login"))


@login_bp.route("/verify", methods=["GET", "POST"])
def verify():
    found = pending()
    if found is None:
        return _restart("Your sign-in expired. Sign in again.", "info")
    user, otp, marker = found
    if request.method == "GET":
        return _page(user, otp)
    addr = request.remote_addr or ""
    try:
        result = check(user, otp, request.form.get("code", ""), addr, known_browsers.identity(user.email))
    except TooManyAttempts as exc:
        return _restart(str(exc))
    except OtpError as exc:
        return _page(user, OtpRequest.get_by_id(otp.id), str(exc), 422)
    if not result.ok:
        return _page(user, OtpRequest.get_by_id(otp.id), result.message, 401)
    session.pop(PENDING_KEY, None)
    sessions.sign_in(user, marker.get("remember", False), addr)
    audit("login", user.email, "two-factor", user_id=user.id, remote_addr=addr)
    complete_login(user, addr)
    return redirect(marker.get("next") or url_for("dashboard.index"))


@login_bp.route("/verify/resend", methods=["POST"])
def resend_code():
    found = pending()
    if found is None:
        return _restart("Your sign-in expired. Sign in again.", "info")
    user, otp, _marker = found
    try:
        otp = resend(user, otp, request.form.get("method"), request.remote_addr or "")
    except TooManyAttempts as exc:
        return _restart(str(exc))
    except OtpError as exc:
        return _page(user, otp, str(exc), 422)
    return redirect(url_for("twofactor.verify"), 303)
