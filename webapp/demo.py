"""Demo data for `flask demo`. Each area adds a seeder to SEEDERS; all are idempotent."""
from webapp.auth.service import create_user, set_password
from webapp.calls.demo import seed_calls
from webapp.campaigns.ivr import seed_demo as seed_robocalls
from webapp.contacts.demo import seed_contacts
from webapp.models import User

DEMO_ADMIN = "admin@example.com"
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
    if User.get_or_none(User.email == "agent@example.com") is None:
        agent = create_user("agent@example.com", "Demo Agent", "agent", admin_password)
        agent.phone = "+919876500002"
        agent.save()
    for seeder in SEEDERS:
        seeder(admin)
    return DEMO_ADMIN
