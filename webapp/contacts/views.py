"""Contacts pages. Each URL serves the full page, or only the part that changes to an htmx request."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth.decorators import role_required
from webapp.auth.service import audit
from webapp.contacts import bp, exporter, importer, optouts, service, timeline
from webapp.contacts.import_plan import DEDUPE_CHOICES
from webapp.contacts.importer import ImportFileError
from webapp.contacts.service import ContactError, Filters
from webapp.csv_export import csv_download, text_download
from webapp.models import Contact, ContactList, ImportJob, OptOut, utcnow
from webapp.params import id_list, page_number

# Bulk actions and the least role allowed to run each.
BULK_ACTIONS = {"opt_out": "agent", "add_to_list": "supervisor", "remove_from_list": "supervisor",
                "delete": "supervisor"}


def _fragment():
    # A history-restore request (back button with no cached page) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _refused_status():
    # htmx 2 does not swap 4xx responses, so a form with errors goes back to it as a normal 200 swap.
    return 200 if request.htmx else 422


def _get_or_404(model, object_id):
    obj = model.get_or_none(model.id == object_id)
    if obj is None:
        abort(404)
    return obj


def _audit(action, target, detail=""):
    audit(action, target, detail, user_id=current_user.id, remote_addr=request.remote_addr or "")


# --- list page ---------------------------------------------------------------------------------------------

def _results_context(filters, page_number):
    page = service.paginate(service.filter_contacts(filters), page_number)
    return {
        "filters": filters, "page": page, "lists": service.all_lists(), "statuses": service.STATUSES,
        "memberships": service.lists_by_contact([c.id for c in page.items]),
    }


@bp.route("/")
def index():
    context = _results_context(Filters.from_args(request.args), page_number(request.args))
    if _fragment():
        return render_template("contacts/_results.html", fragment=True, **context)
    return render_template("contacts/index.html", **context)


@bp.route("/bulk", methods=["POST"])
def bulk():
    form = request.form
    action = form.get("action")
    if action not in BULK_ACTIONS:
        abort(400)
    if not current_user.has_role(BULK_ACTIONS[action]):
        abort(403)
    filters = Filters.from_args(form)
    try:
        message, category = _bulk(action, service.selected_ids(form, filters), form), "success"
    except ContactError as exc:
        message, category = str(exc), "error"
    if not request.htmx:
        flash(message, category)
        return redirect(url_for("contacts.index", **filters.args()))
    context = _results_context(filters, page_number(form))
    return render_template("contacts/_results.html", fragment=True, message=message, category=category, **context)


def _bulk(action, ids, form):
    if not ids:
        raise ContactError("Select at least one contact first.")
    if action == "opt_out":
        changed = optouts.opt_out_contacts(ids, form.get("reason") or "Opted out by staff", "contact", current_user.id)
        return f"{changed} contact{'s' if changed != 1 else ''} opted out."
    if action == "delete":
        deleted = service.delete_contacts(ids)
        _audit("contacts.delete", f"{deleted} contacts")
        return f"{deleted} contact{'s' if deleted != 1 else ''} deleted."
    contact_list = service.list_or_error(form.get("target_list"))
    if action == "add_to_list":
        added = service.add_to_list(ids, contact_list.id)
        return f"{added} contact{'s' if added != 1 else ''} added to {contact_list.name}."
    removed = service.remove_from_list(ids, contact_list.id)
    return f"{removed} contact{'s' if removed != 1 else ''} removed from {contact_list.name}."


@bp.route("/export.csv")
@role_required("supervisor")
def export():
    filters = Filters.from_args(request.args)
    _audit("contacts.export", "contacts", repr(filters.args()))
    filename = f"contacts-{utcnow():%Y%m%d-%H%M}.csv"
    return text_download(filename, exporter.export_rows(service.filter_contacts(filters)))


# --- one contact -------------------------------------------------------------------------------------------

def _field_pairs(form):
    pairs = zip(form.getlist("field_key"), form.getlist("field_value"), strict=False)
    return [(key, value) for key, value in pairs if key.strip() or value.strip()]


def _form_fields(form):
    return service.clean_fields(_field_pairs(form))


@bp.route("/new", methods=["GET", "POST"])
def new():
    error = None
    if request.method == "POST":
        form = request.form
        try:
            list_ids = id_list(form.getlist("lists"))
            if list_ids and not current_user.has_role("supervisor"):
                list_ids = []
            contact = service.create_contact(form.get("name"), form.get("phone"), form.get("email"),
                                             _form_fields(form), list_ids, user_id=current_user.id)
        except ContactError as exc:
            error = str(exc)
        else:
            flash("Contact created.", "success")
            return redirect(url_for("contacts.detail", contact_id=contact.id))
    return render_template("contacts/new.html", error=error, form=request.form, field_rows=_field_pairs(request.form),
                           lists=service.all_lists()), (422 if error else 200)


def _detail_context(contact):
    return {
        "contact": contact,
        "contact_lists": service.lists_by_contact([contact.id])[contact.id],
        "lists": service.all_lists(),
        "timeline": timeline.build_timeline(contact),
        "call_enabled": "calls.start" in current_app.view_functions,
    }


@bp.route("/<int:contact_id>")
def detail(contact_id):
    return render_template("contacts/detail.html", **_detail_context(_get_or_404(Contact, contact_id)))


@bp.route("/<int:contact_id>/details")
def details(contact_id):
    contact = _get_or_404(Contact, contact_id)
    if not _fragment():
        return redirect(url_for("contacts.detail", contact_id=contact.id))
    return render_template("contacts/_details.html", contact=contact)


@bp.route("/<int:contact_id>/edit")
def edit(contact_id):
    contact = _get_or_404(Contact, contact_id)
    if _fragment():
        return render_template("contacts/_edit_form.html", contact=contact)
    return render_template("contacts/detail.html", editing=True, **_detail_context(contact))


@bp.route("/<int:contact_id>", methods=["POST"])
def update(contact_id):
    contact = _get_or_404(Contact, contact_id)
    form = request.form
    try:
        changed = service.update_contact(contact, form.get("name"), form.get("phone"), form.get("email"),
                                         _form_fields(form), user_id=current_user.id)
    except ContactError as exc:
        if _fragment():
            return render_template("contacts/_edit_form.html", contact=contact, error=str(exc), form=form,
                                   field_rows=_field_pairs(form)), _refused_status()
        return render_template("contacts/detail.html", editing=True, error=str(exc), form=form,
                               field_rows=_field_pairs(form), **_detail_context(contact)), 422
    if _fragment():
        return render_template("contacts/_details.html", contact=contact, saved=bool(changed))
    flash("Changes saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/opt-out", methods=["POST"])
def opt_out(contact_id):
    contact = _get_or_404(Contact, contact_id)
    optouts.opt_out_contacts([contact.id], request.form.get("reason") or "Opted out by staff", "contact",
                             current_user.id)
    _audit("contacts.opt_out", contact.phone, request.form.get("reason") or "")
    flash("The contact is opted out and on the do-not-contact list.", "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/opt-in", methods=["POST"])
@role_required("supervisor")
def opt_in(contact_id):
    contact = _get_or_404(Contact, contact_id)
    optouts.opt_in_contact(contact, current_user.id)
    _audit("contacts.opt_in", contact.phone)
    flash("The contact is opted back in.", "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/lists", methods=["POST"])
@role_required("supervisor")
def add_list(contact_id):
    contact = _get_or_404(Contact, contact_id)
    try:
        contact_list = service.list_or_error(request.form.get("list"))
    except ContactError as exc:
        flash(str(exc), "error")
    else:
        service.add_to_list([contact.id], contact_list.id)
        flash(f"Added to {contact_list.name}.", "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/lists/<int:list_id>/remove", methods=["POST"])
@role_required("supervisor")
def remove_list(contact_id, list_id):
    contact = _get_or_404(Contact, contact_id)
    contact_list = _get_or_404(ContactList, list_id)
    service.remove_from_list([contact.id], contact_list.id)
    flash(f"Removed from {contact_list.name}.", "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@role_required("supervisor")
def delete(contact_id):
    contact = _get_or_404(Contact, contact_id)
    service.delete_contacts([contact.id])
    _audit("contacts.delete", contact.phone)
    flash(f"Contact {contact.name or contact.phone} deleted.", "success")
    return redirect(url_for("contacts.index"))


# --- lists -------------------------------------------------------------------------------------------------

@bp.route("/lists", methods=["GET", "POST"])
def lists():
    error = None
    if request.method == "POST":
        if not current_user.has_role("supervisor"):
            abort(403)
        try:
            created = service.create_list(request.form.get("name"), request.form.get("description"))
        except ContactError as exc:
            error = str(exc)
        else:
            flash(f"List {created.name} created.", "success")
            return redirect(url_for("contacts.lists"))
    return render_template("contacts/lists.html", lists=service.all_lists(), sizes=service.list_sizes(),
                           error=error, form=request.form), (422 if error else 200)


@bp.route("/lists/<int:list_id>", methods=["POST"])
@role_required("supervisor")
def rename_list(list_id):
    contact_list = _get_or_404(ContactList, list_id)
    try:
        service.rename_list(contact_list, request.form.get("name"), request.form.get("description"))
    except ContactError as exc:
        flash(str(exc), "error")
    else:
        flash("List saved.", "success")
    return redirect(url_for("contacts.lists"))


@bp.route("/lists/<int:list_id>/delete", methods=["POST"])
@role_required("supervisor")
def delete_list(list_id):
    contact_list = _get_or_404(ContactList, list_id)
    contact_list.delete_instance()
    _audit("contacts.list_delete", contact_list.name)
    flash(f"List {contact_list.name} deleted; its contacts are kept.", "success")
    return redirect(url_for("contacts.lists"))


# --- do not contact ----------------------------------------------------------------------------------------

@bp.route("/do-not-contact", methods=["GET", "POST"])
def do_not_contact():
    error = None
    if request.method == "POST":
        try:
            entry = optouts.add_number(request.form.get("phone"), request.form.get("reason"), "manual", current_user.id)
        except ContactError as exc:
            error = str(exc)
        else:
            _audit("contacts.opt_out", entry.phone, entry.reason or "")
            flash(f"{entry.phone} will not be contacted.", "success")
            return redirect(url_for("contacts.do_not_contact"))
    q = (request.args.get("q") or "").strip()
    number = page_number(request.args)
    rows = list(optouts.search_numbers(q).limit(service.PER_PAGE + 1).offset((number - 1) * service.PER_PAGE))
    return render_template(
        "contacts/do_not_contact.html", entries=rows[:service.PER_PAGE], has_next=len(rows) > service.PER_PAGE,
        number=number, q=q, error=error, form=request.form, sources=optouts.SOURCES,
    ), (422 if error else 200)


@bp.route("/do-not-contact/<int:entry_id>/remove", methods=["POST"])
@role_required("supervisor")
def remove_number(entry_id):
    entry = _get_or_404(OptOut, entry_id)
    optouts.remove_number(entry, current_user.id)
    _audit("contacts.opt_in", entry.phone)
    flash(f"{entry.phone} removed from the do-not-contact list.", "success")
    return redirect(url_for("contacts.do_not_contact"))


# --- import ------------------------------------------------------------------------------------------------

def _recent_jobs():
    return list(ImportJob.select().order_by(ImportJob.id.desc()).limit(10))


@bp.route("/import", methods=["GET", "POST"])
@role_required("supervisor")
def import_upload():
    importer.expire_abandoned()
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose a CSV file to upload."
        else:
            try:
                job = importer.create_job(upload.stream, upload.filename, current_user.id)
            except ImportFileError as exc:
                error = str(exc)
            else:
                return redirect(url_for("contacts.import_job", job_id=job.id))
    return render_template("contacts/import.html", jobs=_recent_jobs(), error=error,
                           max_mb=current_app.config["IMPORT_MAX_MB"],
                           max_columns=current_app.config["IMPORT_MAX_COLUMNS"]), (422 if error else 200)


def _job_context(job):
    return {"job": job, "errors": _first_rows(job, ("refused", "duplicate")),
            "warnings": _first_rows(job, ("warning",)), "lists": service.all_lists(),
            "dedupe_choices": DEDUPE_CHOICES, "working": job.status in importer.WORK_STATES,
            "unclaimed": importer.waiting_for_a_worker(job)}


def _first_rows(job, kinds):
    return list(importer.error_rows(job, kinds).limit(20)) if job.processed_rows else []


@bp.route("/import/<int:job_id>")
@role_required("supervisor")
def import_job(job_id):
    context = _job_context(_get_or_404(ImportJob, job_id))
    if _fragment():
        return render_template("contacts/_import_state.html", **context)
    return render_template("contacts/import_job.html", **context)


@bp.route("/import/<int:job_id>/plan", methods=["POST"])
@role_required("supervisor")
def import_plan(job_id):
    job = _get_or_404(ImportJob, job_id)
    form = request.form
    headers = job.header_list
    try:
        mapping = importer.validate_mapping(
            headers, [form.get(f"target_{i}", "ignore") for i in range(len(headers))],
            [form.get(f"key_{i}", "") for i in range(len(headers))],
        )
        importer.configure(job, mapping, form.get("dedupe", ""), form.get("list"), form.get("new_list"))
    except ContactError as exc:
        flash(str(exc), "error")
    return redirect(url_for("contacts.import_job", job_id=job.id))


@bp.route("/import/<int:job_id>/confirm", methods=["POST"])
@role_required("supervisor")
def import_confirm(job_id):
    job = _get_or_404(ImportJob, job_id)
    try:
        job = importer.confirm(job)
    except ContactError as exc:
        flash(str(exc), "error")
    else:
        _audit("contacts.import", job.filename, f"job {job.id}")
    if _fragment():
        # The preview is replaced by the progress, which polls from here on: no page load.
        return render_template("contacts/_import_state.html", **_job_context(job))
    return redirect(url_for("contacts.import_job", job_id=job.id))


@bp.route("/import/<int:job_id>/cancel", methods=["POST"])
@role_required("supervisor")
def import_cancel(job_id):
    job = _get_or_404(ImportJob, job_id)
    try:
        importer.cancel(job)
    except ContactError as exc:
        flash(str(exc), "error")
    return redirect(url_for("contacts.import_job", job_id=job.id))


@bp.route("/import/<int:job_id>/errors.csv")
@role_required("supervisor")
def import_errors(job_id):
    job = _get_or_404(ImportJob, job_id)
    header = [*importer.ERROR_COLUMNS, *job.header_list]

    def rows():
        for error in importer.error_rows(job).iterator():
            yield [error.line, error.reason, *error.cells]

    return csv_download(f"import-{job.id}-errors.csv", header, rows())
