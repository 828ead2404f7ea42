"""Provider webhooks: no session, CSRF-exempt, a secret token in the path.

Every request is stored raw first (deduplicated on a key derived from its content) and answered 2xx quickly;
the worker applies it (or the web right away, CALLBACK_APPLY=inline). Bad input is answered 400 (413 over
CALLBACK_MAX_BYTES) and still stored or at least recorded; never a 5xx.
"""
import hmac

from flask import Blueprint, abort, current_app, request

from webapp.callbacks import ingest
from webapp.extensions import csrf

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")
csrf.exempt(bp)


@bp.before_request
def check_token():
    token = (request.view_args or {}).get("token", "")
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500 for /callbacks/x/é).
    if not hmac.compare_digest(str(token).encode(), current_app.config["CALLBACK_TOKEN"].encode()):
        abort(404)


@bp.route("/citcall/<token>", methods=["POST"])
def citcall(token):
    return ingest.receive("citcall", "")


@bp.route("/masking/<token>", methods=["GET", "POST"])
def masking(token):
    return ingest.receive("masking", "dlr")


@bp.route("/airtel/<token>/<any(events, cdr):kind>", methods=["POST"])
@bp.route("/airtel/<token>/<any(events, cdr):kind>/<string(maxlength=24):ref>", methods=["POST"])
def airtel(token, kind, ref=""):
    # The call's own reference travels in the stored kind ("events/<ref>"): kept for replays, and part of the
    # dedupe key, so two calls' identical id-less events stay two events.
    return ingest.receive("airtel", f"{kind}/{ref}" if ref else kind)


def _register_handlers():
    from webapp.dispatch.updates import provider_callback_check, provider_callback_handler

    for provider in ("citcall", "masking", "airtel"):
        ingest.register(provider, provider_callback_handler(provider), provider_callback_check(provider))


_register_handlers()
