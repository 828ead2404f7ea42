"""Click-to-call fixtures: users with Indian phones, Indian contacts, and a sandbox whose call steps run only
on flush() (in order, over real loopback HTTP to the app), so no callback outlives its test."""
import pytest

from tests.calls.helpers import PHONES, customer
from webapp.models import User


@pytest.fixture
def sandbox(sandbox):
    sandbox.configure(SANDBOX_EVENT_DELAY=3600)
    return sandbox


@pytest.fixture
def staff(users):
    """The three users, each with an Indian phone (Airtel rings only +91 numbers)."""
    for role, phone in PHONES.items():
        User.update(phone=phone).where(User.id == users[role].id).execute()
    return {role: User.get_by_id(user.id) for role, user in users.items()}


@pytest.fixture
def make_contact(app):
    def make(suffix="0000", name=None):
        from webapp.contacts.service import create_contact

        with app.app_context():
            return create_contact(name or f"Customer {suffix}", customer(suffix))

    return make


@pytest.fixture
def contact(make_contact):
    return make_contact("0000", "Asha Rao")
