"""/calls/new?phone=…: the link a CRM or helpdesk opens to call someone from the console.

Opening a link must never ring anyone by itself (a prefetch, a crawler, a forged link in an e-mail): the page
only asks, with the same call button as everywhere else, and the call starts when the signed-in agent
presses it (a POST with its CSRF token and one-time key, to the calls area's own start)."""
from flask import render_template, request

from webapp.api import pages_bp
from webapp.calls.service import DIAL_REGION
from webapp.contacts.service import find_by_phone
from webapp.models import Contact
from webapp.params import id_value
from webapp.phones import PhoneError, to_e164


@pages_bp.route("/calls/new")
def call_link():
    raw = (request.args.get("phone") or "").strip()[:40]
    contact = None
    contact_id = id_value(request.args.get("contact_id"))
    if contact_id:
        contact = Contact.get_or_none(Contact.id == contact_id)
    phone, error = (contact.phone if contact else None), ""
    if phone is None and raw:
        try:
            phone = to_e164(raw, region=DIAL_REGION)
        except PhoneError as exc:
            error = f"The link's number {raw!r} cannot be read: {exc}."
        else:
            contact = find_by_phone(phone)
    return render_template("api/call_link.html", phone=phone, contact=contact, raw=raw, error=error)
