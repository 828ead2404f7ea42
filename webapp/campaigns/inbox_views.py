from flask import render_template, request

from webapp.campaigns import inbox, inbox_bp
from webapp.models import Contact
from webapp.params import page_number

PER_PAGE = 50


@inbox_bp.route("/")
def index():
    page = page_number(request.args)
    rows = list(inbox.messages().paginate(page, PER_PAGE + 1))
    contacts = {c.id: c for c in Contact.select().where(Contact.id.in_([m.contact_id for m in rows if m.contact_id]))}
    lines_count, lines = inbox.not_understood()
    return render_template("campaigns/inbox.html", messages=rows[:PER_PAGE], contacts=contacts, page=page,
                           has_next=len(rows) > PER_PAGE, not_understood_count=lines_count,
                           not_understood=lines)
