"""The dashboard's callbacks feed: the latest provider callbacks, identical neighbours grouped, each saying
which campaign (or number) it was about instead of ten lines of "masking dlr applied"."""
from dataclasses import dataclass, field

from webapp.callbacks.lookup import sends_for
from webapp.models import CallbackEvent, Campaign, Send

# Callbacks read per refresh, and feed lines shown after grouping.
SCAN = 100
LINES = 8


@dataclass
class FeedLine:
    provider: str
    kind: str
    status: str
    first_at: object  # the oldest event of the group
    last_at: object  # the newest
    count: int = 1
    campaign_id: int | None = None
    campaign_name: str = ""
    numbers: list = field(default_factory=list)  # distinct numbers the group's sends went to
    errors: list = field(default_factory=list)  # why events could not be applied (invalid, orphan)

    @property
    def number(self):
        return self.numbers[0] if len(self.numbers) == 1 else ""


def latest(limit=LINES, scan=SCAN):
    events = list(CallbackEvent.select(CallbackEvent.provider, CallbackEvent.kind, CallbackEvent.status,
                                       CallbackEvent.reference, CallbackEvent.received_at, CallbackEvent.error)
                  .order_by(CallbackEvent.id.desc()).limit(scan))
    sends = sends_for(events, Send.campaign_id, Send.to_number)
    campaigns = _campaign_names({s.campaign_id for s in sends.values() if s.campaign_id})
    lines = []
    for event in events:
        send = sends.get((event.provider, event.reference))
        campaign_id = send.campaign_id if send else None
        last = lines[-1] if lines else None
        if last and (last.provider, last.kind, last.status, last.campaign_id) == (
                event.provider, event.kind, event.status, campaign_id):
            last.count += 1
            last.first_at = event.received_at
        else:
            if len(lines) == limit:
                break
            last = FeedLine(event.provider, event.kind or "", event.status, event.received_at, event.received_at,
                            campaign_id=campaign_id, campaign_name=campaigns.get(campaign_id, ""))
            lines.append(last)
        if send and send.to_number not in last.numbers:
            last.numbers.append(send.to_number)
        if event.error and event.error not in last.errors and len(last.errors) < 3:
            last.errors.append(event.error)
    return lines


def _campaign_names(ids):
    if not ids:
        return {}
    return {c.id: c.name for c in Campaign.select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(ids)))}
