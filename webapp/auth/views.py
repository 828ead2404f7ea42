from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.auth import bp, known_browsers, sessions
from webapp.auth.service import BAD_CREDENTIALS, audit, audit_request, authenticate, complete_login, normalize_email


def _safe_next(target):
    # Only same-site relative paths: never an open redirect. Control characters would split the Location
    # header (a 500), and browsers read "\" as "/", so "/\evil.example" would leave the site.
    target = target or ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        user, error = authenticate(email, request.form.get("password", ""), request.remote_addr or "",
                                   known_browsers.identity(normalize_email(email)))
        if user and user.two_factor:
            return _second_factor(user)
        if user:
            complete_login(user, request.remote_addr or "")
            sessions.sign_in(user, bool(request.form.get("remember")), request.remote_addr or "")
            audit("login", user.email, user_id=user.id, remote_addr=request.remote_addr or "")
            return redirect(_safe_next(request.args.get("next")))
        # The e-mail as typed (cut to the column): an unknown address is a failed try worth seeing too.
        audit_request("login.failed", normalize_email(email)[:254], error)
    status = 200 if error is None else (401 if error == BAD_CREDENTIALS else 429)
    return render_template("auth/login.html", error=error, email=email), status


def _second_factor(user):
    """Password accepted, but no session yet: the code step (webapp.otp.twofactor) signs the user in."""
    from webapp.otp import twofactor

    try:
        twofactor.begin(user, bool(request.form.get("remember")), _safe_next(request.args.get("next")),
                        request.remote_addr or "")
    except twofactor.OtpError as exc:
        status = 429 if isinstance(exc, (twofactor.TooManyAttempts, twofactor.service.RateLimited)) else 403
        return render_template("auth/login.html", error=str(exc), email=user.email), status
    return redirect(url_for("twofactor.verify"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    sessions.sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/sessions/sign-out-others", methods=["POST"])
@login_required
def sign_out_others():
    """For a password typed on a shared computer or a lost laptop: every other browser, remembered or not,
    is signed out; this one stays."""
    count = sessions.revoke_others(current_user.id, current_user.session_key)
    audit("sessions.revoke_others", current_user.email, detail=str(count), user_id=current_user.id,
          remote_addr=request.remote_addr or "")
    flash(f"Signed out {count} other browser{'s' if count != 1 else ''}.", "success")
    return redirect(url_for("settings.index"), 303)
