"""Send states and the forward-only rule (the diagram is on webapp.models.Send)."""
QUEUED = "queued"
SENDING = "sending"
UNKNOWN = "unknown"
SUBMITTED = "submitted"
DELIVERED = "delivered"
FAILED = "failed"
UNDELIVERABLE = "undeliverable"
CANCELLED = "cancelled"

FINAL = frozenset({DELIVERED, FAILED, UNDELIVERABLE, CANCELLED})
# Not yet final and already (maybe) at the provider: what polling reconciles.
OPEN_AT_PROVIDER = frozenset({SUBMITTED, UNKNOWN})
ALL = (QUEUED, SENDING, UNKNOWN, SUBMITTED, DELIVERED, FAILED, UNDELIVERABLE, CANCELLED)

RANK = {QUEUED: 0, SENDING: 1, UNKNOWN: 2, SUBMITTED: 3, DELIVERED: 4, FAILED: 4, UNDELIVERABLE: 4, CANCELLED: 4}


def may_move(current, new):
    """A late or repeated report never moves a send backwards, and a final state is never replaced."""
    if new is None or current in FINAL:
        return False
    return RANK[new] > RANK[current]
