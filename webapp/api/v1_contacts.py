"""/api/v1/contacts and /api/v1/lists, through webapp.contacts.service like the Contacts pages."""
from flask_login import current_user
from peewee import IntegrityError

from webapp.api import schemas as s
from webapp.api.errors import ApiError
from webapp.api.framework import operation
from webapp.contacts import service
from webapp.contacts.service import ContactError
from webapp.models import Contact, ContactList


def contact_json(contact, list_ids=None):
    if list_ids is None:
        list_ids = [lst.id for lst in service.lists_by_contact([contact.id]).get(contact.id, [])]
    return {"id": contact.id, "name": contact.name, "phone": contact.phone, "email": contact.email,
            "fields": contact.fields, "list_ids": list_ids, "opted_out": contact.opted_out,
            "verified_at": contact.verified_at, "created_at": contact.created_at}


def _contact(contact_id):
    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        raise ApiError(404, "not_found", "There is no contact with this id.")
    return contact


def _refused(exc):
    """A refusal from the contacts service: a number another contact holds is a conflict, the rest invalid."""
    if isinstance(exc.__cause__, IntegrityError) or "already" in str(exc):
        return ApiError(409, "conflict", str(exc))
    return ApiError(422, "invalid", str(exc))


def _custom_fields(raw):
    try:
        return service.clean_fields(raw.items())
    except ContactError as exc:
        raise ApiError(422, "invalid", str(exc), {"fields": str(exc)}) from exc


@operation("/v1/contacts", "GET", summary="List contacts (search, list and status filters)", tag="contacts",
           query=s.ContactQuery(), response=s.page_of(s.Contact)())
def list_contacts(query):
    filters = service.Filters(q=query["q"], list_id=query["list_id"], status=query["status"])
    rows, cursor = s.page(service.filter_contacts(filters).order_by(), Contact, query["limit"], query["cursor"])
    lists = service.lists_by_contact([c.id for c in rows])
    return {"data": [contact_json(c, [lst.id for lst in lists.get(c.id, [])]) for c in rows], "next_cursor": cursor}


@operation("/v1/contacts", "POST", summary="Add a contact", tag="contacts", body=s.ContactCreate(),
           response=s.Contact(), status=201, errors=(409, 422), idempotent=True)
def create_contact(body):
    if body["list_ids"] and not current_user.has_role("supervisor"):
        raise ApiError(403, "forbidden", "Only supervisors and admins put contacts on lists.",
                       {"list_ids": "Not allowed."})
    known = {row.id for row in ContactList.select(ContactList.id).where(ContactList.id.in_(body["list_ids"]))}
    missing = [i for i in body["list_ids"] if i not in known]
    if missing:
        raise ApiError(422, "invalid", "Unknown list ids.", {"list_ids": f"No list {missing[0]}."})
    fields = _custom_fields(body["fields"])
    try:
        contact = service.create_contact(body["name"], body["phone"], body["email"], fields, body["list_ids"],
                                         user_id=current_user.id)
    except ContactError as exc:
        raise _refused(exc) from exc
    return contact_json(contact), 201


@operation("/v1/contacts/<int:contact_id>", "GET", summary="One contact", tag="contacts", response=s.Contact(),
           errors=(404,))
def get_contact(contact_id):
    return contact_json(_contact(contact_id))


@operation("/v1/contacts/<int:contact_id>", "PATCH", summary="Change a contact (only the fields sent)",
           tag="contacts", body=s.ContactUpdate(), response=s.Contact(), errors=(404, 409, 422))
def update_contact(contact_id, body):
    contact = _contact(contact_id)
    fields = _custom_fields(body["fields"]) if "fields" in body else contact.fields
    try:
        service.update_contact(contact, body.get("name", contact.name), body.get("phone", contact.phone),
                               body.get("email", contact.email), fields, user_id=current_user.id)
    except ContactError as exc:
        raise _refused(exc) from exc
    return contact_json(Contact.get_by_id(contact.id))


@operation("/v1/contacts/<int:contact_id>", "DELETE", summary="Delete a contact", tag="contacts",
           role="supervisor", status=204, errors=(404,))
def delete_contact(contact_id):
    service.delete_contacts([_contact(contact_id).id])
    return "", 204


def list_json(contact_list, sizes):
    return {"id": contact_list.id, "name": contact_list.name, "description": contact_list.description or "",
            "size": sizes.get(contact_list.id, 0)}


@operation("/v1/lists", "GET", summary="List contact lists", tag="contacts", query=s.PageQuery(),
           response=s.page_of(s.ContactList)())
def list_lists(query):
    rows, cursor = s.page(ContactList.select(), ContactList, query["limit"], query["cursor"])
    sizes = service.list_sizes()
    return {"data": [list_json(row, sizes) for row in rows], "next_cursor": cursor}


@operation("/v1/lists", "POST", summary="Create a contact list", tag="contacts", role="supervisor",
           body=s.ListCreate(), response=s.ContactList(), status=201, errors=(409, 422), idempotent=True)
def create_list(body):
    try:
        created = service.create_list(body["name"], body["description"])
    except ContactError as exc:
        raise _refused(exc) from exc
    return list_json(created, {}), 201
