"""Reading and checking the SMS compose form."""
import re
from datetime import datetime

from webapp.campaigns.service import CampaignError, local_to_utc
from webapp.campaigns.sms import SMS_PROVIDERS
from webapp.models import Campaign, ContactList, utcnow
from webapp.settings import sender_ids

HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def list_ids_from(form):
    ids = [int(v) for v in form.getlist("list_ids") if str(v).isdigit()]
    known = {row.id for row in ContactList.select(ContactList.id).where(ContactList.id.in_(ids))} if ids else set()
    return [i for i in ids if i in known]


def read_when(form, timezone, errors, verb="send"):
    """The daily sending window and the start time (naive UTC, None = now), errors added per field."""
    window_start, window_end = (form.get("window_start") or "").strip(), (form.get("window_end") or "").strip()
    if window_start or window_end:
        if not (HHMM_RE.match(window_start) and HHMM_RE.match(window_end)) or window_start == window_end:
            errors["window"] = "A sending window needs two different times as HH:MM."
    start_at = None
    if form.get("when") == "schedule":
        try:
            start_at = local_to_utc(datetime.fromisoformat(form.get("scheduled_at") or ""), timezone)
        except ValueError:
            errors["scheduled_at"] = f"Pick the date and time to {verb}."
        else:
            if start_at <= utcnow():
                errors["scheduled_at"] = "The scheduled time is in the past."
    return window_start, window_end, start_at


def read_sms_form(form, user):
    """Returns (values, start_at_utc) or raises CampaignError with per-field messages."""
    errors = {}
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the campaign a name."
    provider = form.get("provider", "masking")
    if provider not in SMS_PROVIDERS:
        errors["provider"] = "Choose a provider."
    sender_id = (form.get("sender_id") or "").strip()
    if provider in SMS_PROVIDERS:
        # Only sender ids kept in Settings: an unregistered one is refused by CitCALL for every recipient.
        try:
            sender_id = sender_ids.validate(provider, sender_id)
        except sender_ids.SenderIdError as exc:
            errors["sender_id"] = str(exc)
    text = form.get("message") or ""
    if not text.strip():
        errors["message"] = "Write the message."
    elif len(text) > 1530:
        errors["message"] = "Messages are limited to 1530 characters (10 SMS)."
    list_ids = list_ids_from(form)
    query = (form.get("audience_query") or "").strip()[:200]
    if not list_ids and not query:
        errors["audience"] = "Choose at least one list, or a contact search."
    timezone = user.timezone or "Asia/Jakarta"
    window_start, window_end, start_at = read_when(form, timezone, errors)
    if errors:
        raise CampaignError("Please correct the highlighted fields.", errors)
    values = {
        "name": name[:200], "kind": "sms", "provider": provider, "message": text, "sender_id": sender_id,
        "list_ids": list_ids, "audience_query": query, "timezone": timezone,
        "window_start": window_start, "window_end": window_end,
    }
    return values, start_at


def create_draft(values, user):
    import json

    return Campaign.create(
        name=values["name"], kind=values["kind"], provider=values["provider"], message=values["message"],
        sender_id=values["sender_id"], list_ids=json.dumps(values["list_ids"]),
        audience_query=values["audience_query"], timezone=values["timezone"],
        window_start=values["window_start"], window_end=values["window_end"], created_by=user.id,
        settings=json.dumps(values.get("settings", {})),
    )


def launch_from_form(values, start_at, user):
    """Create the campaign and launch it; an empty audience leaves no draft behind. Returns (campaign, sends)."""
    from webapp.campaigns import service

    campaign = create_draft(values, user)
    try:
        created = service.launch(campaign, start_at=start_at)
    except CampaignError as exc:
        campaign.delete_instance()
        raise CampaignError(str(exc), {"audience": str(exc)}) from exc
    return campaign, created
