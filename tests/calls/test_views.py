"""Click-to-call pages: the button, starting a call (htmx and plain), the panel, history, roles, timeline."""
import html as entities
import re
from datetime import timedelta

import pytest
from markupsafe import escape

from tests.calls.helpers import customer, new_key
from webapp.models import Call, Send, User, utcnow


def make_call(agent, suffix="0000", contact=None, **fields):
    """A call row as history shows it, without going through Airtel."""
    values = {"agent": agent.id, "created_by": agent.id, "agent_number": agent.phone or "+919876500002",
              "customer_number": customer(suffix), "idempotency_key": new_key(), "state": "ended",
              "contact": contact.id if contact else None, **fields}
    return Call.create(**values)


def body(response):
    return response.get_data(as_text=True)


# --- the button --------------------------------------------------------------------------------------------

def test_contact_page_shows_the_call_button_for_the_contact(auth, staff, contact):
    auth.login("agent")
    html = body(auth.client.get(f"/contacts/{contact.id}"))
    form = html[html.index('class="call-button"'):]
    form = form[:form.index("</form>")]
    assert 'name="phone" value="+919876540000"' in form and f'name="contact_id" value="{contact.id}"' in form
    assert re.search(r'name="key" value="[0-9a-f]{32}"', form) and 'name="csrf_token"' in form
    assert 'name="agent_id"' not in form, "agents call from their own phone"


def test_supervisors_choose_whose_phone_rings(auth, staff, contact):
    auth.login("supervisor")
    html = body(auth.client.get(f"/contacts/{contact.id}"))
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', html[html.index('name="agent_id"'):])
    assert {int(v) for v, _, _ in options} == {u.id for u in staff.values()}
    assert [int(v) for v, chosen, _ in options if chosen] == [staff["supervisor"].id]


def test_calls_page_has_a_dial_form(auth, staff):
    auth.login("agent")
    html = body(auth.client.get("/calls/"))
    assert 'name="dial" value="1"' in html and 'type="tel" name="phone"' in html


def test_row_button_carries_its_call_in_hx_vals(app):
    import html as entities
    import json

    from flask import render_template_string

    row = ('{% with phone="+919876540000", contact_id=7, call_compact=true %}'
           '{% include "calls/_call_button.html" %}{% endwith %}')
    with app.test_request_context():
        rendered = render_template_string(row)
    values = json.loads(entities.unescape(re.search(r"hx-vals='([^']+)'", rendered).group(1)))
    assert values["phone"] == "+919876540000" and values["contact_id"] == 7 and values["compact"] == "1"
    assert re.fullmatch(r"[0-9a-f]{32}", values["key"]) and "<form" not in rendered, "rows sit inside other forms"


INDONESIAN = "+6281234567890"
NOT_DIALLABLE = "Airtel click-to-call dials only Indian 10-digit numbers (+91); +62 812-3456-7890 is not one."
OPTED_OUT = "This number is on the do-not-contact list, so it cannot be called."


def row_buttons(html):
    """number -> the refusal a compact button shows on hover, or "" for an enabled button."""
    buttons = {}
    for button in re.findall(r"<button[^>]*>Call</button>", html):
        number = re.search(r'aria-label="Call ([^"]+)"', button).group(1)
        refusal = re.search(r'disabled title="([^"]+)"', button)
        buttons[number] = entities.unescape(refusal.group(1)) if refusal else ""
        assert ("hx-post" in button) == (not refusal), button
    return buttons


@pytest.fixture
def three_contacts(ctx, make_contact):
    from webapp.contacts.optouts import opt_out_contacts
    from webapp.contacts.service import create_contact

    dialable, indonesian = make_contact("0000", "Asha Rao"), create_contact("Budi", INDONESIAN)
    opted_out = make_contact("0486", "Chitra Iyer")
    opt_out_contacts([opted_out.id], "asked")
    return dialable, indonesian, opted_out


EXPECTED_ROWS = {"+91 98765 40000": "", "+62 812-3456-7890": NOT_DIALLABLE, "+91 98765 40486": OPTED_OUT}


def test_row_buttons_are_disabled_where_a_call_cannot_work(auth, staff, three_contacts):
    from tests.campaigns.helpers import launch, sms_campaign
    from webapp.contacts.service import add_to_list, create_list
    from webapp.models import InboxMessage

    auth.login("admin")
    assert row_buttons(body(auth.client.get("/contacts/"))) == EXPECTED_ROWS
    for number in ("+919876540000", INDONESIAN, customer("0486")):
        InboxMessage.create(provider="masking", external_id=number, sender=number, text="Halo")
    assert row_buttons(body(auth.client.get("/inbox/"))) == EXPECTED_ROWS
    mixed = create_list("Mixed")
    add_to_list([three_contacts[0].id, three_contacts[1].id], mixed.id)
    campaign = launch(sms_campaign(staff["admin"], [mixed.id]))
    recipients = row_buttons(body(auth.client.get(f"/campaigns/{campaign.id}")))
    assert recipients == {"+62 812-3456-7890": NOT_DIALLABLE, "+91 98765 40000": ""}


@pytest.mark.parametrize(("which", "refusal"), [(1, NOT_DIALLABLE), (2, OPTED_OUT)])
def test_contact_page_button_is_disabled_with_the_reason(auth, staff, three_contacts, which, refusal):
    auth.login("agent")
    html = body(auth.client.get(f"/contacts/{three_contacts[which].id}"))
    form = html[html.index('class="call-button"'):]
    form = form[:form.index("</form>")]
    assert re.search(r'<button type="submit" class="small" disabled title="([^"]+)"', form).group(1) == str(
        escape(refusal))
    assert str(escape(refusal)) in form.split("</button>")[1]


@pytest.mark.parametrize(("which", "refusal"), [(1, NOT_DIALLABLE), (2, OPTED_OUT)])
def test_server_refuses_what_the_button_refuses(auth, staff, three_contacts, which, refusal):
    auth.login("agent")
    contact = three_contacts[which]
    response = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": contact.phone,
                                                      "contact_id": contact.id, "compact": "1"})
    assert response.status_code == 200 and str(escape(refusal)) in body(response)
    assert Call.select().count() == 0


# --- starting a call ---------------------------------------------------------------------------------------

def test_htmx_start_returns_the_polling_panel(auth, staff, contact):
    auth.login("agent")
    response = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": contact.phone,
                                                        "contact_id": contact.id})
    call = Call.get()
    html = body(response)
    assert response.status_code == 200 and html.lstrip().startswith("<section")
    assert f'hx-get="/calls/{call.id}"' in html and 'hx-trigger="every 1s"' in html
    assert 'hx-swap="morph"' in html and "Asking Airtel to place the call" in html and "Asha Rao" in html


def test_plain_start_redirects_to_the_call_page(auth, staff):
    auth.login("agent")
    response = auth.post("/calls/start", data={"key": new_key(), "phone": customer()})
    call = Call.get()
    assert response.status_code == 302 and response.headers["Location"] == f"/calls/{call.id}"


def test_table_row_button_opens_the_call_page(auth, staff):
    auth.login("agent")
    response = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": customer(), "compact": "1"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/calls/{Call.get().id}"


def test_a_double_click_places_one_call(auth, staff):
    auth.login("agent")
    data = {"key": new_key(), "phone": customer()}
    first, second = (auth.htmx("POST", "/calls/start", data=data) for _ in range(2))
    assert first.status_code == second.status_code == 200
    assert Call.select().count() == 1 and Send.select().count() == 1


def test_refusal_comes_back_on_the_button(auth, staff):
    User.update(phone=None).where(User.id == staff["agent"].id).execute()
    auth.login("agent")
    key = new_key()
    response = auth.htmx("POST", "/calls/start", data={"key": key, "phone": customer()})
    html = body(response)
    assert response.status_code == 200 and 'role="alert"' in html
    assert "You have no phone number in your profile" in html
    assert f'name="key" value="{key}"' in html, "nothing was placed, so the same button may be pressed again"
    assert Call.select().count() == 0


def test_refused_typed_number_stays_typed(auth, staff):
    auth.login("agent")
    response = auth.htmx("POST", "/calls/start", data={"key": new_key(), "phone": "+6281234567890", "dial": "1"})
    html = body(response)
    assert "dials only Indian 10-digit numbers" in html
    assert 'type="tel" name="phone" value="+6281234567890"' in html


def test_refusal_without_htmx_is_flashed(auth, staff):
    auth.login("agent")
    auth.post("/calls/start", data={"key": new_key(), "phone": customer()})
    response = auth.post("/calls/start", data={"key": new_key(), "phone": customer("0486")},
                         headers={"Referer": "http://localhost/contacts/"}, follow_redirects=True)
    assert "You are already on a call" in body(response)
    assert Call.select().count() == 1


def test_start_needs_the_csrf_token(auth, staff):
    auth.login("agent")
    response = auth.client.post("/calls/start", data={"key": new_key(), "phone": customer()})
    assert response.status_code == 400 and Call.select().count() == 0


# --- the call page and panel -------------------------------------------------------------------------------

def test_call_page_lists_events_and_plays_the_recording(auth, staff, contact):
    call = make_call(staff["agent"], contact=contact, status="Answered", conversation_seconds=4.0,
                     waiting_seconds=6.0, agent_seconds=10.0, billable_seconds=14.0,
                     recording_url="https://media.example/rec.mp3", ended_at=utcnow())
    auth.login("agent")
    html = body(auth.client.get(f"/calls/{call.id}"))
    assert '<audio controls preload="none" src="https://media.example/rec.mp3">' in html
    assert f'href="/contacts/{contact.id}"' in html and "No events from Airtel yet" in html
    assert "hx-trigger" not in html[html.index("<section"):].split(">")[0]


def test_panel_counts_the_conversation_while_connected(auth, staff):
    call = make_call(staff["agent"], state="connected", connected_at=utcnow() - timedelta(seconds=65))
    auth.login("agent")
    html = body(auth.htmx("GET", f"/calls/{call.id}"))
    assert "1:05" in html and "Connected" in html and 'hx-trigger="every 1s"' in html


def test_ended_panel_polls_until_the_record_arrives(auth, staff):
    call = make_call(staff["agent"], ended_at=utcnow(), connected_at=utcnow())
    auth.login("agent")
    html = body(auth.htmx("GET", f"/calls/{call.id}"))
    assert 'hx-trigger="every 1s"' in html and "waiting for Airtel" in html


def test_call_page_fragment_keeps_its_events(auth, staff):
    call = make_call(staff["agent"], state="calling_agent")
    auth.login("agent")
    html = body(auth.htmx("GET", f"/calls/{call.id}?events=1"))
    assert f'hx-get="/calls/{call.id}?events=1"' in html and "No events from Airtel yet" in html


def test_agents_cannot_open_other_agents_calls(auth, staff):
    call = make_call(staff["supervisor"])
    auth.login("agent")
    assert auth.client.get(f"/calls/{call.id}").status_code == 404
    auth.logout()
    auth.login("admin")
    assert auth.client.get(f"/calls/{call.id}").status_code == 200


# --- history -----------------------------------------------------------------------------------------------

def test_empty_history(auth, staff):
    auth.login("agent")
    assert "No calls yet." in body(auth.client.get("/calls/"))


def test_agents_see_their_own_calls_and_supervisors_all(auth, staff):
    make_call(staff["agent"], "0000")
    make_call(staff["supervisor"], "0486")
    auth.login("agent")
    html = body(auth.client.get("/calls/"))
    assert "+91 98765 40000" in html and "+91 98765 40486" not in html
    auth.logout()
    auth.login("supervisor")
    html = body(auth.client.get("/calls/"))
    assert "+91 98765 40000" in html and "+91 98765 40486" in html


FILTERS = [
    ("status", {"status": "Busy"}, {"0486"}),
    ("in progress", {"status": "active"}, {"0480"}),
    ("not placed", {"status": "not_placed"}, {"0999"}),
    ("contact name", {"contact": "asha"}, {"0000"}),
    ("number", {"contact": "40486"}, {"0486"}),
    ("from", {"from": (utcnow() - timedelta(days=1)).date().isoformat()}, {"0000", "0486", "0480", "0999"}),
    ("until", {"to": (utcnow() - timedelta(days=3)).date().isoformat()}, {"0500"}),
]


@pytest.mark.parametrize(("args", "expected"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_history_filters(args, expected, auth, staff, contact):
    agent = staff["agent"]
    make_call(agent, "0000", contact=contact, status="Answered")
    make_call(agent, "0486", status="Busy", state="failed")
    make_call(agent, "0480", state="calling_customer")
    make_call(agent, "0999", state="failed", error_code="INVALID_CALLER_ID")
    make_call(agent, "0500", status="Answered", created_at=utcnow() - timedelta(days=5))
    auth.login("agent")
    html = body(auth.htmx("GET", "/calls/", query_string=args))
    assert "<html" not in html, "an htmx request gets the results only"
    assert set(re.findall(r"\+91 98765 4(\d{4})", html)) == expected


def test_supervisor_filters_by_agent(auth, staff):
    make_call(staff["agent"], "0000")
    make_call(staff["admin"], "0486")
    auth.login("supervisor")
    html = body(auth.htmx("GET", "/calls/", query_string={"agent": staff["admin"].id}))
    assert set(re.findall(r"\+91 98765 4(\d{4})", html)) == {"0486"}


def test_history_is_paginated(auth, staff):
    for index in range(52):
        make_call(staff["agent"], f"{index:04d}")
    auth.login("agent")
    first = body(auth.client.get("/calls/"))
    assert "1–50 of 52" in first and "page=2" in first
    second = body(auth.htmx("GET", "/calls/?page=2"))
    assert "51–52 of 52" in second and set(re.findall(r"\+91 98765 4(\d{4})", second)) == {"0000", "0001"}


def test_no_match_offers_to_clear_the_filters(auth, staff):
    make_call(staff["agent"])
    auth.login("agent")
    assert "No calls match these filters." in body(auth.client.get("/calls/?status=Busy"))


# --- contact timeline --------------------------------------------------------------------------------------

def test_calls_appear_on_the_contact_timeline(auth, staff, contact):
    call = make_call(staff["agent"], contact=contact, status="Busy", state="failed",
                     cause="The customer was busy (USER_BUSY)")
    auth.login("agent")
    html = body(auth.client.get(f"/contacts/{contact.id}"))
    assert "Call Busy · Agent" in html and "The customer was busy (USER_BUSY)" in html
    assert f'href="/calls/{call.id}"' in html


def test_deleting_a_contact_keeps_its_calls(app, auth, staff, contact):
    call = make_call(staff["agent"], contact=contact)
    from webapp.contacts.service import delete_contacts

    with app.app_context():
        delete_contacts([contact.id])
    assert Call.get_by_id(call.id).contact_id is None


def test_contact_rows_offer_a_call_button(client, auth, ctx):
    from webapp.contacts.service import create_contact

    create_contact("Ravi", "+919876540000")
    auth.login("agent")
    html = client.get("/contacts/").get_data(as_text=True)
    assert 'aria-label="Call +91 98765 40000"' in html
