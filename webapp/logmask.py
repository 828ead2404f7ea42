"""Secrets out of log lines: the callback token travels in webhook paths (/callbacks/<provider>/<token>),
so every line that may print a path (gunicorn's access and error logs, the development server, Flask's
own "Exception on <path>") passes through ``mask`` first.
"""
import logging
import re

from gunicorn.glogging import Logger as _GunicornLogger

# The path segment after /callbacks/<provider>/ is the token (webapp.callbacks routes).
CALLBACK_PATH = re.compile(r"(/callbacks/[A-Za-z0-9_-]+/)([^/?#\s\"']+)")
MASK = "[token]"


def mask(text, secrets=()):
    text = CALLBACK_PATH.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class MaskFilter(logging.Filter):
    """Rewrites each record's final text (message and traceback) with the token masked."""

    def __init__(self, secrets=()):
        super().__init__()
        self.secrets = set(filter(None, secrets))

    def filter(self, record):
        record.msg = mask(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


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
