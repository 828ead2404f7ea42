"""Settings > Webhooks (admins): register endpoints for events, and the deliveries with their answers."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.api import pages_bp, webhook_events, webhooks
from webapp.auth.decorators import role_required
from webapp.auth.service import audit
from webapp.models import WebhookDelivery, WebhookEndpoint
from webapp.params import id_value, page_number

PER_PAGE = 50


@pages_bp.route("/settings/webhooks", methods=["GET", "POST"])
@role_required("admin")
def webhook_list():
    error = None
    if request.method == "POST":
        try:
            endpoint = webhooks.create_endpoint(request.form.get("url"), request.form.getlist("events"),
                                                current_user.id)
        except webhooks.WebhookError as exc:
            error = str(exc)
        else:
            webhook_events.forget_subscriptions()
            audit("webhook.create", endpoint.url, endpoint.events, user_id=current_user.id,
                  remote_addr=request.remote_addr or "")
            flash("Webhook added. Give its secret to the receiving system to verify signatures.", "success")
            return redirect(url_for("api_pages.webhook_list"), 303)
    endpoints = list(WebhookEndpoint.select().order_by(WebhookEndpoint.id.desc()))
    return render_template("api/webhooks.html", endpoints=endpoints, events=webhooks.EVENTS, error=error,
                           form=request.form), (422 if error else 200)


@pages_bp.route("/settings/webhooks/<int:endpoint_id>/disable", methods=["POST"])
@role_required("admin")
def webhook_disable(endpoint_id):
    if WebhookEndpoint.update(active=False).where(WebhookEndpoint.id == endpoint_id).execute():
        webhook_events.forget_subscriptions()
        audit("webhook.disable", str(endpoint_id), user_id=current_user.id, remote_addr=request.remote_addr or "")
        flash("Webhook turned off: no new events are recorded for it.", "success")
    return redirect(url_for("api_pages.webhook_list"), 303)


@pages_bp.route("/settings/webhooks/deliveries")
@role_required("admin")
def webhook_deliveries():
    page = page_number(request.args)
    query = WebhookDelivery.select().order_by(WebhookDelivery.id.desc())
    endpoint_id = id_value(request.args.get("hook"))
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    state = request.args.get("state", "")
    if state in ("pending", "delivered", "failed"):
        query = query.where(WebhookDelivery.state == state)
    rows = list(query.paginate(page, PER_PAGE + 1))
    endpoints = {e.id: e for e in WebhookEndpoint.select()}
    return render_template("api/webhook_deliveries.html", rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE,
                           page=page, endpoints=endpoints, state=state, endpoint_id=endpoint_id)


@pages_bp.route("/settings/webhooks/deliveries/<int:delivery_id>/retry", methods=["POST"])
@role_required("admin")
def webhook_retry(delivery_id):
    if webhooks.retry_now(delivery_id):
        flash("Delivery queued again: the worker sends it within seconds.", "success")
    return redirect(url_for("api_pages.webhook_deliveries"), 303)
