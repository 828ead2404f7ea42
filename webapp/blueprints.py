"""Every blueprint, and the navigation entries they provide (shown only for areas that exist)."""
from webapp.auth import admin_bp
from webapp.auth import bp as auth_bp
from webapp.callbacks import bp as callbacks_bp
from webapp.dashboard import bp as dashboard_bp
from webapp.settings import bp as settings_bp

BLUEPRINTS = [auth_bp, admin_bp, dashboard_bp, settings_bp, callbacks_bp]

# (label, endpoint, minimum role); an entry whose endpoint is not registered is left out of the menu.
NAVIGATION = [
    ("Dashboard", "dashboard.index", "agent"),
    ("Contacts", "contacts.index", "agent"),
    ("Campaigns", "campaigns.index", "supervisor"),
    ("Calls", "calls.index", "agent"),
    ("OTP", "otp.index", "agent"),
    ("Inbox", "inbox.index", "agent"),
    ("Settings", "settings.index", "agent"),
]


def register(app):
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
