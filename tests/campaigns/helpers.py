from webapp.campaigns import service
from webapp.campaigns.compose import create_draft
from webapp.contacts.service import add_to_list, create_contact, create_list


def make_list(name, numbers, fields=None):
    """A contact list with one contact per number (names Person 0, Person 1, ...)."""
    contact_list = create_list(name)
    ids = [create_contact(f"Person {i}", number, fields=fields or {"city": "Bandung"}).id
           for i, number in enumerate(numbers)]
    add_to_list(ids, contact_list.id)
    return contact_list


def sms_campaign(user, list_ids, provider="masking", text="Halo {{name}} dari {{city}}", **extra):
    values = {"name": "Promo", "kind": "sms", "provider": provider, "message": text,
              "sender_id": "CITCALL" if provider == "citcall" else "", "list_ids": list_ids, "audience_query": "",
              "timezone": "Asia/Jakarta", "window_start": "", "window_end": "", **extra}
    return create_draft(values, user)


def launch(campaign, **kwargs):
    service.launch(campaign, **kwargs)
    return campaign
