import pytest

from tests.contacts.conftest import csv_bytes
from webapp.contacts import optouts, service
from webapp.contacts.service import ContactError
from webapp.models import Contact, ContactEvent, OptOut


def test_opting_a_contact_out_writes_the_do_not_contact_row(ctx):
    contact = service.create_contact("Budi", "081234567890")
    assert optouts.opt_out_contacts([contact.id], "asked by phone", user_id=None) == 1
    assert optouts.opt_out_contacts([contact.id], "again") == 0
    contact = Contact.get_by_id(contact.id)
    assert contact.opted_out and contact.opted_out_at and contact.opted_out_reason == "asked by phone"
    row = OptOut.get(OptOut.phone == "+6281234567890")
    assert (row.reason, row.source) == ("asked by phone", "contact")
    assert optouts.is_opted_out("0812 3456 7890") and optouts.is_opted_out("+6281234567890")
    assert ContactEvent.select().where(ContactEvent.kind == "opted_out").count() == 1


def test_opting_back_in_clears_both(ctx):
    contact = service.create_contact("Budi", "081234567890")
    optouts.opt_out_contacts([contact.id])
    optouts.opt_in_contact(Contact.get_by_id(contact.id))
    assert not Contact.get_by_id(contact.id).opted_out
    assert not optouts.is_opted_out(contact.phone)
    assert [e.kind for e in ContactEvent.select().order_by(ContactEvent.id)] == ["created", "opted_out", "opted_in"]


def test_numbers_outside_the_contacts_can_be_blocked_and_unblocked(ctx):
    entry = optouts.add_number("0812-9999-0000", "complained", user_id=None)
    assert entry.phone == "+6281299990000" and entry.source == "manual"
    assert optouts.add_number("+6281299990000").id == entry.id
    assert optouts.opted_out_phones(["+6281299990000", "+6281234567890"]) == {"+6281299990000"}
    # Becoming a contact later does not lift the block.
    contact = service.create_contact("Late", "081299990000")
    assert contact.opted_out and contact.opted_out_reason == "complained"
    optouts.remove_number(entry)
    assert not optouts.is_opted_out("081299990000")
    assert not Contact.get_by_id(contact.id).opted_out


def test_blocking_a_contacts_number_opts_the_contact_out(ctx):
    contact = service.create_contact("Budi", "081234567890")
    optouts.add_number("+6281234567890", "")
    assert Contact.get_by_id(contact.id).opted_out


def test_deleted_contact_stays_blocked(ctx):
    contact = service.create_contact("Budi", "081234567890")
    optouts.opt_out_contacts([contact.id])
    service.delete_contacts([contact.id])
    assert optouts.is_opted_out("081234567890")


def test_invalid_numbers(ctx):
    with pytest.raises(ContactError):
        optouts.add_number("12345")
    assert not optouts.is_opted_out("not a number")
    assert optouts.opted_out_phones([]) == set()


@pytest.mark.parametrize("text, handled", [
    ("STOP", True), (" stop\n", True), ("Berhenti", True), ("UNSUBSCRIBE", True), ("unsubscribe ", True),
    ("stop please", False), ("hello", False), ("", False), (None, False),
])
def test_inbound_stop_words_opt_the_sender_out(ctx, text, handled):
    contact = service.create_contact("Budi", "081234567890")
    assert optouts.handle_inbound_sms("+6281234567890", text) is handled
    assert optouts.is_opted_out("+6281234567890") is handled
    assert Contact.get_by_id(contact.id).opted_out is handled
    if handled:
        assert OptOut.get(OptOut.phone == "+6281234567890").source == "sms"


def test_inbound_stop_from_unknown_or_invalid_sender(ctx):
    assert optouts.handle_inbound_sms("6281299990000", "STOP") is True
    assert optouts.is_opted_out("+6281299990000")
    assert optouts.handle_inbound_sms("garbage", "STOP") is False


def test_import_keeps_blocked_numbers_opted_out(ctx, run_import):
    optouts.add_number("081234567890", "complained")
    run_import(csv_bytes([["name", "phone"], ["Budi", "081234567890"], ["Siti", "081298765432"]]))
    assert {c.name: c.opted_out for c in Contact.select()} == {"Budi": True, "Siti": False}


def test_opted_out_phones_handles_many(ctx):
    phones = [f"+62812{i:08d}" for i in range(1200)]
    for phone in phones[::400]:
        optouts.add_number(phone)
    assert optouts.opted_out_phones(phones) == set(phones[::400])


def test_search_numbers_accepts_local_form(ctx):
    optouts.add_number("081234567890")
    optouts.add_number("081298765432")
    assert [e.phone for e in optouts.search_numbers("0812 3456")] == ["+6281234567890"]
    assert optouts.search_numbers("").count() == 2
