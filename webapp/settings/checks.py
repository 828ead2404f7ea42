"""What each provider's "test connection" proved, fact by fact, for the Providers page.

A check is one harmless request (webapp.providers.<name>.Client.check); its answer proves some facts and
leaves others open. Airtel's client states its facts itself (they depend on which refusal came back); for
the others they follow from the outcome and the code.
"""
from typing import NamedTuple


class Fact(NamedTuple):
    label: str
    proved: bool | None  # True proved, False disproved, None not established by this check
    how: str


# Nothing answered at all (or nothing could be sent).
UNREACHABLE_CODES = frozenset({"connection_failed", "timeout", "config"})
# Codes that mean the credentials were refused, per provider.
AUTH_CODES = {
    "citcall": frozenset({"76", "77", "96", "98"}),
    "masking": frozenset({"auth_failed"}),
    "oca": frozenset({"17", "19", "41", "unauthorized"}),
}
CREDENTIALS = {"citcall": "API key and IP whitelist accepted", "masking": "Username and password accepted",
               "oca": "Username and password accepted"}


def facts(name, result):
    """The facts a CheckResult of provider ``name`` established."""
    stated = result.details.get("facts")
    if stated is not None:
        return list(stated)
    code = str(result.details.get("code") or "")
    if not result.ok:
        return _refused(name, code, result.summary)
    return [Fact("Reachable", True, "the provider answered in its documented format"),
            Fact(CREDENTIALS[name], True, "an authenticated request was answered, not refused"),
            *PROVED_ON_SUCCESS[name](result)]


def _refused(name, code, summary):
    if code in UNREACHABLE_CODES:
        return [Fact("Reachable", False, summary)]
    if code in AUTH_CODES.get(name, ()):
        return [Fact("Reachable", True, f"the provider answered ({code})"),
                Fact(CREDENTIALS[name], False, summary)]
    return [Fact("Reachable", True, f"an answer came back ({code or 'unreadable'})"),
            Fact(CREDENTIALS[name], None, f"not established: {summary}")]


def _citcall(result):
    return [Fact("Nothing sent or charged", True,
                 "verify of a transaction that cannot exist answered rc 78 (data not found)"),
            Fact("Balance", None, "CitCALL has no balance endpoint")]


def _masking(result):
    expires = result.details.get("expires_at")
    return [Fact("Balance", True, result.summary + ("" if expires else " (no expiry given)"))]


def _oca(result):
    return [Fact("Caller numbers", True, f"{result.details.get('numbers', 0)} on the account"),
            Fact("IVRs", True, f"{result.details.get('ivrs', 0)} on the account")]


PROVED_ON_SUCCESS = {"citcall": _citcall, "masking": _masking, "oca": _oca}
