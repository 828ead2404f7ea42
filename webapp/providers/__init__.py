"""Provider registry: name -> module. Each module has the same surface (see base.py and DESIGN.md)."""
import importlib
import threading

REGISTRY = {
    "citcall": "webapp.providers.citcall",
    "masking": "webapp.providers.masking",
    "airtel": "webapp.providers.airtel",
    "oca": "webapp.providers.oca",
}


def module(name):
    return importlib.import_module(REGISTRY[name])


def client_for(name, config=None, log_sink=None):
    """A client built from the app config; by default its exchanges go to the ChannelLog table."""
    from flask import current_app

    from webapp.providers.channel_log import db_sink

    config = config if config is not None else current_app.config
    return module(name).Client.from_config(config, log_sink=log_sink if log_sink is not None else db_sink)


def shared_client(name, app=None):
    """A client per app and thread, so dispatcher threads and jobs reuse their HTTP connections."""
    from flask import current_app

    app = app or current_app._get_current_object()
    local = app.extensions.setdefault("provider_clients", threading.local())
    cache = local.__dict__.setdefault("clients", {})
    if name not in cache:
        cache[name] = client_for(name, app.config)
    return cache[name]
