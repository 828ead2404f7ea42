from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth import admin_bp, sessions
from webapp.auth.decorators import role_required
from webapp.auth.service import (
    UserError,
    audit,
    check_timezone,
    clean_name,
    create_user,
    set_active,
    set_password,
)
from webapp.models import ROLES, User
from webapp.phones import PhoneError, to_e164


@admin_bp.before_request
@role_required("admin")
def _admins_only():
    return None


@admin_bp.route("/")
def index():
    users = User.select().order_by(User.active.desc(), User.name)
    return render_template("admin/users.html", users=users, roles=ROLES)


@admin_bp.route("/", methods=["POST"])
def create():
    form = request.form
    try:
        user = create_user(form.get("email"), form.get("name"), form.get("role"), form.get("password"))
    except UserError as exc:
        users = User.select().order_by(User.active.desc(), User.name)
        return render_template("admin/users.html", users=users, roles=ROLES, error=str(exc), form=form), 422
    audit("user.create", user.email, user_id=current_user.id, remote_addr=request.remote_addr or "")
    flash(f"User {user.email} created.", "success")
    return redirect(url_for("admin.index"))


@admin_bp.route("/<int:user_id>", methods=["GET", "POST"])
def edit(user_id):
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return render_template("errors/404.html"), 404
    error = None
    if request.method == "POST":
        form = request.form
        old_role = user.role
        try:
            _apply_edit(user, form)
        except UserError as exc:
            error = str(exc)
        else:
            changed = f"role {old_role} > {user.role}" if user.role != old_role else ""
            audit("user.role" if changed else "user.update", user.email, changed, user_id=current_user.id,
                  remote_addr=request.remote_addr or "")
            flash("Changes saved.", "success")
            return redirect(url_for("admin.edit", user_id=user.id))
    return render_template("admin/user_edit.html", user=user, roles=ROLES, error=error), (422 if error else 200)


def _apply_edit(user, form):
    role = form.get("role", user.role)
    if role not in ROLES:
        raise UserError("Unknown role.")
    if user.id == current_user.id and role != "admin":
        raise UserError("You cannot remove your own admin role.")
    phone = (form.get("phone") or "").strip()
    try:
        user.phone = to_e164(phone) if phone else None
    except PhoneError as exc:
        raise UserError(f"Phone: {exc}") from exc
    user.name = clean_name(form.get("name") or user.name)
    user.role = role
    user.timezone = check_timezone(form.get("timezone") or user.timezone)
    user.save()
    if form.get("password"):
        set_password(user, form["password"])


@admin_bp.route("/<int:user_id>/active", methods=["POST"])
def toggle_active(user_id):
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return render_template("errors/404.html"), 404
    if user.id == current_user.id:
        flash("You cannot deactivate yourself.", "error")
    else:
        set_active(user, not user.active)
        audit("user.activate" if user.active else "user.deactivate", user.email, user_id=current_user.id)
        flash(f"{user.email} is now {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.index"))


@admin_bp.route("/<int:user_id>/sign-out", methods=["POST"])
def sign_out_everywhere(user_id):
    """A lost laptop or a leaked password: every browser of this user is signed out, remember-me included."""
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return render_template("errors/404.html"), 404
    count = sessions.revoke_all(user.id)
    audit("sessions.revoke_all", user.email, detail=str(count), user_id=current_user.id,
          remote_addr=request.remote_addr or "")
    flash(f"{user.email} is signed out of {count} browser{'s' if count != 1 else ''}.", "success")
    return redirect(url_for("admin.edit", user_id=user.id))


@admin_bp.route("/<int:user_id>/two-factor/reset", methods=["POST"])
def reset_two_factor(user_id):
    """For a user who lost their phone: sign-in falls back to the password until they turn it on again."""
    from webapp.otp.service import set_two_factor

    user = User.get_or_none(User.id == user_id)
    if user is None:
        return render_template("errors/404.html"), 404
    set_two_factor(user, False, current_user.id, request.remote_addr or "")
    flash(f"Two-factor sign-in is off for {user.email}.", "success")
    return redirect(url_for("admin.edit", user_id=user.id))
