from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from htmx_flask import make_response
from peewee import JOIN

from webapp.auth.decorators import role_required
from webapp.auth.service import audit_request
from webapp.campaigns import bp, message, service, sms
from webapp.campaigns.audience import reachable, resolve
from webapp.campaigns.compose import launch_from_form, list_ids_from, read_sms_form
from webapp.campaigns.service import CampaignError
from webapp.contacts.service import all_lists
from webapp.csv_export import csv_download
from webapp.dispatch import states
from webapp.live import render_live
from webapp.models import Campaign, Contact, Send
from webapp.params import one_page, page_number
from webapp.phones import display

PER_PAGE = 50


@bp.before_request
@role_required("supervisor")
def _supervisors():
    return None


def _campaign(campaign_id):
    campaign = Campaign.get_or_none(Campaign.id == campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.route("/")
def index():
    page = page_number(request.args)
    query = Campaign.select().order_by(Campaign.id.desc())
    campaigns, has_next = one_page(query, page, PER_PAGE)
    progress = {c.id: service.progress(c) for c in campaigns}
    return render_template("campaigns/index.html", campaigns=campaigns, progress=progress, page=page,
                           has_next=has_next)


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = request.form if request.method == "POST" else {}
    errors = {}
    if request.method == "POST":
        try:
            values, start_at = read_sms_form(request.form, current_user)
            campaign, created = launch_from_form(values, start_at, current_user)
        except CampaignError as exc:
            errors = exc.fields or {"form": str(exc)}
        else:
            verb = "scheduled" if start_at else "launched"
            audit_request("campaign.launch", f"campaign:{campaign.id}", f"{verb}, {created} recipients")
            flash(f"Campaign {verb}: {created} recipients.", "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/new.html", form=form, errors=errors, lists=all_lists(),
                           providers=sms.SMS_PROVIDERS, selected=list_ids_from(request.form) if form else [],
                           balance=sms.masking_status()), (422 if errors else 200)


@bp.route("/preview", methods=["POST"])
def preview():
    """Live compose panel: sample rendering, encoding and segments, audience counts and cost."""
    form = request.form
    list_ids = list_ids_from(form)
    query = (form.get("audience_query") or "").strip()
    audience = resolve(list_ids, query, load=False)
    sample = _sample_contact(list_ids, query)
    variables = sample.template_variables() if sample else {"name": "Budi", "phone": "+6281234567890"}
    rendered = message.render(form.get("message", ""), variables)
    info = message.describe(rendered)
    provider = form.get("provider", "masking")
    unit_price = sms.price_per_segment(provider) if provider in sms.SMS_PROVIDERS else 0
    units = sms.audience_segments(form.get("message", ""), reachable(list_ids, query), audience.total)
    cost = sms.cost(provider, units) if unit_price else 0
    status = sms.masking_status() if provider == "masking" else None
    short = status is not None and status.balance is not None and status.balance < cost
    missing = [v for v in message.variables_in(form.get("message", "")) if v not in variables]
    return render_template("campaigns/_preview.html", rendered=rendered, info=info, audience=audience,
                           sample=sample, units=units, cost=cost, unit_price=unit_price, balance=status,
                           short=short, missing=missing)


def _sample_contact(list_ids, query):
    return reachable(list_ids, query).first()


@bp.route("/test-send", methods=["POST"])
def test_send():
    form = request.form
    provider = form.get("provider", "masking")
    if provider not in sms.SMS_PROVIDERS:
        return render_template("campaigns/_test_send.html", error="Choose a provider."), 422
    list_ids = list_ids_from(form)
    sample = _sample_contact(list_ids, (form.get("audience_query") or "").strip())
    variables = sample.template_variables() if sample else {"name": "Budi"}
    text = message.render(form.get("message", ""), variables)
    try:
        send = sms.test_send(provider, form.get("test_number", ""), text, form.get("sender_id", ""), current_user.id)
    except ValueError as exc:
        return render_template("campaigns/_test_send.html", error=str(exc)), 422
    return render_template("campaigns/_test_send.html", send=send)


@bp.route("/test-send/<int:send_id>")
def test_send_status(send_id):
    send = Send.get_or_none((Send.id == send_id) & Send.campaign_id.is_null())
    if send is None:
        abort(404)
    return render_template("campaigns/_test_send.html", send=send)


@bp.route("/<int:campaign_id>")
def detail(campaign_id):
    campaign = _campaign(campaign_id)
    context = _progress_context(campaign)
    return render_live("campaigns/detail.html", "campaigns/_live.html", context.pop("live"), **context,
                       **_recipients(campaign))


def _progress_context(campaign):
    return {
        "campaign": campaign,
        "progress": service.progress(campaign),
        "reasons": service.failure_reasons(campaign.id),
        "next_window": service.next_window_opening(campaign) if campaign.status == "running" else None,
        "live": service.may_change(campaign),
    }


def _recipients(campaign):
    state = request.args.get("state", "")
    page = page_number(request.args)
    # One row per recipient: its latest attempt, with the attempt before it when it is a retry.
    query = service.latest_attempts(campaign.id)
    if state in states.ALL:
        query = query.where(Send.state == state)
    # By contact: a retry keeps its recipient's place in the list while the page refreshes.
    sends, has_next = one_page(query.order_by(Send.contact_id, Send.id), page, PER_PAGE)
    contacts = {c.id: c for c in Contact.select().where(Contact.id.in_([r.contact_id for r in sends if r.contact_id]))}
    earlier = {p.id: p for p in Send.select().where(Send.id.in_([r.retry_of for r in sends if r.retry_of]))}
    return {"sends": sends, "has_next": has_next, "page": page, "state_filter": state,
            "contacts": contacts, "earlier": earlier, "all_states": states.ALL}


@bp.route("/<int:campaign_id>/<any(pause, resume, cancel):action>", methods=["POST"])
def control(campaign_id, action):
    campaign = _campaign(campaign_id)
    try:
        result = getattr(service, action)(campaign)
    except CampaignError as exc:
        flash(str(exc), "error")
    else:
        audit_request(f"campaign.{action}", f"campaign:{campaign.id}", str(result) if action == "cancel" else "")
        done = {"pause": "Campaign paused.", "resume": "Campaign resumed.",
                "cancel": f"Campaign cancelled; {result or 0} queued messages will not be sent."}
        flash(done[action], "success")
    return _back(campaign)


@bp.route("/<int:campaign_id>/retry", methods=["POST"])
def retry(campaign_id):
    campaign = _campaign(campaign_id)
    which = request.form.get("which", "failed")
    if which not in service.RETRYABLE_STATES:
        abort(400)
    try:
        created = service.retry(campaign, which)
    except CampaignError as exc:
        flash(str(exc), "error")
    else:
        # Retrying "unknown" sends is the operator's explicit resend (they may have reached the phone).
        audit_request("campaign.resend" if which == "unknown" else "campaign.retry", f"campaign:{campaign.id}",
                      f"{which}: {created} new attempts")
        flash(f"{created} new attempts queued." if created else "Nothing to retry.", "success" if created else "info")
    return _back(campaign)


def _back(campaign):
    target = url_for("campaigns.detail", campaign_id=campaign.id)
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


EXPORT_COLUMNS = ["send_id", "attempt", "contact", "phone", "state", "provider_ref", "segments", "price", "currency",
                  "error_code", "error_text", "reason", "created_at", "submitted_at", "final_at"]


@bp.route("/<int:campaign_id>/export.csv")
def export(campaign_id):
    campaign = _campaign(campaign_id)
    audit_request("campaign.export", f"campaign:{campaign.id}")
    query = (Send.select(Send, Contact.name.alias("contact_name"))
             .join(Contact, on=(Send.contact_id == Contact.id), join_type=JOIN.LEFT_OUTER)
             .where(Send.campaign_id == campaign.id).order_by(Send.id).objects())

    def rows():
        # Runs while the response streams (a generator expression would open its cursor here, before the
        # request's connection is closed and reopened for the stream).
        for send in query.iterator():
            yield (send.id, send.attempt, getattr(send, "contact_name", "") or "", display(send.to_number),
                   send.state, send.provider_ref or "", send.segments, "" if send.price is None else send.price,
                   send.currency, send.error_code, send.error_text, _reason_words(send), send.created_at,
                   send.submitted_at or "",
                   send.final_at or "")

    return csv_download(f"campaign-{campaign.id}-results.csv", EXPORT_COLUMNS, rows())


def _reason_words(send):
    """The export's human reason; the raw code stays in its own column."""
    from webapp.reasons import send_reason

    reason = send_reason(send)
    return reason.words if reason else ""


@bp.app_context_processor
def _alerts():
    """The low-balance banner on every page for supervisors."""
    show = current_user.is_authenticated and current_user.has_role("supervisor") and sms.low_balance(
        current_app.config)
    return {"masking_low_balance": sms.masking_status() if show else None}
