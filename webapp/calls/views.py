"""Click-to-call pages. Each URL serves the full page, or only the part that changes to an htmx request."""
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.calls import bp, service
from webapp.calls.progress import settle_from_send
from webapp.calls.service import CallError
from webapp.live import fragment_requested, render_live
from webapp.models import CallEvent
from webapp.params import id_value, page_number


def _user():
    return current_user._get_current_object()


@bp.route("/")
def index():
    user = _user()
    filters = service.Filters.from_args(request.args)
    context = {
        "filters": filters,
        "page": service.paginate(service.filter_calls(user, filters), page_number(request.args)),
        "statuses": service.status_choices(user),
        "agents": service.agents_with_phones() if user.has_role("supervisor") else [],
    }
    if fragment_requested():
        return render_template("calls/_results.html", **context)
    return render_template("calls/index.html", **context)


@bp.route("/start", methods=["POST"])
def start():
    form = request.form
    compact = form.get("compact") == "1"
    try:
        call, _created = service.start_call(
            _user(), form.get("key"), phone=form.get("phone", ""), contact_id=id_value(form.get("contact_id")),
            agent_id=id_value(form.get("agent_id")))
    except CallError as exc:
        return _refused(str(exc), form, compact)
    page = url_for("calls.detail", call_id=call.id)
    if request.htmx and compact:
        # A table row has no room for the panel: open the call's page instead.
        return "", 204, {"HX-Redirect": page}
    if request.htmx:
        return render_template("calls/_panel.html", call=call, send=service.call_send(call), with_events=False)
    return redirect(page)


def _refused(message, form, compact):
    if not request.htmx:
        flash(message, "error")
        return redirect(_back())
    # htmx 2 does not swap 4xx answers: the button comes back (200) with the reason beside it.
    typed = form.get("dial") == "1"
    return render_template(
        "calls/_call_button.html", phone=None if typed else form.get("phone"), contact_id=form.get("contact_id"),
        call_typed=form.get("phone", "") if typed else "", call_compact=compact, call_error=message,
        call_key=form.get("key"), call_agent_id=id_value(form.get("agent_id")))


def _back():
    """Where a refused plain form returns: the page it came from, when that page is ours."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.scheme in ("http", "https"):
        return request.referrer
    return url_for("calls.index")


@bp.route("/<int:call_id>")
def detail(call_id):
    call = service.visible_call(_user(), call_id)
    if call is None:
        abort(404)
    send = service.call_send(call)
    call = settle_from_send(call, send)
    with_events = not fragment_requested() or request.args.get("events") == "1"
    events = (list(CallEvent.select().where(CallEvent.call == call.id).order_by(CallEvent.at, CallEvent.id))
              if with_events else [])
    context = {"call": call, "send": send, "events": events, "with_events": with_events}
    return render_live("calls/detail.html", "calls/_panel.html", call.live, **context)
