"""Robocall pages on the campaigns blueprint (supervisors and up): audio library, OCA catalog, compose, calls."""

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from webapp.auth.service import audit_request
from webapp.campaigns import audio, bp, ivr, service
from webapp.campaigns.audience import resolve
from webapp.campaigns.compose import list_ids_from
from webapp.campaigns.service import CampaignError
from webapp.campaigns.views import PER_PAGE, _campaign, _sample_contact
from webapp.contacts.service import all_lists
from webapp.csv_export import csv_download
from webapp.dispatch import states
from webapp.live import render_live
from webapp.models import AudioFile
from webapp.params import page_number

# Where the catalog refresh button sends the browser back to.
REFRESH_BACK = {"library": "campaigns.audio_library", "compose": "campaigns.new_ivr"}


def _audio_or_404(audio_id):
    item = AudioFile.get_or_none(AudioFile.id == audio_id)
    if item is None:
        abort(404)
    return item


@bp.route("/audio", methods=["GET", "POST"])
def audio_library():
    error = None
    if request.method == "POST":
        upload = request.files.get("audio")
        try:
            if upload is None or not upload.filename:
                raise audio.AudioError("Choose an MP3 file to upload.")
            item = audio.upload(upload.filename, audio.read_upload(upload.stream), current_user.id)
        except audio.AudioError as exc:
            error = str(exc)
        else:
            flash(f"“{item.name}” uploaded ({item.duration_seconds:.1f} s) and stored at OCA.", "success")
            return redirect(url_for("campaigns.audio_library"))
    catalog_error = ivr.ensure_catalog()
    return render_template("campaigns/ivr_audio.html", audios=list(AudioFile.select().order_by(AudioFile.id.desc())),
                           error=error, catalog_error=catalog_error, max_mb=audio.limit_mb(),
                           **ivr.catalog()), (422 if error else 200)


@bp.route("/audio/<int:audio_id>.mp3")
def play_audio(audio_id):
    item = _audio_or_404(audio_id)
    return send_file(audio.audio_path(item), mimetype="audio/mpeg", conditional=True, download_name=item.name)


@bp.route("/audio/<int:audio_id>/delete", methods=["POST"])
def delete_audio(audio_id):
    item = _audio_or_404(audio_id)
    try:
        audio.delete(item)
    except audio.AudioError as exc:
        flash(str(exc), "error")
    else:
        flash(f"“{item.name}” deleted here and at OCA.", "success")
    return redirect(url_for("campaigns.audio_library"))


@bp.route("/oca/refresh", methods=["POST"])
def refresh_oca():
    try:
        ivrs, numbers = ivr.refresh_catalog()
    except CampaignError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Fetched {ivrs} IVRs and {numbers} caller ids from OCA.", "success")
    return redirect(url_for(REFRESH_BACK.get(request.form.get("back"), "campaigns.audio_library")))


def _compose_context(form):
    audios = list(AudioFile.select().order_by(AudioFile.name))
    return {"form": form, "lists": all_lists(), "selected": list_ids_from(form) if form else [], "audios": audios,
            "fields": ivr.contact_fields(), "max_concurrent": current_app.config["OCA_MAX_CONCURRENT_CALLS"],
            "retry_max": ivr.MAX_RETRY_ATTEMPTS, "default_gap": ivr.DEFAULT_RETRY_GAP_MINUTES, **ivr.catalog()}


def _variables(form, current, context):
    """The IVR whose variable fields are shown, and each field's choice (the form's, else a default)."""
    variables = current.variables if current else []
    choices = {v: form.get(f"map_{v}") or ivr.default_choice(v, context["fields"], context["audios"])
               for v in variables}
    return {"current": current, "choices": choices}


@bp.route("/new-ivr", methods=["GET", "POST"])
def new_ivr():
    form = request.form if request.method == "POST" else {}
    errors = {}
    if request.method == "POST":
        try:
            campaign, created, start_at = ivr.compose_and_launch(request.form, current_user)
        except CampaignError as exc:
            errors = exc.fields or {"form": str(exc)}
        else:
            audit_request("campaign.launch", f"campaign:{campaign.id}",
                          f"{'scheduled' if start_at else 'launched'}, {created} recipients")
            flash(f"Campaign {'scheduled' if start_at else 'launched'}: {created} recipients.", "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    catalog_error = None if form else ivr.ensure_catalog()
    context = _compose_context(form)
    current = next((i for i in context["ivrs"] if i.ivr_id == form.get("ivr_id")), None)
    current = current or (context["ivrs"][0] if context["ivrs"] else None)
    return render_template("campaigns/ivr_new.html", errors=errors, catalog_error=catalog_error,
                           **_variables(form, current, context), **context), (422 if errors else 200)


@bp.route("/new-ivr/preview", methods=["POST"])
def ivr_preview():
    """Live panel: audience counts and the exact call request for a sample contact. When the chosen IVR
    changed, its variable fields come along (out of band) in the same response, so nothing races."""
    form = request.form
    context = _compose_context(form)
    list_ids = list_ids_from(form)
    query = (form.get("audience_query") or "").strip()
    sample = _sample_contact(list_ids, query)
    preview = ivr.preview_request(form, sample, context["fields"], context["audios"])
    changed = preview["ivr"] is not None and form.get("variables_for") != preview["ivr"].ivr_id
    return render_template("campaigns/_ivr_preview.html", preview=preview, sample=sample,
                           audience=resolve(list_ids, query, load=False), changed=changed, errors={},
                           **_variables(form, preview["ivr"], context), **context)


@bp.route("/<int:campaign_id>/calls")
def ivr_calls(campaign_id):
    campaign = _campaign(campaign_id)
    if campaign.kind != "ivr":
        abort(404)
    state = request.args.get("state", "")
    page = page_number(request.args)
    rows, has_next = ivr.calls(campaign, state, page, PER_PAGE)
    context = {"campaign": campaign, "calls": rows, "has_next": has_next, "page": page, "state_filter": state,
               "all_states": states.ALL, "retried": ivr.retried_ids(rows)}
    return render_live("campaigns/ivr_calls.html", "campaigns/_ivr_calls.html", service.may_change(campaign),
                       **context)


@bp.route("/<int:campaign_id>/calls.csv")
def ivr_export(campaign_id):
    campaign = _campaign(campaign_id)
    if campaign.kind != "ivr":
        abort(404)
    return csv_download(f"campaign-{campaign.id}-calls.csv", ivr.EXPORT_COLUMNS, ivr.export_rows(campaign))
