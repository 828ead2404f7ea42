"""/calls/new?phone=…: sign in first, then confirm; only the button press starts the call."""
import re
from urllib.parse import quote

from tests.calls.helpers import PHONES, customer
from webapp.contacts.service import create_contact
from webapp.models import Call, User


def test_the_link_asks_for_sign_in_then_confirmation_then_calls(auth, app, users):
    with app.app_context():
        User.update(phone=PHONES["agent"]).where(User.id == users["agent"].id).execute()
        contact = create_contact("Asha Rao", customer("0000"))
    link = f"/calls/new?phone={quote(customer('0000'))}"
    anonymous = auth.client.get(link)
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    assert "%2Fcalls%2Fnew" in anonymous.headers["Location"] or "/calls/new" in anonymous.headers["Location"]
    auth.login("agent")
    page = auth.client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Asha Rao" in html and "Nothing happens until you press" in html
    with app.app_context():
        assert Call.select().count() == 0, "opening the link rings no one"
    key = re.search(r'name="key" value="([0-9a-f]{32})"', html).group(1)
    assert f'name="contact_id" value="{contact.id}"' in html
    started = auth.post("/calls/start", data={"key": key, "phone": customer("0000"), "contact_id": contact.id})
    assert started.status_code == 302
    with app.app_context():
        call = Call.get()
        assert call.customer_number == customer("0000") and call.contact_id == contact.id


def test_an_unreadable_or_missing_number_lets_the_agent_type_one(auth):
    auth.login("agent")
    html = auth.client.get("/calls/new?phone=abc").get_data(as_text=True)
    assert "cannot be read" in html and 'name="dial" value="1"' in html
    assert 'name="dial" value="1"' in auth.client.get("/calls/new").get_data(as_text=True)


def test_a_number_that_cannot_be_called_shows_why(auth):
    auth.login("agent")
    html = auth.client.get("/calls/new?phone=%2B6281200000000").get_data(as_text=True)
    assert "data-call-refusal" in html
