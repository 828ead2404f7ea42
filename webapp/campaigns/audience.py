"""Who a campaign reaches: the union of its lists, narrowed by an optional contact search, minus opt-outs."""
from dataclasses import dataclass, field

from webapp.contacts.service import search_terms
from webapp.models import Contact, ContactListMember, OptOut


@dataclass
class Audience:
    contacts: list = field(default_factory=list)
    total: int = 0
    opted_out: int = 0
    duplicates: int = 0


def _matching(list_ids, query):
    contacts = Contact.select()
    if list_ids:
        members = ContactListMember.select(ContactListMember.contact).where(ContactListMember.list.in_(list_ids))
        contacts = contacts.where(Contact.id.in_(members))
    for term in search_terms(query):
        contacts = contacts.where(Contact.search.contains(term))
    return contacts


def _reachable(matching):
    return matching.where(
        (Contact.opted_out == False) & Contact.phone.not_in(OptOut.select(OptOut.phone))  # noqa: E712
    ).order_by(Contact.id)


def reachable(list_ids, query=""):
    """The contacts a launch would send to, as a query (the compose preview walks it without keeping it)."""
    if not list_ids and not (query or "").strip():
        return Contact.select().where(Contact.id.is_null())
    return _reachable(_matching(list_ids, query))


def resolve(list_ids, query="", load=True):
    """Contacts to send to (stable order) with the counts of who was left out and why.

    load=False only counts (the compose page's live estimate on large audiences).
    """
    if not list_ids and not (query or "").strip():
        return Audience()
    matching = _matching(list_ids, query)
    matched = matching.count()
    reachable = _reachable(matching)
    contacts = list(reachable.iterator()) if load else []
    reachable_count = len(contacts) if load else reachable.count()
    duplicates = 0
    if list_ids:
        # A contact in two chosen lists is sent to once: its extra memberships are the duplicates left out.
        memberships = (ContactListMember.select()
                       .where(ContactListMember.list.in_(list_ids)
                              & ContactListMember.contact.in_(matching.select(Contact.id)))
                       .count())
        duplicates = memberships - matched
    return Audience(contacts=contacts, total=reachable_count, opted_out=matched - reachable_count,
                    duplicates=duplicates)
