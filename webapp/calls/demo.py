"""Demo data for click-to-call: Airtel dials only Indian numbers, so the demo users and a few contacts get
+91 numbers whose last four digits pick the simulator's outcome (webapp/sandbox/airtel.py)."""
from webapp.contacts import service
from webapp.models import Contact, ContactList, User

LIST = ("India team", "Indian customers for click-to-call through Airtel (sandbox outcomes in the names)")
USER_PHONES = {"admin@example.com": "+919876500001", "agent@example.com": "+919876500002"}
CONTACTS = [
    ("Asha Rao (answers)", "+919876540000"),
    ("Bhavesh Shah (busy)", "+919876540486"),
    ("Chitra Iyer (no answer)", "+919876540480"),
    ("Dev Mehta (events out of order)", "+919876540500"),
    ("Esha Nair (agent does not answer)", "+919876540999"),
]


def seed_calls(admin):
    for email, phone in USER_PHONES.items():
        # Databases seeded before click-to-call gave the demo users Indonesian numbers Airtel cannot ring.
        User.update(phone=phone).where((User.email == email)
                                       & (User.phone.is_null() | ~User.phone.startswith("+91"))).execute()
    india = ContactList.get_or_none(ContactList.name == LIST[0]) or service.create_list(*LIST)
    for name, phone in CONTACTS:
        if not Contact.select().where(Contact.phone == phone).exists():
            service.create_contact(name, phone, None, {"city": "Bengaluru"}, [india.id], user_id=admin.id)
