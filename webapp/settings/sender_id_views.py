"""Settings > Sender ids: the list per provider, kept by admins, each checkable by a test send."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth.decorators import role_required
from webapp.auth.service import audit_request
from webapp.models import Send, SenderId
from webapp.settings import bp, sender_ids


@bp.app_template_global("sender_choices")
def _sender_choices():
    """Compose's sender id options per provider, for any page that offers them."""
    return sender_ids.all_choices()


@bp.route("/sender-ids", methods=["GET", "POST"])
@role_required("admin")
def sender_id_list():
    error = None
    if request.method == "POST":
        try:
            added = sender_ids.add(request.form.get("provider", ""), request.form.get("value", ""),
                                   request.form.get("note", ""))
        except sender_ids.SenderIdError as exc:
            error = str(exc)
        else:
            audit_request("settings.sender_id_add", f"{added.provider}:{added.value}", added.note or "")
            flash(f"Sender id {added.value} added for {sender_ids.PROVIDERS[added.provider]}.", "success")
            return redirect(url_for("settings.sender_id_list"))
    rows = list(SenderId.select().order_by(SenderId.provider, SenderId.value))
    checks = {s.id: s for s in Send.select().where(Send.id.in_([r.check_send_id for r in rows if r.check_send_id]))}
    return render_template("settings/sender_ids.html", rows=rows, checks=checks, error=error,
                           providers=sender_ids.PROVIDERS, form=request.form), (422 if error else 200)


@bp.route("/sender-ids/<int:sender_id>/delete", methods=["POST"])
@role_required("admin")
def sender_id_delete(sender_id):
    sender = _sender(sender_id)
    sender_ids.remove(sender.id)
    audit_request("settings.sender_id_remove", f"{sender.provider}:{sender.value}")
    flash(f"Sender id {sender.value} removed; campaigns already launched keep it.", "success")
    return redirect(url_for("settings.sender_id_list"))


@bp.route("/sender-ids/<int:sender_id>/check", methods=["GET", "POST"])
@role_required("admin")
def sender_id_check(sender_id):
    """POST sends a test SMS with this sender id; GET (polled) shows how the provider answered."""
    sender = _sender(sender_id)
    if request.method == "POST":
        try:
            sender_ids.check(sender, request.form.get("test_number", ""), current_user.id)
        except ValueError as exc:
            return render_template("settings/_sender_check.html", sender=sender, send=None, error=str(exc)), 422
        sender = _sender(sender_id)
    return render_template("settings/_sender_check.html", sender=sender, send=sender_ids.last_check(sender),
                           error=None)


def _sender(sender_id):
    sender = SenderId.get_or_none(SenderId.id == sender_id)
    if sender is None:
        abort(404)
    return sender
