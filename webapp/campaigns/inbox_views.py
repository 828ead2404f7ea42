from flask import render_template, request

from webapp.campaigns import inbox, inbox_bp
from webapp.models import Contact
from webapp.params import one_page, page_number

PER_PAGE = 50


@inbox_bp.route("/")
def index():
    page = page_number(request.args)
    rows, has_next = one_page(inbox.messages(), page, PER_PAGE)
    contacts = {c.id: c for c in Contact.select().where(Contact.id.in_([m.contact_id for m in rows if m.contact_id]))}
    lines_count, lines = inbox.not_understood()
    return render_template("campaigns/inbox.html", messages=rows, contacts=contacts, page=page,
                           has_next=has_next, not_understood_count=lines_count,
                           not_understood=lines)
