"""Sign-in throttle, shared by every web process through the database (webapp.ratelimit).

Three counters, none of which lets a stranger lock someone else out:
- account + address: LOGIN_MAX_FAILURES tries per window, then that address waits for that account;
- address: several times that, for one address guessing across many accounts;
- account, from all addresses: past LOGIN_ACCOUNT_CEILING tries in the window, the account is slowed to one
  try per LOGIN_SLOW_SECONDS instead of being locked, so a distributed guess is slow.
A browser that has signed in to the account before (webapp.auth.known_browsers) is counted on its own
instead: LOGIN_MAX_FAILURES tries per window for that browser, whatever its address and whatever strangers
do, so neither an office sharing one address nor an attacker slowing the account holds up its owner.
A try is counted before the password is checked (so parallel requests cannot all pass a "4 of 5" check)
and given back when the password is right.
"""
from dataclasses import dataclass, field

from flask import current_app

from webapp import ratelimit
from webapp.ratelimit import Limit, LimitExceeded

# The per-address ceiling is this many times the per-account one.
ADDRESS_FACTOR = 4


class Throttled(Exception):  # noqa: N818 (an outcome the page shows)
    def __init__(self, wait, slowed=False):
        self.wait = wait
        self.slowed = slowed
        if slowed:
            message = (f"This account has had many failed sign-ins and is slowed down. "
                       f"Try again in {ratelimit.wait_text(wait)}.")
        else:
            message = f"Too many sign-in attempts. Try again in {ratelimit.wait_text(wait)}."
        super().__init__(message)


@dataclass
class Reservation:
    """The counters one sign-in try took: kept when the try fails, given back when it succeeds."""

    keys: list = field(default_factory=list)


def _pair_key(email, remote_addr):
    return ratelimit.key("login-pair", email, remote_addr)


def reserve(email, remote_addr, browser=None):
    """Count one try for this e-mail from this address, or raise Throttled.

    ``browser`` identifies a browser that has signed in to this account before (webapp.auth.known_browsers):
    its tries are counted for that browser alone, so neither strangers guessing from the same address (an
    office behind one NAT address) nor the account-wide slow-down hold up the account's owner."""
    cfg = current_app.config
    window = cfg["LOGIN_WINDOW_SECONDS"]
    failures = cfg["LOGIN_MAX_FAILURES"]
    if browser:
        limits = [Limit("browser", ratelimit.key("login-browser", email, browser), failures, window)]
    else:
        limits = [Limit("pair", _pair_key(email, remote_addr), failures, window),
                  Limit("address", ratelimit.key("login-addr", remote_addr), failures * ADDRESS_FACTOR, window)]
    try:
        taken = ratelimit.take(limits)
    except LimitExceeded as exc:
        raise Throttled(exc.wait) from None
    taken_keys = [limit.key for limit in taken]
    if browser:
        return Reservation(taken_keys)
    account = ratelimit.key("login-account", email)
    hits, _wait = ratelimit.hit(account, window)
    taken_keys.append(account)
    if hits > cfg["LOGIN_ACCOUNT_CEILING"]:
        try:
            ratelimit.take([Limit("slow", ratelimit.key("login-slow", email), 1, cfg["LOGIN_SLOW_SECONDS"])])
        except LimitExceeded as exc:
            for counter in taken_keys:
                ratelimit.undo(counter)
            raise Throttled(exc.wait, slowed=True) from None
    return Reservation(taken_keys)


def release(reservation):
    """The try succeeded (right password, or a refusal that was no guess): it does not count."""
    for counter in reservation.keys:
        ratelimit.undo(counter)


def clear(email, remote_addr):
    """Every factor passed: this address starts afresh for this account."""
    ratelimit.reset(_pair_key(email, remote_addr))
