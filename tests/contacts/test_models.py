from datetime import timedelta

import pytest

from webapp.contacts import service, timeline
from webapp.contacts.service import ContactError, Filters
from webapp.models import Contact, ContactEvent, ContactListMember, utcnow


def make(name, phone, **kwargs):
    return service.create_contact(name, phone, **kwargs)


def test_contact_is_stored_e164_with_fields_and_template_variables(ctx):
    contact = make("Budi", "0812-3456-7890", email="budi@example.com", fields={"city": "Jakarta"})
    contact = Contact.get_by_id(contact.id)
    assert contact.phone == "+6281234567890"
    assert contact.fields == {"city": "Jakarta"}
    assert contact.template_variables() == {"name": "Budi", "phone": "+6281234567890", "city": "Jakarta"}
    assert [e.kind for e in contact.events] == ["created"]


@pytest.mark.parametrize("phone, email, message", [
    ("12", None, "not a valid phone number"),
    ("", None, "phone number is required"),
    ("0812-3456-7890", "not-an-email", "not a valid e-mail"),
])
def test_invalid_contact_is_refused(ctx, phone, email, message):
    with pytest.raises(ContactError, match=message):
        make("X", phone, email=email)
    assert Contact.select().count() == 0


def test_duplicate_phone_is_refused_in_any_format(ctx):
    make("Budi", "+6281234567890")
    with pytest.raises(ContactError, match="already exists"):
        make("Other", "0812 3456 7890")


@pytest.mark.parametrize("raw, key", [
    ("City", "city"), ("Order ID", "order_id"), (" Kota/Kab. ", "kota_kab"), ("2nd line", "field_2nd_line"),
])
def test_field_keys_become_template_variable_names(raw, key):
    assert service.field_key(raw) == key


@pytest.mark.parametrize("raw", ["name", "Phone", " EMAIL ", "created_at", "!!!", ""])
def test_reserved_or_empty_field_keys_are_refused(raw):
    with pytest.raises(ContactError):
        service.field_key(raw)


def test_update_records_what_changed(ctx):
    contact = make("Budi", "081234567890")
    changed = service.update_contact(contact, "Budi S", "+6281234567890", "", {"plan": "pro"})
    assert changed == ["name", "fields"]
    assert service.update_contact(contact, "Budi S", "081234567890", "", {"plan": "pro"}) == []
    assert [(e.kind, e.detail) for e in ContactEvent.select().order_by(ContactEvent.id)] == [
        ("created", ""), ("edited", "name, fields")]


def test_update_refuses_a_phone_held_by_another_contact(ctx):
    make("A", "081234567890")
    other = make("B", "081298765432")
    with pytest.raises(ContactError, match="Another contact"):
        service.update_contact(other, "B", "081234567890", "", {})


def test_mark_verified_by_contact_or_phone(ctx):
    contact = make("Budi", "081234567890")
    assert service.mark_verified("+62 812-3456-7890").id == contact.id
    assert Contact.get_by_id(contact.id).verified_at is not None
    assert service.mark_verified(contact).id == contact.id
    assert service.mark_verified("081299999999") is None
    assert ContactEvent.select().where(ContactEvent.kind == "verified").count() == 2


def test_timeline_merges_sources_newest_first_and_survives_a_broken_source(ctx, monkeypatch):
    contact = make("Budi", "081234567890")
    service.mark_verified(contact)
    later = utcnow() + timedelta(hours=1)

    def sms(c):
        return [timeline.TimelineItem(later, "sms", "SMS sent", "Hello", None)]

    def broken(c):
        raise RuntimeError("area down")

    monkeypatch.setattr(timeline, "TIMELINE_SOURCES", [timeline.contact_events, sms, broken])
    items = timeline.build_timeline(contact)
    assert [i.kind for i in items] == ["sms", "verified", "created"]


def test_search_matches_name_phone_forms_and_fields(ctx):
    budi = make("Budi Santoso", "081234567890", fields={"city": "Surabaya"})
    make("Siti", "081298765432", email="siti@example.com")

    def ids(**kwargs):
        return [c.id for c in service.filter_contacts(Filters(**kwargs))]

    for q in ("budi", "BUDI sant", "0812-3456", "+62 812 3456 7890", "6281234", "surabaya"):
        assert ids(q=q) == [budi.id], q
    assert len(ids(q="siti@example")) == 1
    assert ids(q="nobody") == []
    assert ids(q="50%") == []


def test_filters_by_list_status_and_sorts(ctx):
    a = make("Andi", "081200000001")
    b = make("Budi", "081200000002")
    c = make("Citra", "081200000003")
    vip = service.create_list("VIP")
    assert service.add_to_list([a.id, c.id], vip.id) == 2
    assert service.add_to_list([a.id], vip.id) == 0
    Contact.update(opted_out=True).where(Contact.id == c.id).execute()
    service.mark_verified(b)

    def names(**kwargs):
        return [x.name for x in service.filter_contacts(Filters(**kwargs))]

    assert names(list_id=vip.id) == ["Andi", "Citra"]
    assert names(status="opted_out") == ["Citra"]
    assert names(status="active") == ["Andi", "Budi"]
    assert names(status="verified") == ["Budi"]
    assert names(sort="-name") == ["Citra", "Budi", "Andi"]
    assert names(sort="-created") == ["Citra", "Budi", "Andi"]
    assert service.remove_from_list([a.id, b.id], vip.id) == 1


def test_filters_from_query_args_ignore_garbage():
    filters = Filters.from_args({"q": "  budi ", "list": "x", "status": "evil", "sort": "id; drop"})
    assert filters == Filters(q="budi")
    assert filters.args() == {"q": "budi"}
    assert Filters(q="a", sort="-name").args(page=2) == {"q": "a", "sort": "-name", "page": 2}


def test_paginate_caps_the_count(ctx, monkeypatch):
    monkeypatch.setattr(service, "PER_PAGE", 2)
    monkeypatch.setattr(service, "COUNT_CAP", 3)
    for i in range(5):
        make(f"P{i}", f"08120000000{i}")
    page = service.paginate(service.filter_contacts(Filters()), 1)
    assert [c.name for c in page.items] == ["P0", "P1"]
    assert (page.total, page.capped, page.has_next, page.pages) == (3, True, True, None)
    last = service.paginate(service.filter_contacts(Filters(q="p4")), 1)
    assert (last.total, last.capped, last.has_next, last.pages, last.first, last.last) == (1, False, False, 1, 1, 1)


def test_deleting_contacts_removes_memberships_and_events(ctx):
    contact = make("Budi", "081234567890")
    vip = service.create_list("VIP")
    service.add_to_list([contact.id], vip.id)
    assert service.delete_contacts([contact.id]) == 1
    assert ContactListMember.select().count() == 0 and ContactEvent.select().count() == 0


def test_list_names_are_unique(ctx):
    service.create_list("VIP")
    with pytest.raises(ContactError, match="already exists"):
        service.create_list("VIP")
    other = service.create_list("Others")
    with pytest.raises(ContactError, match="already exists"):
        service.rename_list(other, "VIP")


def test_demo_seeder_is_idempotent(ctx, users):
    from webapp.contacts.demo import COUNT, seed_contacts

    seed_contacts(users["admin"])
    seed_contacts(users["admin"])
    assert Contact.select().count() == COUNT
    assert len(service.all_lists()) == 3
    assert Contact.select().where(Contact.opted_out == True).count() == 2  # noqa: E712
    assert all(c.fields.get("city") for c in Contact.select())
