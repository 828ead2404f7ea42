"""Callback bodies as the database keeps them and as handlers read them: any bytes stored without loss,
parsing bounded (JSON depth), and no NUL or lone surrogate in any text derived from them."""
import base64
import json
import re
from urllib.parse import parse_qsl

# No provider nests its callbacks more than three levels; far beyond that is an attack on the parser.
MAX_JSON_DEPTH = 32


class ParseLimit(ValueError):
    """A body beyond what the parser accepts (depth): stored as failed, answered 400, never retried."""


def safe_text(text):
    """Text any database stores: NUL and lone surrogates (from a JSON \\u0000 or \\ud800) replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _safe_values(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): _safe_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_values(v) for v in value]
    return value


_ESCAPES = re.compile(rb"\\.", re.S)
_STRINGS = re.compile(rb'"[^"]*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(raw, limit=MAX_JSON_DEPTH):
    """True when brackets outside strings nest deeper than ``limit``. Linear: escapes go first, so a string is
    then simply quote to quote, and the scan stops at the first level too deep."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", _ESCAPES.sub(b"", raw))):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _first_values(pairs):
    values = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def parse_payload(method, query, content_type, raw):
    """The payload a handler receives, from the stored request (the web and the worker read it alike)."""
    if method == "GET":
        return _safe_values(_first_values(parse_qsl(query, keep_blank_values=True, errors="replace")))
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype == "application/json" or raw[:1] in (b"{", b"["):
        if json_depth_exceeds(raw):
            raise ParseLimit(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            return _safe_values(json.loads((raw or b"null").decode("utf-8")))
        except UnicodeDecodeError:
            raise ValueError("body is not UTF-8 JSON") from None
        except ValueError:
            raise ValueError("body is not valid JSON") from None
    form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True) if raw else []
    return _safe_values(_first_values(form or parse_qsl(query, keep_blank_values=True, errors="replace")))


def encode_body(raw):
    """(text, encoding) storable in a TEXT column without loss: NUL bytes and invalid UTF-8 go as base64."""
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8"), "utf8"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), "base64"


def raw_body(event):
    if event.body_encoding == "base64":
        return base64.b64decode(event.body)
    return (event.body or "").encode("utf-8")


def stored_payload(event):
    """Rebuild the payload of a stored event (the worker's apply, orphans applied later)."""
    try:
        content_type = json.loads(event.headers or "{}").get("Content-Type", "")
    except ValueError:
        content_type = ""
    return parse_payload(event.method, event.query or "", content_type, raw_body(event))
