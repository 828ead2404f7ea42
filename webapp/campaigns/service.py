"""Campaign lifecycle as plain functions: launch, pause, resume, cancel, retry, progress, the scheduler tick."""
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from peewee import fn

from webapp.campaigns.audience import resolve
from webapp.dispatch import states
from webapp.extensions import db
from webapp.models import Campaign, Send, utcnow

BATCH = 1000
UTC = ZoneInfo("UTC")


class CampaignError(ValueError):
    """A refused campaign action, with a message for the page (and per-field errors when composing)."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.fields = fields or {}


@dataclass
class KindSpec:
    """What differs between SMS and IVR campaigns."""

    # provider -> send kind handled by the dispatcher
    send_kinds: dict
    # (campaign, contact) -> (payload dict, segments)
    build_payload: Callable
    # (campaign, total segments or calls) -> estimated cost or None
    estimate: Callable = lambda campaign, units: None
    # campaign -> whether it sends a new attempt by itself when one ends unanswered (IVR retry policy)
    retries_by_itself: Callable = lambda campaign: False


KINDS: dict[str, KindSpec] = {}


def register_kind(kind, spec):
    KINDS[kind] = spec


def send_kind(campaign):
    return KINDS[campaign.kind].send_kinds[campaign.provider]


# --- sending window -------------------------------------------------------------------------------------------

def parse_hhmm(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def inside_window(campaign, now=None):
    """True when ``now`` (UTC) falls in the campaign's daily window, in the campaign's timezone."""
    if not campaign.window_start or not campaign.window_end:
        return True
    local = (now or utcnow()).replace(tzinfo=UTC).astimezone(ZoneInfo(campaign.timezone)).time()
    start, end = parse_hhmm(campaign.window_start), parse_hhmm(campaign.window_end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # an overnight window such as 20:00-06:00


def local_to_utc(naive_local, timezone):
    return naive_local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)


# --- launch and controls --------------------------------------------------------------------------------------

def launch(campaign, start_at=None, now=None):
    """Create one send row per recipient in one transaction, then start (or schedule) the campaign.

    start_at: naive UTC; None or a past time means now. Returns the number of sends created.
    """
    now = now or utcnow()
    if campaign.status != "draft":
        raise CampaignError("This campaign has already been launched.")
    audience = resolve(campaign.lists, campaign.audience_query)
    if not audience.contacts:
        raise CampaignError("The audience is empty: choose lists with contacts who have not opted out.")
    spec = KINDS[campaign.kind]
    kind = spec.send_kinds[campaign.provider]
    scheduled = start_at is not None and start_at > now
    not_before = start_at if scheduled else now
    units = 0
    with db.atomic():
        rows = []
        for contact in audience.contacts:
            payload, parts = spec.build_payload(campaign, contact)
            units += parts
            rows.append({
                "kind": kind, "provider": campaign.provider, "to_number": contact.phone, "campaign_id": campaign.id,
                "contact_id": contact.id, "payload": json.dumps(payload, ensure_ascii=False), "segments": parts,
                "not_before": not_before, "created_at": now, "updated_at": now,
            })
            if len(rows) >= BATCH:
                Send.insert_many(rows).execute()
                rows = []
        if rows:
            Send.insert_many(rows).execute()
        campaign.recipients = audience.total
        campaign.excluded_opted_out = audience.opted_out
        campaign.excluded_duplicates = audience.duplicates
        campaign.estimated_cost = spec.estimate(campaign, units)
        campaign.status = "scheduled" if scheduled else "running"
        campaign.scheduled_at = start_at if scheduled else None
        campaign.launched_at = now
        campaign.in_window = inside_window(campaign, now)
        campaign.save()
    return audience.total


def pause(campaign):
    _require(campaign, {"running", "scheduled"}, "Only a running or scheduled campaign can be paused.")
    Campaign.update(status="paused", pause_reason="", pause_code="", paused_at=utcnow()).where(
        Campaign.id == campaign.id).execute()


def resume(campaign):
    """An explicit operator action; it also re-arms the safety brake (only outcomes from now on count)."""
    _require(campaign, {"paused"}, "Only a paused campaign can be resumed.")
    now = utcnow()
    Campaign.update(status="running", completed_at=None, pause_reason="", pause_code="", paused_at=None,
                    brake_armed_at=now).where(Campaign.id == campaign.id).execute()


def cancel(campaign):
    """Queued sends become cancelled; a send already being requested finishes normally (never half-sent)."""
    _require(campaign, {"draft", "scheduled", "running", "paused"}, "This campaign can no longer be cancelled.")
    now = utcnow()
    with db.atomic():
        Campaign.update(status="cancelled", completed_at=now).where(Campaign.id == campaign.id).execute()
        return (Send.update(state=states.CANCELLED, final_at=now, updated_at=now, error_text="Campaign cancelled")
                .where((Send.campaign_id == campaign.id) & (Send.state == states.QUEUED)).execute())


def _require(campaign, allowed, message):
    if Campaign.get_by_id(campaign.id).status not in allowed:
        raise CampaignError(message)


RETRYABLE_STATES = {"failed": (states.FAILED, states.UNDELIVERABLE), "unknown": (states.UNKNOWN,)}


def retry(campaign, which="failed", now=None):
    """Explicit resend: a new attempt row for each latest send in ``which`` state; the old row stays as history."""
    if campaign.status == "cancelled":
        raise CampaignError("A cancelled campaign cannot be retried.")
    now = now or utcnow()
    retried = Send.select(Send.retry_of).where((Send.campaign_id == campaign.id) & Send.retry_of.is_null(False))
    candidates = (Send.select().where((Send.campaign_id == campaign.id) & Send.state.in_(RETRYABLE_STATES[which])
                                      & Send.id.not_in(retried)))
    from webapp.contacts.optouts import opted_out_phones

    rows = list(candidates)
    blocked = opted_out_phones(r.to_number for r in rows)
    new_rows = [{
        "kind": r.kind, "provider": r.provider, "to_number": r.to_number, "campaign_id": r.campaign_id,
        "contact_id": r.contact_id, "payload": r.payload, "segments": r.segments, "attempt": r.attempt + 1,
        "retry_of": r.id, "not_before": now, "created_at": now, "updated_at": now,
    } for r in rows if r.to_number not in blocked]
    with db.atomic():
        for start in range(0, len(new_rows), BATCH):
            Send.insert_many(new_rows[start:start + BATCH]).execute()
        if new_rows and campaign.status == "completed":
            Campaign.update(status="running", completed_at=None).where(Campaign.id == campaign.id).execute()
    return len(new_rows)


# --- progress -------------------------------------------------------------------------------------------------

def latest_attempts(campaign_id):
    """Each recipient's latest attempt: the campaign's sends no retry was made of. A recipient counts once,
    whatever number of attempts it took, so retries never move progress backwards."""
    retried = Send.select(Send.retry_of).where((Send.campaign_id == campaign_id) & Send.retry_of.is_null(False))
    return Send.select().where((Send.campaign_id == campaign_id) & Send.id.not_in(retried))


def counts(campaign_id):
    """Recipients by the state of their latest attempt."""
    rows = (latest_attempts(campaign_id).select(Send.state, fn.COUNT(Send.id).alias("n"))
            .group_by(Send.state).tuples())
    result = dict.fromkeys(states.ALL, 0)
    result.update(dict(rows))
    return result


def progress(campaign):
    """Progress by recipient. A recipient is processed once its latest attempt left the queue; when the
    campaign calls unanswered numbers again by itself, only once that attempt is final (a call still ringing
    may yet need a retry). A busy or unanswered attempt that was retried is no failure: its retry stands."""
    by_state = counts(campaign.id)
    total = sum(by_state.values())
    done = sum(by_state[s] for s in states.FINAL)
    waiting = by_state[states.QUEUED] + by_state[states.SENDING]
    processed = done if KINDS[campaign.kind].retries_by_itself(campaign) else total - waiting
    reached = by_state[states.DELIVERED] + by_state[states.FAILED] + by_state[states.UNDELIVERABLE]
    retry_pending = latest_attempts(campaign.id).where(Send.retry_of.is_null(False) & (Send.state == states.QUEUED))
    return {
        "by_state": by_state,
        "total": total,
        "retries": Send.select().where((Send.campaign_id == campaign.id) & Send.retry_of.is_null(False)).count(),
        "retry_pending": retry_pending.count(),
        "next_retry_at": retry_pending.select(fn.MIN(Send.not_before)).scalar(),
        "processed": processed,
        "done": done,
        "percent": round(100 * processed / total) if total else 0,
        "delivery_rate": round(100 * by_state[states.DELIVERED] / reached, 1) if reached else None,
        "cost": Send.select(fn.SUM(Send.price)).where(Send.campaign_id == campaign.id).scalar(),
        # Unknown sends whose callback named their number and so gave them their provider id back.
        "adopted": Send.select().where((Send.campaign_id == campaign.id) & Send.adopted_at.is_null(False)).count(),
    }


def may_change(campaign):
    """Whether anything on the campaign's page can still move without an operator acting: it runs or waits
    for its start, or a provider still owes an answer about a send (a paused campaign's calls in progress)."""
    if campaign.status in ("running", "scheduled"):
        return True
    return (Send.select().where((Send.campaign_id == campaign.id)
                                & Send.state.in_([states.SENDING, states.SUBMITTED])).exists())


def failure_reasons(campaign_id, limit=20):
    """Recipients' failures (latest attempts: a retried busy call is no failure) grouped by what they mean
    (webapp.reasons), most frequent first; each row keeps the raw code and the provider's own texts beside the
    human words."""
    from webapp.reasons import reason_for

    rows = (latest_attempts(campaign_id)
            .select(Send.provider, Send.kind, Send.error_code, Send.error_text, fn.COUNT(Send.id).alias("n"))
            .where(Send.state.in_([states.FAILED, states.UNDELIVERABLE, states.UNKNOWN]))
            .group_by(Send.provider, Send.kind, Send.error_code, Send.error_text).dicts())
    groups = {}
    for row in rows:
        reason = reason_for(row["provider"], row["error_code"], row["error_text"], row["kind"])
        group = groups.setdefault((reason.words, reason.code), {
            "error_code": row["error_code"], "error_text": reason.words, "reason": reason, "texts": [], "n": 0})
        group["n"] += row["n"]
        if row["error_text"] and row["error_text"] not in group["texts"]:
            group["texts"].append(row["error_text"])
    return sorted(groups.values(), key=lambda g: -g["n"])[:limit]


# --- the scheduler tick ---------------------------------------------------------------------------------------

def tick(now=None):
    """Start due scheduled campaigns, open and close sending windows, complete finished campaigns."""
    now = now or utcnow()
    for campaign in Campaign.select().where((Campaign.status == "scheduled") & (Campaign.scheduled_at <= now)):
        Campaign.update(status="running").where(
            (Campaign.id == campaign.id) & (Campaign.status == "scheduled")).execute()
    for campaign in Campaign.select().where(Campaign.status.in_(["running", "scheduled", "paused"])):
        inside = inside_window(campaign, now)
        if inside != campaign.in_window:
            Campaign.update(in_window=inside).where(Campaign.id == campaign.id).execute()
    pending = Send.select(Send.campaign_id).where(Send.state.in_([states.QUEUED, states.SENDING]))
    (Campaign.update(status="completed", completed_at=now)
     .where((Campaign.status == "running") & Campaign.id.not_in(pending)).execute())


def claim_filter():
    """Sends of a campaign are claimed only while it runs inside its window; others (tests, OTP) always."""
    sending = Campaign.select(Campaign.id).where((Campaign.status == "running") & (Campaign.in_window == True))  # noqa: E712
    return Send.campaign_id.is_null() | Send.campaign_id.in_(sending)


def next_window_opening(campaign, now=None):
    """When a campaign waiting outside its window will send again (UTC), for the page."""
    if inside_window(campaign, now):
        return None
    zone = ZoneInfo(campaign.timezone)
    local_now = (now or utcnow()).replace(tzinfo=UTC).astimezone(zone)
    opening = datetime.combine(local_now.date(), parse_hhmm(campaign.window_start), zone)
    if opening <= local_now:
        opening += timedelta(days=1)
    return opening.astimezone(UTC).replace(tzinfo=None)
