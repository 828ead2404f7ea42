"""The REST API (/api/v1, bearer tokens, JSON), its OpenAPI document and docs page, and the pages around it:
API tokens in Settings, outgoing webhooks, and the click-to-call link other tools open (/calls/new).

API requests carry no session and no CSRF token: a bearer token is the only credential they accept, so a
browser's cookies can never drive the API (and a token can never open a page).
"""
from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException, default_exceptions

from webapp.api.errors import ApiError, error_response

bp = Blueprint("api", __name__, url_prefix="/api")
pages_bp = Blueprint("api_pages", __name__)

API_PREFIX = "/api/v1/"
# Answered without a token: the document describes the API, it holds no data.
PUBLIC_ENDPOINTS = {"api.openapi"}
RATE_WINDOW_SECONDS = 60


def _unauthorized(message):
    return error_response(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def token_gate():
    """Runs before every other before_request hook: an /api/v1 request is signed in by its bearer token
    alone (the session cookie is never read for it), then counted against the token's rate limit."""
    if not request.path.startswith(API_PREFIX):
        return None
    from webapp import ratelimit
    from webapp.api import tokens
    from webapp.extensions import db

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("Send Authorization: Bearer <token> (create one in Settings > API tokens).")
    db.connect(reuse_if_open=True)
    found = tokens.authenticate(token.strip())
    if found is None:
        return _unauthorized("This token is unknown, revoked or expired, or its user is deactivated.")
    row, user = found
    # flask-login reads the request's user from g._login_user first: the token's user, never a cookie's.
    g._login_user = user
    limit = ratelimit.Limit("api token", ratelimit.key("api", row.id), current_app.config["API_RATE_LIMIT"],
                            RATE_WINDOW_SECONDS)
    try:
        ratelimit.take([limit])
    except ratelimit.LimitExceeded as exc:
        return error_response(429, "rate_limited", f"Too many requests for this token: retry in {exc.wait} s.",
                              headers={"Retry-After": str(exc.wait)})
    return None


def _json_http_error(exc):
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name)


def _api_or(original):
    """An error under /api answers JSON, wherever it was raised (routing, a before_request guard, a view)."""

    def handle(exc):
        if request.path.startswith("/api/") and isinstance(exc, HTTPException):
            return _json_http_error(exc)
        return original(exc) if original else exc

    return handle


bp.register_error_handler(ApiError, lambda exc: exc.response())
bp.register_error_handler(HTTPException, _json_http_error)


def init_app(app):
    from webapp import security
    from webapp.api import cli, idempotency, webhook_events
    from webapp.extensions import csrf
    from webapp.scheduler import register_job

    csrf.exempt(bp)
    security.PUBLIC_ENDPOINTS.update(PUBLIC_ENDPOINTS)
    app.before_request_funcs.setdefault(None, []).insert(0, token_gate)
    # Code-specific app handlers (HTML error pages) are found before a blueprint's generic one, and routing
    # errors belong to no blueprint: each is wrapped to answer JSON under /api.
    for status in (400, 403, 404, 405, 413, 500):
        exception = default_exceptions[status]
        original = app.error_handler_spec.get(None, {}).get(status, {}).get(exception)
        app.register_error_handler(status, _api_or(original))
    app.register_blueprint(bp)
    app.register_blueprint(pages_bp)
    cli.init_app(app)
    webhook_events.init_app(app)
    register_job("api-idempotency-prune", lambda _app: idempotency.prune(), seconds=3600)


from webapp.api import (  # noqa: E402,F401  (routes register on import)
    call_link,
    openapi,
    token_views,
    v1_campaigns,
    v1_contacts,
    v1_imports,
    v1_messaging,
    webhook_views,
)
