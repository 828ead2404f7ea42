from flask import abort, flash, redirect, render_template, request, url_for

from webapp.auth.decorators import role_required
from webapp.auth.service import audit_request
from webapp.csv_export import csv_download
from webapp.models import Send
from webapp.ops import audit_trail, bp, callback_browser, keyset, provider_log, send_story
from webapp.params import one_page, page_number
from webapp.providers import REGISTRY


@bp.route("/audit")
@role_required("admin")
def audit():
    filters = audit_trail.AuditFilters.from_args(request.args)
    page = page_number(request.args)
    rows, has_next = one_page(audit_trail.entries(filters), page, audit_trail.PER_PAGE)
    return render_template("ops/audit.html", rows=rows, has_next=has_next, page=page, args=request.args,
                           actions=audit_trail.actions(), actors=audit_trail.actors())


@bp.route("/audit.csv")
@role_required("admin")
def audit_export():
    filters = audit_trail.AuditFilters.from_args(request.args)
    audit_request("audit.export", "audit_log", request.query_string.decode("ascii", "replace")[:500])
    return csv_download("audit-trail.csv", audit_trail.CSV_HEADER, audit_trail.csv_rows(filters))


@bp.route("/provider-log")
@role_required("supervisor")
def provider_log_index():
    filters = provider_log.LogFilters.from_args(request.args)
    rows, before = keyset.page(provider_log.exchanges(filters), provider_log.ChannelLog.id, request.args)
    return render_template("ops/provider_log.html", rows=rows, before=before, args=request.args,
                           providers=sorted(REGISTRY), statuses=provider_log.STATUSES)


@bp.route("/callbacks")
@role_required("supervisor")
def callbacks():
    filters = callback_browser.CallbackFilters.from_args(request.args)
    rows, before = keyset.page(callback_browser.events(filters), callback_browser.CallbackEvent.id, request.args)
    return render_template("ops/callbacks.html", rows=rows, before=before, args=request.args,
                           sends=callback_browser.sends_for(rows), body_text=callback_browser.body_text,
                           providers=sorted(REGISTRY), statuses=callback_browser.STATUSES)


@bp.route("/callbacks/<int:event_id>/replay", methods=["POST"])
@role_required("admin")
def replay_callback(event_id):
    try:
        status, error = callback_browser.replay(event_id)
    except callback_browser.ReplayRefused as exc:
        abort(409, str(exc))
    audit_request("callback.replay", f"callback:{event_id}", f"{status} {error}".strip())
    flash(f"Callback {event_id} replayed: {status}{': ' + error if error else ''}.",
          "error" if status == "failed" else "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("ops.callbacks"), 303)


def _same_site(url):
    return bool(url) and url.startswith(request.host_url)


@bp.route("/sends/<int:send_id>")
@role_required("supervisor")
def send_page(send_id):
    send = Send.get_or_none(Send.id == send_id)
    if send is None:
        abort(404)
    return render_template("ops/send.html", send=send, moments=send_story.story(send),
                           body_text=callback_browser.body_text)
