"""/api/v1/campaigns and /api/v1/audio: the compose forms' own readers and the campaign service, for
supervisors and admins only (as the Campaigns pages)."""
from zoneinfo import ZoneInfo

from flask import request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.api import schemas as s
from webapp.api.errors import ApiError
from webapp.api.framework import operation
from webapp.auth.service import audit_request
from webapp.campaigns import audio, ivr, service
from webapp.campaigns.compose import create_draft, read_sms_form
from webapp.campaigns.service import CampaignError
from webapp.models import AudioFile, Campaign, Send

ACTIONS = ("start", "pause", "resume", "cancel")
# A refused transition is a conflict with the campaign's state; any other refusal is invalid input.
STATE_CONFLICTS = ("already been launched", "Only a", "no longer be cancelled")


def campaign_json(campaign):
    counts = service.counts(campaign.id)
    return {"id": campaign.id, "name": campaign.name, "kind": campaign.kind, "provider": campaign.provider,
            "status": campaign.status, "message": campaign.message, "sender_id": campaign.sender_id,
            "list_ids": campaign.lists, "audience_query": campaign.audience_query,
            "recipients": campaign.recipients, "counts": counts, "pause_reason": campaign.pause_reason,
            "scheduled_at": campaign.scheduled_at, "launched_at": campaign.launched_at,
            "completed_at": campaign.completed_at, "created_at": campaign.created_at}


def _campaign(campaign_id):
    campaign = Campaign.get_or_none(Campaign.id == campaign_id)
    if campaign is None:
        raise ApiError(404, "not_found", "There is no campaign with this id.")
    return campaign


def compose_form(body, timezone):
    """The JSON body as the compose page's form, so the page's own reader checks it."""
    form = MultiDict()
    for name in ("name", "provider", "sender_id", "message", "audience_query", "window_start", "window_end",
                 "ivr_id", "from_number", "retry_attempts"):
        form[name] = str(body[name])
    if body["retry_gap_minutes"] is not None:
        form["retry_gap_minutes"] = str(body["retry_gap_minutes"])
    for list_id in body["list_ids"]:
        form.add("list_ids", str(list_id))
    if body["scheduled_at"] is not None:
        local = body["scheduled_at"].astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        form["when"], form["scheduled_at"] = "schedule", local.isoformat(timespec="minutes")
    for variable, mapping in body["variables"].items():
        if mapping["source"] == "text":
            form[f"map_{variable}"], form[f"text_{variable}"] = "text", mapping["value"]
        else:
            form[f"map_{variable}"] = f"{mapping['source']}:{mapping['value']}"
    return form


@operation("/v1/campaigns", "GET", summary="List campaigns", tag="campaigns", role="supervisor",
           query=s.PageQuery(), response=s.page_of(s.Campaign)())
def list_campaigns(query):
    rows, cursor = s.page(Campaign.select(), Campaign, query["limit"], query["cursor"])
    return {"data": [campaign_json(c) for c in rows], "next_cursor": cursor}


@operation("/v1/campaigns", "POST", summary="Create a campaign (a draft: start it with /start)", tag="campaigns",
           role="supervisor", body=s.CampaignCreate(), response=s.Campaign(), status=201, errors=(422,),
           idempotent=True)
def create_campaign(body):
    user = current_user._get_current_object()
    form = compose_form(body, user.timezone or "Asia/Jakarta")
    try:
        if body["kind"] == "sms":
            values, start_at = read_sms_form(form, user)
        else:
            ivr.ensure_catalog()
            values, start_at = ivr.read_ivr_form(form, user)
    except CampaignError as exc:
        raise ApiError(422, "invalid", str(exc), exc.fields) from exc
    campaign = create_draft(values, user)
    if start_at is not None:
        Campaign.update(scheduled_at=start_at).where(Campaign.id == campaign.id).execute()
    return campaign_json(Campaign.get_by_id(campaign.id)), 201


@operation("/v1/campaigns/<int:campaign_id>", "GET", summary="One campaign, with its sends counted by state",
           tag="campaigns", role="supervisor", response=s.Campaign(), errors=(404,))
def get_campaign(campaign_id):
    return campaign_json(_campaign(campaign_id))


def _control(campaign_id, action):
    campaign = _campaign(campaign_id)
    try:
        if action == "start":
            service.launch(campaign, start_at=campaign.scheduled_at)
        else:
            getattr(service, action)(campaign)
    except CampaignError as exc:
        status, code = (409, "conflict") if any(t in str(exc) for t in STATE_CONFLICTS) else (422, "invalid")
        raise ApiError(status, code, str(exc), exc.fields) from exc
    audit_request(f"campaign.{'launch' if action == 'start' else action}", f"campaign:{campaign.id}", "via the API")
    return campaign_json(Campaign.get_by_id(campaign.id))


def _control_view(action):
    def view(campaign_id):
        return _control(campaign_id, action)

    view.__name__ = f"{action}_campaign"
    summaries = {"start": "Launch a draft: one send per recipient, now or at its scheduled time",
                 "pause": "Pause a running or scheduled campaign", "resume": "Resume a paused campaign",
                 "cancel": "Cancel: queued sends will not be sent"}
    operation(f"/v1/campaigns/<int:campaign_id>/{action}", "POST", summary=summaries[action], tag="campaigns",
              role="supervisor", response=s.Campaign(), errors=(404, 409, 422),
              idempotent=action == "start")(view)


for _action in ACTIONS:
    _control_view(_action)


@operation("/v1/campaigns/<int:campaign_id>/sends", "GET", summary="A campaign's sends (one per attempt)",
           tag="campaigns", role="supervisor", query=s.SendQuery(), response=s.page_of(s.Send)(), errors=(404,))
def list_sends(campaign_id, query):
    campaign = _campaign(campaign_id)
    sends = Send.select().where(Send.campaign_id == campaign.id)
    if query["state"]:
        sends = sends.where(Send.state == query["state"])
    rows, cursor = s.page(sends, Send, query["limit"], query["cursor"])
    return {"data": [{name: getattr(r, name) for name in s.Send._declared_fields} for r in rows],
            "next_cursor": cursor}


def audio_json(item):
    return {"id": item.id, "name": item.name, "size_bytes": item.size_bytes, "duration_seconds": item.duration_seconds,
            "oca_url": item.oca_url, "created_at": item.created_at}


@operation("/v1/audio", "GET", summary="List uploaded IVR audio", tag="campaigns", role="supervisor",
           query=s.PageQuery(), response=s.page_of(s.Audio)())
def list_audio(query):
    rows, cursor = s.page(AudioFile.select(), AudioFile, query["limit"], query["cursor"])
    return {"data": [audio_json(a) for a in rows], "next_cursor": cursor}


@operation("/v1/audio", "POST", summary="Upload an MP3 for IVR campaigns (stored here and at OCA)",
           tag="campaigns", role="supervisor", response=s.Audio(), status=201, errors=(413, 422), idempotent=True,
           upload={"file": "the MP3"})
def upload_audio():
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise audio.AudioError("Send the MP3 as the multipart field `file`.")
        item = audio.upload(upload.filename, audio.read_upload(upload.stream), current_user.id)
    except audio.AudioError as exc:
        raise ApiError(422, "invalid", str(exc), {"file": str(exc)}) from exc
    return audio_json(item), 201
