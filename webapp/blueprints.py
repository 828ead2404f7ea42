"""Every blueprint, and the navigation entries they provide (shown only for areas that exist)."""
from webapp.api import init_app as api_init
from webapp.auth import admin_bp
from webapp.auth import bp as auth_bp
from webapp.callbacks import bp as callbacks_bp
from webapp.calls import bp as calls_bp
from webapp.calls import init_app as calls_init
from webapp.campaigns import bp as campaigns_bp
from webapp.campaigns import inbox_bp
from webapp.campaigns import init_app as campaigns_init
from webapp.campaigns.ivr import init_app as ivr_init
from webapp.contacts import bp as contacts_bp
from webapp.dashboard import bp as dashboard_bp
from webapp.ops import bp as ops_bp
from webapp.ops import init_app as ops_init
from webapp.otp import bp as otp_bp
from webapp.otp import init_app as otp_init
from webapp.otp import login_bp as twofactor_bp
from webapp.settings import bp as settings_bp

BLUEPRINTS = [auth_bp, admin_bp, dashboard_bp, settings_bp, callbacks_bp, contacts_bp, campaigns_bp, inbox_bp, calls_bp,
              otp_bp, twofactor_bp, ops_bp]
# Per-area setup run once per app: scheduled jobs, dispatcher senders and filters, timeline sources.
AREA_INITS = [campaigns_init, ivr_init, calls_init, otp_init, api_init, ops_init]

# (label, endpoint, minimum role); an entry whose endpoint is not registered is left out of the menu.
NAVIGATION = [
    ("Dashboard", "dashboard.index", "agent"),
    ("Contacts", "contacts.index", "agent"),
    ("Campaigns", "campaigns.index", "supervisor"),
    ("Calls", "calls.index", "agent"),
    ("OTP", "otp.index", "agent"),
    ("Inbox", "inbox.index", "agent"),
    ("Settings", "settings.index", "agent"),
    ("Logs", "ops.provider_log_index", "supervisor"),
]


def register(app):
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    for init in AREA_INITS:
        init(app)
