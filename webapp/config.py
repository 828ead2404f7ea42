"""Configuration contract (DESIGN.md): defaults, then instance/config.py, then env vars, then test_config."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

# Real provider endpoints; SANDBOX=1 swaps them for the local simulators.
PRODUCTION_URLS = {
    "CITCALL_BASE_URL": "http://104.199.196.122/gateway/v3",
    "MASKING_BASE_URL": "http://103.16.199.187/masking",
    "AIRTEL_BASE_URL": "https://iqtelephony.airtel.in/gateway/airtel-xchange",
    "OCA_BASE_URL": "https://call.ocatelkom.co.id/api/v1",
}
# Path of each simulator under the sandbox server.
SANDBOX_PATHS = {
    "CITCALL_BASE_URL": "/citcall/gateway/v3",
    "MASKING_BASE_URL": "/masking",
    "AIRTEL_BASE_URL": "/airtel",
    "OCA_BASE_URL": "/oca/api/v1",
}
# Credentials the simulators accept, so a sandboxed app works with no setup.
SANDBOX_CREDENTIALS = {
    "CITCALL_API_KEY": "sandbox-citcall-key",
    "MASKING_USERNAME": "sandbox",
    "MASKING_PASSWORD": "sandbox-masking-pass",
    "AIRTEL_USERNAME": "sandbox",
    "AIRTEL_PASSWORD": "sandbox-airtel-pass",
    "AIRTEL_CUSTOMER_ID": "SANDBOX_CUSTOMER",
    "AIRTEL_CALL_FLOW_ID": "SANDBOX_FLOW",
    "AIRTEL_CALLER_ID": "8048248411",
    "OCA_USERNAME": "sandbox@example.com",
    "OCA_PASSWORD": "sandbox-oca-pass",
}

ENV_NAMES = [
    "SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL", "CALLBACK_TOKEN", "SANDBOX", "SANDBOX_URL",
    *PRODUCTION_URLS, *SANDBOX_CREDENTIALS,
    "OCA_MAX_CONCURRENT_CALLS", "SMS_RATE_PER_SECOND", "PASSWORD_HASH_PROFILE", "UPLOAD_MAX_MB", "IMPORT_MAX_MB",
    "TRUSTED_PROXIES", "LOGIN_MAX_FAILURES", "LOGIN_WINDOW_SECONDS", "LOGIN_ACCOUNT_CEILING", "LOGIN_SLOW_SECONDS",
    "OTP_MIN_INTERVAL_SECONDS", "OTP_MAX_PER_NUMBER", "OTP_MAX_PER_USER", "OTP_MAX_PER_ADDRESS", "OTP_WINDOW_SECONDS",
    "BRAKE_WINDOW", "BRAKE_FAILURE_RATE", "UNKNOWN_ADOPT_HOURS", "CALLBACK_APPLY", "CALLBACK_MAX_BYTES",
    "IMPORT_MAX_COLUMNS", "PHONE_COUNTRIES", "API_RATE_LIMIT", "PROVIDER_LOG_RETENTION_DAYS", "CALLBACK_RETENTION_DAYS",
]
INT_NAMES = {"OCA_MAX_CONCURRENT_CALLS", "UPLOAD_MAX_MB", "IMPORT_MAX_MB", "TRUSTED_PROXIES", "LOGIN_MAX_FAILURES",
             "LOGIN_WINDOW_SECONDS", "LOGIN_ACCOUNT_CEILING", "LOGIN_SLOW_SECONDS", "OTP_MIN_INTERVAL_SECONDS",
             "OTP_MAX_PER_NUMBER", "OTP_MAX_PER_USER", "OTP_MAX_PER_ADDRESS", "OTP_WINDOW_SECONDS", "BRAKE_WINDOW",
             "UNKNOWN_ADOPT_HOURS", "CALLBACK_MAX_BYTES", "IMPORT_MAX_COLUMNS",
             "API_RATE_LIMIT", "PROVIDER_LOG_RETENTION_DAYS", "CALLBACK_RETENTION_DAYS"}
FLOAT_NAMES = {"SMS_RATE_PER_SECOND", "BRAKE_FAILURE_RATE"}
BOOL_NAMES = {"SANDBOX"}


def defaults(instance_path):
    return {
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'app.db'}",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "SANDBOX": False,
        "SANDBOX_URL": "http://127.0.0.1:5055",
        "OCA_MAX_CONCURRENT_CALLS": 10,
        "SMS_RATE_PER_SECOND": 50.0,
        # Tariffs for the compose page's cost estimate (IDR per SMS segment) and the low-balance alert.
        "SMS_PRICE_MASKING": 350.0,
        "SMS_PRICE_CITCALL": 300.0,
        "MASKING_LOW_BALANCE": 50000.0,
        # Safety brake: a campaign pauses when more than this share of its last BRAKE_WINDOW outcomes failed.
        "BRAKE_WINDOW": 20,
        "BRAKE_FAILURE_RATE": 0.5,
        # Requests per minute one API token may make (counted in the database, across every process).
        "API_RATE_LIMIT": 120,
        # An `unknown` send adopts a callback naming its number only if its request started this many hours
        # before the callback came (a DLR for a pending SMS can come a day late; wider makes ties likelier).
        "UNKNOWN_ADOPT_HOURS": 24,
        # Callbacks: "worker" stores in the web and applies in the worker (apply_received, every second);
        # "inline" applies in the web request right after storing. Bodies over the cap answer 413.
        "CALLBACK_APPLY": "worker",
        "CALLBACK_MAX_BYTES": 256 * 1024,
        # Days provider exchanges and raw callbacks are kept (0: forever); a scheduled job deletes older ones.
        "PROVIDER_LOG_RETENTION_DAYS": 90,
        "CALLBACK_RETENTION_DAYS": 90,
        "UPLOAD_MAX_MB": 10,
        "IMPORT_MAX_MB": 20,
        # A CSV row (the header first) with more columns is refused before it is split into cells.
        "IMPORT_MAX_COLUMNS": 200,
        # Countries (ISO codes) whose numbers an import accepts: those the providers can message or call.
        "PHONE_COUNTRIES": "ID,IN",
        # "default" is argon2id RFC 9106 low-memory; "fast" exists only to keep the test suite quick.
        "PASSWORD_HASH_PROFILE": "default",
        # A console left open for hours must not start failing CSRF checks.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        # None: follow PUBLIC_BASE_URL (Secure when it is https); True/False to force.
        "SESSION_COOKIE_SECURE": None,
        "REMEMBER_COOKIE_SECURE": None,
        # None: derived from UPLOAD_MAX_MB/IMPORT_MAX_MB in finalize().
        "MAX_CONTENT_LENGTH": None,
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (0: none).
        "TRUSTED_PROXIES": 0,
        # Sign-in throttle (webapp.auth.throttle): failures per account and address in the window; past the
        # account-wide ceiling (all addresses together) the account is slowed to one try per LOGIN_SLOW_SECONDS.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_SECONDS": 900,
        "LOGIN_ACCOUNT_CEILING": 50,
        "LOGIN_SLOW_SECONDS": 10,
        # OTP sends (webapp.otp.limits): one per number every OTP_MIN_INTERVAL_SECONDS, and per window at most
        # OTP_MAX_PER_NUMBER to one number, OTP_MAX_PER_USER by one user, OTP_MAX_PER_ADDRESS from one address.
        "OTP_MIN_INTERVAL_SECONDS": 15,
        "OTP_MAX_PER_NUMBER": 6,
        "OTP_MAX_PER_USER": 40,
        "OTP_MAX_PER_ADDRESS": 60,
        "OTP_WINDOW_SECONDS": 900,
        **PRODUCTION_URLS,
    }


def _coerce(name, value):
    if name in INT_NAMES:
        return int(value)
    if name in FLOAT_NAMES:
        return float(value)
    if name in BOOL_NAMES:
        return str(value).lower() in ("1", "true", "yes", "on")
    return value


def load_env(app):
    for name in ENV_NAMES:
        if name in os.environ:
            app.config[name] = _coerce(name, os.environ[name])


def _persisted_secret(instance_path, filename):
    """A secret generated once into instance/ so restarts keep sessions and callback URLs valid."""
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def finalize(app):
    """Fill generated secrets and sandbox endpoints after every source has been applied."""
    cfg = app.config
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = _persisted_secret(app.instance_path, "secret_key")
    if not cfg.get("CALLBACK_TOKEN"):
        cfg["CALLBACK_TOKEN"] = _persisted_secret(app.instance_path, "callback_token")
    cfg["SANDBOX"] = _coerce("SANDBOX", cfg.get("SANDBOX", False))
    if cfg["CALLBACK_APPLY"] not in ("worker", "inline"):
        raise ValueError(f"CALLBACK_APPLY must be worker or inline, not {cfg['CALLBACK_APPLY']!r}")
    if cfg["SANDBOX"]:
        base = cfg["SANDBOX_URL"].rstrip("/")
        for name, path in SANDBOX_PATHS.items():
            if cfg.get(name) in (None, PRODUCTION_URLS[name]):
                cfg[name] = base + path
        for name, value in SANDBOX_CREDENTIALS.items():
            cfg.setdefault(name, value)
    # Flask and flask-login define these keys (False, None), so setdefault would never change them: "not set
    # by anyone" is None in defaults(), resolved here.
    https = cfg["PUBLIC_BASE_URL"].startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if cfg.get(name) is None:
            cfg[name] = https
    # The hard request cap; each upload kind (audio, CSV) applies its own smaller limit with a clear message.
    if cfg.get("MAX_CONTENT_LENGTH") is None:
        largest_mb = max(int(cfg["UPLOAD_MAX_MB"]), int(cfg["IMPORT_MAX_MB"]))
        cfg["MAX_CONTENT_LENGTH"] = largest_mb * 1024 * 1024 + 65536
