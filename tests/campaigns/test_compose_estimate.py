import re

from tests.campaigns.helpers import make_list
from webapp.contacts.service import add_to_list, create_contact
from webapp.models import Campaign


def _preview_cost(html):
    return re.search(r"Estimated cost: <strong>([\d,]+) IDR", html).group(1)


def test_the_saved_estimate_is_the_previews_when_names_change_the_part_count(app, auth):
    auth.login("supervisor")
    with app.app_context():
        contact_list = make_list("Pelanggan", ["+6281234560000"])
        # Sorted after the sample contact, and long enough to push this recipient's text into a second part.
        add_to_list([create_contact("B" * 40, "+6281234561000").id], contact_list.id)
    form = {"name": "Promo", "provider": "masking", "list_ids": [str(contact_list.id)], "when": "now",
            "message": "Halo {{name}}, " + "x" * 130}
    preview = auth.htmx("POST", "/campaigns/preview", data=form).get_data(as_text=True)
    # 1 part for Person 0, 2 parts for the long name, 350 IDR each.
    assert _preview_cost(preview) == "1,050"
    assert 'Launch this campaign to 2 recipients, estimated cost 1,050 IDR?' in preview
    assert auth.post("/campaigns/new", data=form).status_code == 302
    with app.app_context():
        assert Campaign.get(Campaign.name == "Promo").estimated_cost == 1050
