"""The OTP page: send a code to a number, follow its delivery, check the code the person reads back.

Each URL serves its full page, or to htmx only the part that changes: the request's page answers a poll
with its status fragment, and the verify and resend forms with the panel they sit in.
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth.decorators import role_required
from webapp.auth.passwords import verify_password
from webapp.live import render_live
from webapp.models import Contact, OtpAttempt, OtpRequest
from webapp.otp import bp, service, twofactor
from webapp.otp.service import OtpError
from webapp.params import id_value


@bp.before_request
@role_required("agent")
def _staff_only():
    return None


def _addr():
    return request.remote_addr or ""


def _otp_or_404(otp_id):
    """A contact OTP for any staff member; a two-factor enrolment only for the user it belongs to."""
    otp = OtpRequest.get_or_none(OtpRequest.id == otp_id)
    if otp is None or otp.purpose == "login" or (otp.purpose == "enroll" and otp.user_id != current_user.id):
        abort(404)
    return otp


def _prefill(args):
    contact = None
    if id_value(args.get("contact_id")):
        contact = Contact.get_or_none(Contact.id == id_value(args["contact_id"]))
    phone = contact.phone if contact else (args.get("phone") or "").strip()
    if contact is None and phone:
        from webapp.contacts.service import find_by_phone

        contact = find_by_phone(phone)
    form = {"phone": phone, "method": "miscall", "valid_time": service.DEFAULT_VALID_TIME,
            "limit_try": service.DEFAULT_LIMIT_TRY, "sms_text": service.DEFAULT_SMS_TEXT,
            "contact_id": contact.id if contact else ""}
    return form, contact


def _index(form, contact=None, errors=None, status=200, error=None):
    return render_template("otp/index.html", form=form, contact=contact, errors=errors or {}, error=error,
                           recent=service.recent(), methods=service.METHODS,
                           code_placeholder=service.CODE_PLACEHOLDER), status


@bp.route("/")
def index():
    form, contact = _prefill(request.args)
    return _index(form, contact)


@bp.route("/", methods=["POST"])
def start():
    try:
        values = service.read_form(request.form)
    except OtpError as exc:
        contact = Contact.get_or_none(Contact.id == id_value(request.form.get("contact_id")))
        return _index(request.form, contact, exc.fields, 422)
    try:
        otp = service.start(user_id=current_user.id, remote_addr=_addr(), **values)
    except OtpError as exc:
        contact = Contact.get_or_none(Contact.id == values["contact_id"]) if values["contact_id"] else None
        return _index(request.form, contact, status=429, error=str(exc))
    return redirect(url_for("otp.detail", otp_id=otp.id), 303)


def _panel_context(otp, error=None):
    return {
        "otp": otp, "progress": service.progress(otp), "error": error, "methods": service.METHODS,
        "attempts": OtpAttempt.select().where(OtpAttempt.otp == otp.id).order_by(OtpAttempt.id.desc()),
        "contact": Contact.get_or_none(Contact.id == otp.contact_id) if otp.contact_id else None,
        "status_url": url_for("otp.detail", otp_id=otp.id), "advice": service.SIGNAL_ADVICE,
    }


@bp.route("/<int:otp_id>")
def detail(otp_id):
    otp = _otp_or_404(otp_id)
    context = _panel_context(otp)
    return render_live("otp/detail.html", "otp/_panel.html", context["progress"].live, **context)


def _after_action(otp, error=None):
    """htmx gets the refreshed panel (200 even on a refusal: htmx 2 swaps no 4xx); a plain form a redirect."""
    if request.htmx:
        return render_template("otp/_panel.html", **_panel_context(otp, error))
    if error:
        flash(error, "error")
    return redirect(url_for("otp.detail", otp_id=otp.id), 303)


@bp.route("/<int:otp_id>/verify", methods=["POST"])
def verify(otp_id):
    otp = _otp_or_404(otp_id)
    try:
        service.verify(otp, request.form.get("code", ""), user_id=current_user.id, remote_addr=_addr())
    except OtpError as exc:
        return _after_action(otp, str(exc))
    return _after_action(OtpRequest.get_by_id(otp.id))


@bp.route("/<int:otp_id>/resend", methods=["POST"])
def resend(otp_id):
    otp = _otp_or_404(otp_id)
    try:
        otp = service.resend(otp, request.form.get("method"), user_id=current_user.id, remote_addr=_addr())
    except OtpError as exc:
        return _after_action(otp, str(exc))
    return _after_action(otp)


# --- two-factor sign-in, from the Settings page -------------------------------------------------------------

@bp.route("/two-factor/enable", methods=["POST"])
def two_factor_enable():
    """Turning two-factor on first proves the phone works: a missed call whose code the user types back."""
    try:
        otp = twofactor.begin_enrolment(current_user, _addr())
    except OtpError as exc:
        flash(str(exc), "error")
        return redirect(url_for("settings.index"), 303)
    return redirect(url_for("otp.detail", otp_id=otp.id), 303)


@bp.route("/two-factor/disable", methods=["POST"])
def two_factor_disable():
    # The password again, so a session left open is not enough to weaken the account.
    if not verify_password(current_user.password_hash, request.form.get("password", "")):
        flash("Wrong password: two-factor sign-in stays on.", "error")
    else:
        service.set_two_factor(current_user, False, current_user.id, _addr())
        flash("Two-factor sign-in is off.", "success")
    return redirect(url_for("settings.index"), 303)
