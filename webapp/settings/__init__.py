import ipaddress
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, url_for

from webapp.auth.decorators import role_required
from webapp.settings import checks

bp = Blueprint("settings", __name__, url_prefix="/settings")

# What the Providers page shows of each provider's configuration: its base URL setting only, never secrets.
PROVIDERS = [
    ("citcall", "CitCALL (miscall OTP, SMS, SMS OTP)", "CITCALL_BASE_URL"),
    ("masking", "SMS masking HTTP API", "MASKING_BASE_URL"),
    ("airtel", "Airtel CCP click-to-call", "AIRTEL_BASE_URL"),
    ("oca", "OCA Telkom call gateway (IVR)", "OCA_BASE_URL"),
]


def unreachable_host(url):
    """The host of a callback URL that no provider on the internet can reach (loopback, private network or
    .local/localhost name), else None."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if not address.is_global else None


def callback_urls():
    """The webhook URLs to hand to each provider, carrying the secret token."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    token = current_app.config["CALLBACK_TOKEN"]

    def absolute(endpoint, **values):
        return base + url_for(endpoint, token=token, **values)

    return {
        "citcall": [("Miscall, SMS and SMS OTP callback (JSON POST)", absolute("callbacks.citcall"))],
        "masking": [("Callable API DLR (GET)", absolute("callbacks.masking"))],
        "airtel": [
            # Each call's request names its own URLs (this one plus "/<the call's reference>"), so a callback
            # without any id is still tied to its call; the domain is what Airtel must whitelist.
            ("callBackURLs eventType ALL (each call adds /<its reference>)",
             absolute("callbacks.airtel", kind="events")),
            ("callBackURLs eventType CDR (each call adds /<its reference>)", absolute("callbacks.airtel", kind="cdr")),
        ],
        "oca": [],
    }


@bp.route("/")
def index():
    from flask_login import current_user

    from webapp.auth.sessions import count_others

    return render_template("settings/index.html",
                           other_sessions=count_others(current_user.id, current_user.session_key))


@bp.route("/providers")
@role_required("supervisor")
def providers():
    rows = [
        {"name": name, "label": label, "base_url": current_app.config.get(setting, ""), "setting": setting}
        for name, label, setting in PROVIDERS
    ]
    return render_template(
        "settings/providers.html", providers=rows, callbacks=callback_urls(), sandbox=current_app.config["SANDBOX"],
        unreachable=unreachable_host(current_app.config["PUBLIC_BASE_URL"]),
    )


@bp.route("/providers/<name>/check", methods=["POST"])
@role_required("supervisor")
def check_provider(name):
    """Live "test connection": one harmless authenticated call to the provider, logged like any other; the
    page lists which facts its answer proved (webapp.settings.checks)."""
    from webapp.providers import REGISTRY, client_for
    from webapp.providers.base import CheckResult, ProviderError

    if name not in REGISTRY:
        abort(404)
    try:
        result = client_for(name).check()
    except ProviderError as exc:
        result = CheckResult(ok=False, summary=exc.message, details={"code": exc.code})
    return render_template("settings/_provider_check.html", p={"name": name}, result=result,
                           facts=checks.facts(name, result))


from webapp.settings import sender_id_views  # noqa: E402,F401  (routes register on import)
