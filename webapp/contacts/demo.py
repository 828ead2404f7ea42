"""Demo contacts for `flask demo`: about fifty people in three lists, with custom fields."""
import random

from webapp.contacts import optouts, service
from webapp.models import Contact, ContactList

LISTS = [("Jakarta customers", "Customers served from the Jakarta office"), ("VIP", "Priority customers"),
         ("Webinar attendees", "Signed up for the product webinar")]
FIRST = ["Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Rina", "Eko", "Sri", "Ahmad", "Nur", "Hendra",
         "Wulan", "Fajar", "Lestari", "Bayu", "Indah", "Dimas", "Ayu", "Yoga", "Maya", "Arif", "Fitri", "Joko"]
LAST = ["Santoso", "Wijaya", "Pratama", "Lestari", "Saputra", "Hidayat", "Kusuma", "Nugroho"]
CITIES = ["Jakarta", "Bandung", "Surabaya", "Medan", "Yogyakarta", "Denpasar"]
PLANS = ["basic", "plus", "pro"]
COUNT = 50


def seed_contacts(admin):
    if ContactList.select().where(ContactList.name == LISTS[0][0]).exists():
        return
    rng = random.Random(4)
    lists = [service.create_list(name, description) for name, description in LISTS]
    for i in range(COUNT):
        phone = f"+62812{5550000 + i:07d}"
        if Contact.select().where(Contact.phone == phone).exists():
            continue
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        fields = {"city": rng.choice(CITIES), "plan": rng.choice(PLANS), "order_id": f"INV-{2400 + i}"}
        member_of = [lists[0].id] if i % 3 != 2 else []
        member_of += [lists[1].id] if i % 5 == 0 else []
        member_of += [lists[2].id] if i % 2 == 1 else []
        contact = service.create_contact(name, phone, f"{name.split()[0].lower()}{i}@example.com", fields,
                                         member_of, user_id=admin.id)
        if i in (7, 23):
            optouts.opt_out_contacts([contact.id], "Asked not to be called", user_id=admin.id)
        if i % 4 == 0:
            service.mark_verified(contact)
