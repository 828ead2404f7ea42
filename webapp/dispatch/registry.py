"""What the dispatcher can send: one Sender per send kind, registered by the area that owns the kind."""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class SkipSend(Exception):  # noqa: N818 (it is an outcome, not an error)
    """Raised by a send function that decided, before any request, not to send (e.g. the number opted out)."""


@dataclass
class Outcome:
    """What a send function learned from the provider's answer to an accepted request."""

    provider_ref: str
    state: str = "submitted"
    provider_status: str = ""
    segments: int | None = None
    price: float | None = None
    currency: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class Sender:
    kind: str
    provider: str
    # send(send_row) -> Outcome; raises ProviderError. Runs in a dispatcher thread with a DB connection.
    send: Callable[[Any], Outcome]
    # Requests per second allowed to this provider's account, all workers together; None = unlimited.
    rate: Callable[[Any], float | None] = lambda config: None
    # How many more sends of this kind may be in flight now, counted from the database (e.g. OCA concurrent
    # calls); called under the account's lock (webapp.dispatch.limits). None = no cap.
    capacity: Callable[[], int] | None = None
    # Provider error codes that mean "slow down": the send is re-queued and the provider cools down.
    throttle_codes: frozenset = frozenset()
    # Transport attempts before a send that never reached the provider is marked failed.
    max_tries: int = 5


SENDERS: dict[str, Sender] = {}
# Extra conditions a queued send must meet to be claimed (e.g. its campaign is running): callables -> expr.
CLAIM_FILTERS: list[Callable[[], Any]] = []
# kind -> callables(send, update) run after a status update changed a send (OTP records, call panels...).
ON_UPDATE: dict[str, list[Callable[[Any, Any], None]]] = {}


def register_sender(sender):
    SENDERS[sender.kind] = sender


def register_claim_filter(func):
    if func not in CLAIM_FILTERS:
        CLAIM_FILTERS.append(func)


def on_update(kind, func):
    hooks = ON_UPDATE.setdefault(kind, [])
    if func not in hooks:
        hooks.append(func)
