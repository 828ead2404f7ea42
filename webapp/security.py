"""Login gate, hostile-input guards, security headers, error pages."""
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from peewee import DataError
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import logmask
from webapp.auth import sessions
from webapp.extensions import login_manager

# Endpoints reachable without a session: the sign-in pages, static files and provider webhooks.
PUBLIC_ENDPOINTS = {"auth.login", "twofactor.verify", "twofactor.resend_code", "static"}
PUBLIC_BLUEPRINTS = {"callbacks"}
# Webhooks keep their own rules: every body is stored raw, NUL bytes included (webapp.callbacks).
RAW_INPUT_BLUEPRINTS = {"callbacks"}
# No form field of this console needs more (the longest, an SMS text, is a few thousand characters).
MAX_FIELD_CHARS = 20_000
TOO_LONG_MESSAGE = "A value in this form is longer (or larger) than this console accepts. Shorten it and try again."
# Request body cap before sign-in: a login form is a few hundred bytes; nobody anonymous uploads anything.
ANONYMOUS_MAX_BYTES = 64 * 1024

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


class TrustedProxies:
    """werkzeug's ProxyFix for the TRUSTED_PROXIES reverse proxies in front of the app (read per request).

    The sign-in and OTP limits key on request.remote_addr: behind a proxy it must be the client's address,
    not the proxy's, and X-Forwarded-For is believed only for as many hops as there are trusted proxies.
    """

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._fixes = {}

    def __call__(self, environ, start_response):
        hops = int(self.app.config.get("TRUSTED_PROXIES") or 0)
        if hops <= 0:
            return self.wsgi_app(environ, start_response)
        if hops not in self._fixes:
            self._fixes[hops] = ProxyFix(self.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
        return self._fixes[hops](environ, start_response)


def init_app(app):
    from webapp.params import IdConverter

    # Before any blueprint registers its routes, so every <int:...> gets the database's range.
    app.url_map.converters["int"] = IdConverter
    app.wsgi_app = TrustedProxies(app, app.wsgi_app)
    # Flask logs "Exception on <path>": a failing webhook would print the callback token; a provider error's
    # traceback may quote a URL with credentials.
    logmask.protect_process(app.config)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    login_manager.user_loader(sessions.load)

    def cap_anonymous_bodies():
        """Before sign-in nobody uploads anything: a stranger's body is refused past ANONYMOUS_MAX_BYTES.
        Runs first of all (CSRF protection reads the form, so a later hook would come after the whole body
        was read under the signed-in cap)."""
        if request.blueprint in RAW_INPUT_BLUEPRINTS:
            return None
        if not current_user.is_authenticated:
            request.max_content_length = min(ANONYMOUS_MAX_BYTES, app.config["MAX_CONTENT_LENGTH"])
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, cap_anonymous_bodies)

    @app.before_request
    def refuse_hostile_input():
        """No text field of this console holds a NUL byte, and PostgreSQL refuses one in a query: answer
        400 at the door rather than 500 in whichever view meets it first. Over-long values get a 400 that
        says so, rather than whatever the first column too short for them would do."""
        if request.blueprint in RAW_INPUT_BLUEPRINTS:
            return None
        if "\x00" in request.path or _has_nul(request.args):
            abort(400)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if _has_nul(request.form):
                abort(400)
            if _longest(request.form) > MAX_FIELD_CHARS:
                return _error(400, "Too long", TOO_LONG_MESSAGE)
            _clean_file_names(request.files)
        return None

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

    @app.errorhandler(DataError)
    def value_too_long(_exc):
        # PostgreSQL refuses a value longer than its column or out of its type's range (SQLite stores it):
        # that is the form's fault, not the server's. Peewee runs in autocommit mode, so the refused
        # statement left no transaction open.
        return _error(400, "Too long", TOO_LONG_MESSAGE)

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


def _clean_file_names(files):
    """An upload's name is only a label (each upload is stored under a name of our own): control and other
    unprintable characters are dropped, so a NUL in a name cannot reach a column that refuses it."""
    for _field, storage in files.items(multi=True):
        if storage.filename:
            storage.filename = "".join(ch for ch in storage.filename if ch.isprintable())


def _longest(multidict):
    return max((len(value) for _key, value in multidict.items(multi=True)), default=0)


def _has_nul(multidict):
    # A multipart part whose name werkzeug cannot read (a line break in it) comes back named None.
    return any("\x00" in (key or "") or "\x00" in (value or "") for key, value in multidict.items(multi=True))


def _handler(status, title, message):
    def handle(_exc):
        return _error(status, title, message)

    return handle


def _error(status, title, message):
    if request.headers.get("HX-Request") == "true":
        return render_template("errors/_message.html", title=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status
