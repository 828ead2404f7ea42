"""What every provider client shares: HTTP with timeouts and connection reuse, errors, channel logging.

A client never touches the database. It reports each HTTP exchange to a ``log_sink`` callable (the app's
sink writes a ChannelLog row linked to the current send), with every credential value redacted first.
"""
import base64
import contextlib
import contextvars
import json
import re
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import quote, quote_plus

import requests

# (connect, read) seconds. A connect failure proves nothing was accepted; a read timeout proves nothing.
DEFAULT_TIMEOUT = (3.05, 20)
REDACTED = "***"
# The send a request serves, set by the dispatcher around each send so channel logs link to it.
current_send_id = contextvars.ContextVar("current_send_id", default=None)
# A list the dispatcher sets around each send; every request appends its operation before it leaves, so a
# send that failed on a database outage is known to have made no request (safe to queue again) or some.
requests_made = contextvars.ContextVar("requests_made", default=None)


@contextlib.contextmanager
def serving(send_id):
    """Link the exchanges made inside to a send: polls (call status, report) as well as the send itself."""
    token = current_send_id.set(send_id)
    try:
        yield
    finally:
        current_send_id.reset(token)


class ProviderError(Exception):
    """A provider call that did not succeed.

    code: the provider's own code when it gave one (CitCALL rc, OCA code, Airtel errorCode, masking text),
          else one of: config, connection_failed, timeout, bad_status, unparseable.
    retryable: True only when the request certainly was not accepted, so sending again cannot duplicate.
    """

    def __init__(self, code, message, retryable=False, http_status=None, raw=None):
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.raw = raw

    @property
    def outcome_known(self):
        """False when the provider may have accepted the request (timeouts, 5xx): the send becomes unknown."""
        return self.code not in ("timeout", "bad_status", "unparseable") or self.retryable


@dataclass
class Exchange:
    provider: str
    operation: str
    method: str
    url: str
    request_headers: dict
    request_body: str
    status_code: int | None = None
    response_body: str = ""
    duration_ms: int = 0
    error: str = ""
    send_id: int | None = None

    def as_dict(self):
        return asdict(self)


class CallbackInvalid(ValueError):
    """A callback body the provider module cannot use (answered 400, still stored)."""


# Normalized send states a provider update can move a send to (see webapp/dispatch/states.py).
UPDATE_STATES = ("submitted", "delivered", "failed", "undeliverable")


@dataclass
class StatusUpdate:
    """One normalized fact from a callback or a polled report, applied idempotently to the send.

    reference: the provider's id for the send (CitCALL trxid, masking message id, Airtel correlationId,
               OCA call_id). state: the send state it proves, or None for a purely informational event
               (e.g. an Airtel "Ringing"). details: provider fields worth keeping (durations, recording URL,
               dial status, IVR results...).
    """

    reference: str
    state: str | None
    provider_status: str = ""
    error_code: str = ""
    error_text: str = ""
    price: float | None = None
    currency: str = ""
    kind: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class CheckResult:
    """Outcome of a provider's live "test connection"."""

    ok: bool
    summary: str
    details: dict = field(default_factory=dict)


def basic_auth_header(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Redactor:
    """Replaces each secret in its plain, URL-encoded and Basic-auth forms."""

    def __init__(self, secrets, basic_pairs=()):
        forms = set()
        for secret in secrets:
            if secret:
                forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
        for user, password in basic_pairs:
            if user or password:
                forms.add(base64.b64encode(f"{user}:{password}".encode()).decode())
        # Longest first so a secret containing another is replaced whole.
        self.forms = sorted((f for f in forms if len(f) >= 3), key=len, reverse=True)

    def __call__(self, text):
        if not text:
            return text or ""
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text


class BaseClient:
    """One instance per configuration; holds a requests.Session for connection reuse."""

    name = ""
    # How often a request that failed to connect is tried again before giving up (nothing was sent).
    connect_retries = 1

    def __init__(self, base_url, *, timeout=DEFAULT_TIMEOUT, log_sink=None, secrets=(), basic_pairs=(), session=None):
        if not base_url:
            raise ProviderError("config", f"{self.name}: base URL is not configured")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.log_sink = log_sink
        self.redact = Redactor(secrets, basic_pairs)
        self.session = session or requests.Session()
        # Resolve environment proxies once per client: requests otherwise re-reads the environment on
        # every call, which costs more than a loopback request itself.
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        self.session.trust_env = False

    def url(self, path):
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, operation, method, path, redact_keys=(), **kwargs):
        """Send one request and log it; raises ProviderError(connection_failed|timeout) on transport errors.

        redact_keys: JSON keys whose values the channel log must not keep (one-time codes), in both bodies.
        """
        url = self.url(path)
        prepared = self.session.prepare_request(requests.Request(method, url, **kwargs))
        attempt = 0
        while True:
            started = time.monotonic()
            exchange = Exchange(
                provider=self.name, operation=operation, method=method,
                url=self.redact(prepared.url), request_headers=self._headers(prepared.headers),
                request_body=redact_json_values(self.redact(_body_text(prepared.body)), redact_keys),
                send_id=current_send_id.get(),
            )
            made = requests_made.get()
            if made is not None:
                made.append(operation)
            try:
                response = self.session.send(prepared, timeout=self.timeout)
            except requests.ConnectionError as exc:
                # ConnectTimeout is a ConnectionError too; a ReadTimeout is not (handled below).
                exchange.error = f"connection failed: {type(exc).__name__}"
                self._log(exchange, started)
                if _is_read_side(exc):
                    raise ProviderError("timeout", "the connection dropped after the request was sent") from exc
                if attempt < self.connect_retries:
                    attempt += 1
                    time.sleep(0.2 * attempt)
                    continue
                raise ProviderError("connection_failed", f"could not connect to {self.name}", retryable=True) from exc
            except requests.Timeout as exc:
                exchange.error = "read timeout"
                self._log(exchange, started)
                raise ProviderError("timeout", f"{self.name} did not answer in time") from exc
            exchange.status_code = response.status_code
            exchange.response_body = redact_json_values(self.redact(response.text[:20000]), redact_keys)
            self._log(exchange, started)
            return response

    def _headers(self, headers):
        return {k: (REDACTED if k.lower() == "authorization" else self.redact(v)) for k, v in headers.items()}

    def _log(self, exchange, started):
        exchange.duration_ms = int((time.monotonic() - started) * 1000)
        if self.log_sink is not None:
            self.log_sink(exchange)

    def json_body(self, response):
        try:
            return response.json()
        except ValueError:
            pass
        try:
            # A raw line break inside a string is not JSON, yet CitCALL's own sample refusal has one
            # ("info":" Authorization<newline>failed"): read such bodies leniently rather than as garbage.
            return json.loads(response.text, strict=False)
        except ValueError as exc:
            raise ProviderError(
                "unparseable", f"{self.name} answered HTTP {response.status_code} with a body that is not JSON",
                http_status=response.status_code, raw=response.text[:500],
            ) from exc

    def check(self):
        """Live "test connection": a harmless authenticated call. Each provider implements it."""
        raise NotImplementedError


def redact_json_values(text, keys):
    """Replace the string or number value of each of these keys in JSON text, at any depth. Works on the
    text itself, so a truncated or otherwise unparseable body is still redacted and the rest kept as sent."""
    if not keys or not text:
        return text
    names = "|".join(re.escape(key) for key in keys)
    return re.sub(rf'("(?:{names})"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)', rf'\1"{REDACTED}"', text)


def _body_text(body):
    if body is None:
        return ""
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes>"
    return str(body)


def _is_read_side(exc):
    # requests wraps "connection reset/aborted after sending" as ConnectionError(ProtocolError).
    text = repr(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text or "ProtocolError" in text


def dumps(data):
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
