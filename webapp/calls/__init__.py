"""Click-to-call through Airtel: the call button, the live call panel, call history."""
from flask import Blueprint

bp = Blueprint("calls", __name__, url_prefix="/calls")


def init_app(app):
    from webapp.calls import progress, service
    from webapp.contacts.timeline import TIMELINE_SOURCES
    from webapp.dispatch.registry import Sender, on_update, register_sender
    from webapp.dispatch.updates import SEND_FINDERS

    # An agent is waiting at the phone: a call that cannot reach Airtel is retried briefly, then given up.
    register_sender(Sender(kind=service.KIND, provider=service.PROVIDER, send=service.send_call, max_tries=3))
    on_update(service.KIND, progress.on_send_update)
    SEND_FINDERS[service.PROVIDER] = service.send_for_callback
    if service.calls_timeline not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(service.calls_timeline)
    # The call button is rendered by other areas' pages, so what it needs is global to every template.
    app.jinja_env.globals["new_call_key"] = service.new_key
    app.jinja_env.globals["call_agents"] = service.agents_with_phones
    app.jinja_env.globals["call_refusal"] = service.call_refusal
    app.jinja_env.filters["duration"] = service.duration_text


from webapp.calls import views  # noqa: E402,F401  (routes register on import)
