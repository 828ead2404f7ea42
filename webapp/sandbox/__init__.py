"""Local simulators of the four providers, served by `flask sandbox` (default port 5055).

Each simulator is a blueprint in its own module (citcall.py, masking.py, airtel.py, oca.py) with the
provider's paths, auth checks, error bodies and asynchronous lifecycle. Shared machinery lives in state.py:
every request is recorded (tests assert on it), and delayed work (delivery reports, call progress,
callbacks to the app) runs on a timer thread that tests can flush.
"""
import importlib

from flask import Flask

from webapp.sandbox.state import SandboxState

SIMULATORS = {
    "citcall": ("webapp.sandbox.citcall", "/citcall/gateway/v3"),
    "masking": ("webapp.sandbox.masking", "/masking"),
    "airtel": ("webapp.sandbox.airtel", "/airtel"),
    "oca": ("webapp.sandbox.oca", "/oca/api/v1"),
}


def create_sandbox_app(settings=None):
    """settings: credentials (the contract's names), CALLBACK_BASE_URL, CALLBACK_TOKEN, delays, latency."""
    app = Flask("sandbox")
    state = SandboxState(settings or {})
    app.extensions["sandbox"] = state

    @app.before_request
    def record_and_delay():
        state.record()
        state.simulate_latency()

    for name, (module_name, prefix) in SIMULATORS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        app.register_blueprint(module.bp, url_prefix=prefix, name=f"sandbox_{name}")
        state.simulators[name] = module.Simulator(state) if hasattr(module, "Simulator") else None

    @app.get("/")
    def index():
        return {"simulators": {name: prefix for name, (_, prefix) in SIMULATORS.items() if name in state.simulators}}

    return app


def settings_from_config(config):
    """What the sandbox needs from the app's config when both run together (demo, tests)."""
    keys = [
        "CITCALL_API_KEY", "MASKING_USERNAME", "MASKING_PASSWORD", "AIRTEL_USERNAME", "AIRTEL_PASSWORD",
        "AIRTEL_CUSTOMER_ID", "AIRTEL_CALL_FLOW_ID", "AIRTEL_CALLER_ID", "OCA_USERNAME", "OCA_PASSWORD",
        "CALLBACK_TOKEN",
    ]
    settings = {key: config.get(key) for key in keys}
    settings["CALLBACK_BASE_URL"] = config["PUBLIC_BASE_URL"].rstrip("/")
    for key, value in config.items():
        if key.startswith("SANDBOX_"):
            settings[key] = value
    # The simulated account allows as many concurrent calls as the app is configured to make, as a real
    # account's OCA_MAX_CONCURRENT_CALLS should; set SANDBOX_OCA_MAX_CONCURRENT lower to watch 57 throttling.
    settings.setdefault("SANDBOX_OCA_MAX_CONCURRENT", config.get("OCA_MAX_CONCURRENT_CALLS"))
    return settings
