"""Login gate, security headers, error pages."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from webapp.extensions import login_manager
from webapp.models import User

# Endpoints reachable without a session: the sign-in pages, static files and provider webhooks.
PUBLIC_ENDPOINTS = {"auth.login", "twofactor.verify", "twofactor.resend_code", "static"}
PUBLIC_BLUEPRINTS = {"callbacks"}

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    # Call recordings and OCA audio are played from the provider's own storage.
    "media-src 'self' https: http:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id):
        user_id, _, version = session_id.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = User.get_or_none(User.id == int(user_id))
        if user is None or user.session_version != int(version) or not user.active:
            return None
        return user

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in PUBLIC_BLUEPRINTS:
            return None
        if request.endpoint is None or current_user.is_authenticated:
            return None
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the login page into a fragment; make the browser navigate instead.
            return "", 401, {"HX-Redirect": login_url}
        return redirect(login_url)

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.vary.add("HX-Request")
        if current_user.is_authenticated and "Cache-Control" not in response.headers:
            # Pages show phone numbers and OTP outcomes: keep them out of shared and back-button caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = "This form has expired or was not sent from this console. Reload the page and try again."
        return _error(400, "Request refused", message)

    for status, title, message in (
        (400, "Bad request", "The request could not be understood."),
        (403, "Not allowed", "Your role does not allow this action."),
        (404, "Not found", "There is nothing at this address."),
        (405, "Not allowed", "This address does not accept that method."),
        (413, "Too large", "The upload is larger than this console accepts."),
        (500, "Something went wrong", "The error has been logged. Try again, or contact an administrator."),
    ):
        app.register_error_handler(status, _handler(status, title, message))


def _handler(status, title, message):
    def handle(_exc):
        return _error(status, title, message)

    return handle


def _error(status, title, message):
    if request.headers.get("HX-Request") == "true":
        return render_template("errors/_message.html", title=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status
