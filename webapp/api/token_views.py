"""Settings > API tokens: each user creates (and sees once), lists and revokes their own tokens."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.api import pages_bp, tokens
from webapp.auth.service import audit
from webapp.models import utcnow
from webapp.params import id_value


def _expiry_days(raw):
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 5:
        raise tokens.TokenError("Expiry is a whole number of days (or empty for none).")
    return int(raw)


@pages_bp.route("/settings/api-tokens", methods=["GET", "POST"])
def api_tokens():
    created, error = None, None
    if request.method == "POST":
        user = current_user._get_current_object()
        try:
            row, created = tokens.create(user, request.form.get("name", ""), _expiry_days(request.form.get("expires")))
        except tokens.TokenError as exc:
            error = str(exc)
        else:
            audit("api_token.create", row.prefix, row.name, user_id=user.id, remote_addr=request.remote_addr or "")
    rows = tokens.for_user(current_user.id)
    return render_template("api/tokens.html", rows=rows, created=created, error=error, now=utcnow(),
                           docs_url=url_for("api.docs")), (422 if error else 200)


@pages_bp.route("/settings/api-tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id):
    if tokens.revoke(current_user.id, id_value(str(token_id))):
        audit("api_token.revoke", str(token_id), user_id=current_user.id, remote_addr=request.remote_addr or "")
        flash("Token revoked: requests made with it are refused from now on.", "success")
    return redirect(url_for("api_pages.api_tokens"), 303)
