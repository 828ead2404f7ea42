"""Secrets out of log lines: the callback token travels in webhook paths (/callbacks/<provider>/<token>),
so every line that may print a path (gunicorn's access and error logs, the development server, Flask's
own "Exception on <path>") passes through ``mask`` first; and every record made in a process that runs the
app (web or worker, any logger, tracebacks included) has the configured secrets replaced (``protect_process``).
"""
import logging
import re

from gunicorn.glogging import Logger as _GunicornLogger

# The path segment after /callbacks/<provider>/ is the token (webapp.callbacks routes).
CALLBACK_PATH = re.compile(r"(/callbacks/[A-Za-z0-9_-]+/)([^/?#\s\"']+)")
MASK = "[token]"
# Settings whose values never belong in a log line: a provider error's traceback may quote the request URL,
# and the masking API carries its password in the query string.
SECRET_SETTINGS = ("SECRET_KEY", "CALLBACK_TOKEN", "CITCALL_API_KEY", "MASKING_PASSWORD", "AIRTEL_PASSWORD",
                   "OCA_PASSWORD")
# Shorter values would mask ordinary words (a sandbox password like "x" is no secret worth a garbled log).
MIN_SECRET_LENGTH = 6
_PROCESS_SECRETS = set()


def mask(text, secrets=()):
    text = CALLBACK_PATH.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _mask_record(record, secrets):
    """The record's final text (message and traceback) with the token and secrets masked."""
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        # A format string that does not match its arguments: logging itself would only print a complaint,
        # so the caller must not fail here either.
        text = f"{record.msg} {record.args!r}"
    record.msg = mask(text, secrets)
    record.args = None
    if record.exc_info:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info), secrets)
        record.exc_info = None
    return record


class MaskFilter(logging.Filter):
    """Rewrites each record of one logger (gunicorn's own, which exist before the app does)."""

    def __init__(self, secrets=()):
        super().__init__()
        self.secrets = set(filter(None, secrets))

    def filter(self, record):
        _mask_record(record, self.secrets)
        return True


def protect_process(config):
    """Mask the token and the SECRET_SETTINGS of ``config`` in every log record this process makes.

    A filter on one logger misses records of its children ("webapp.campaigns.sms" propagates to the handlers
    of "webapp" without passing the filters of "webapp"), and a handler filter misses handlers added later
    (the worker's basicConfig). The record factory sees every record, and only those a logger will emit."""
    _PROCESS_SECRETS.update(str(config[name]) for name in SECRET_SETTINGS
                            if config.get(name) and len(str(config[name])) >= MIN_SECRET_LENGTH)
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_secrets", False):
        return

    def factory(*args, **kwargs):
        return _mask_record(current(*args, **kwargs), _PROCESS_SECRETS)

    factory.masks_secrets = True
    logging.setLogRecordFactory(factory)


def install(logger, secrets=()):
    """Add (once) a MaskFilter to ``logger``, adding these secrets to the one already there."""
    for existing in logger.filters:
        if isinstance(existing, MaskFilter):
            existing.secrets.update(filter(None, secrets))
            return existing
    masking = MaskFilter(secrets)
    logger.addFilter(masking)
    return masking


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with callback tokens masked in access lines and error messages
    (gunicorn logs "Error handling request <path>" with the raw path)."""

    def setup(self, cfg):
        super().setup(cfg)
        import os

        token = os.environ.get("CALLBACK_TOKEN", "")
        install(self.error_log, [token])
        install(self.access_log, [token])
