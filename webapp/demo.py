"""Demo data for `flask demo`. Each area adds a seeder to SEEDERS; all are idempotent."""
from webapp.auth.service import create_user, set_password
from webapp.calls.demo import seed_calls
from webapp.campaigns.ivr import seed_demo as seed_robocalls
from webapp.config import SANDBOX_PATHS
from webapp.contacts.demo import seed_contacts
from webapp.models import User

DEMO_ADMIN = "admin@example.com"
# Every other demo account; each gets the admin's fresh password on every start.
DEMO_USERS = [("agent@example.com", "Demo Agent", "agent", "+919876500002")]
# callables(admin_user) run in order after the admin exists; each checks whether its data is there.
SEEDERS = [seed_contacts, seed_calls, seed_robocalls]


def seed_demo(admin_password):
    admin = User.get_or_none(User.email == DEMO_ADMIN)
    if admin is None:
        admin = create_user(DEMO_ADMIN, "Demo Admin", "admin", admin_password)
        admin.phone = "+919876500001"
        admin.save()
    else:
        # A fresh password each start, so the printed one always works.
        set_password(admin, admin_password)
    for email, name, role, phone in DEMO_USERS:
        user = User.get_or_none(User.email == email)
        if user is None:
            user = create_user(email, name, role, admin_password)
            user.phone = phone
            user.save()
        else:
            set_password(user, admin_password)
    for seeder in SEEDERS:
        seeder(admin)
    return DEMO_ADMIN


def move_ports(config, host, port, sandbox_port):
    """Point the provider URLs at the simulators' port and the callback URLs at the app's port, as given on
    the command line (config was finalised for the default ports)."""
    old_sandbox = config["SANDBOX_URL"].rstrip("/")
    new_sandbox = f"http://{host}:{sandbox_port}"
    for name, path in SANDBOX_PATHS.items():
        if config.get(name) == old_sandbox + path:
            config[name] = new_sandbox + path
    config["SANDBOX_URL"] = new_sandbox
    config["PUBLIC_BASE_URL"] = f"http://{host}:{port}"
