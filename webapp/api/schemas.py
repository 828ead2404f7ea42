"""marshmallow schemas of the API: request schemas validate (load), response schemas shape answers (dump),
and both become the components of /api/openapi.json.

Request schemas check types and shapes only; what a value must be (a dialable number, a known sender id, a
free list name) is decided by the same domain functions the pages call, whose refusals come back as 422s.
"""
import base64
from datetime import UTC

from marshmallow import EXCLUDE, Schema, validate
from marshmallow import fields as mf

from webapp.api.errors import ApiError
from webapp.contacts.import_plan import DEDUPE_CHOICES, FILL

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
ID = {"validate": validate.Range(min=1, max=2**31 - 1)}


def utc_iso(value):
    """A stored naive-UTC time written with its offset, as RFC 3339 (and OpenAPI's date-time) requires."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


class UtcDateTime(mf.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return utc_iso(value)


def text(max_length, **kwargs):
    return mf.String(validate=validate.Length(max=max_length), **kwargs)


class ErrorBody(Schema):
    code = mf.String(required=True)
    message = mf.String(required=True)
    fields = mf.Dict(keys=mf.String(), values=mf.String(), required=True)


class Error(Schema):
    error = mf.Nested(ErrorBody, required=True)


# --- paging ------------------------------------------------------------------------------------------------

class PageQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = mf.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = text(100, load_default=None, metadata={"description": "next_cursor of the previous page"})


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The id the previous page ended at; the cursor is opaque to clients (they pass back next_cursor)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        value = int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_cursor", "This cursor was not given by this API.", {"cursor": "Invalid."}) from exc
    if prefix != "after" or not 0 <= value <= 2**31 - 1:
        raise ApiError(400, "bad_cursor", "This cursor was not given by this API.", {"cursor": "Invalid."})
    return value


def page(query, model, limit, cursor):
    """Keyset paging by id: rows after the cursor, and the cursor of the next page (None on the last)."""
    rows = list(query.where(model.id > decode_cursor(cursor)).order_by(model.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None


def page_of(item_schema):
    return type(f"{item_schema.__name__}Page", (Schema,), {
        "data": mf.List(mf.Nested(item_schema), required=True),
        "next_cursor": mf.String(required=True, allow_none=True),
    })


# --- contacts and lists --------------------------------------------------------------------------------------

class Contact(Schema):
    id = mf.Integer(required=True)
    name = mf.String(required=True)
    phone = mf.String(required=True, metadata={"description": "E.164"})
    email = mf.String(required=True, allow_none=True)
    fields = mf.Dict(keys=mf.String(), values=mf.String(), required=True)
    list_ids = mf.List(mf.Integer(), required=True)
    opted_out = mf.Boolean(required=True)
    verified_at = UtcDateTime(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)


class ContactQuery(PageQuery):
    q = text(200, load_default="", metadata={"description": "name, phone, e-mail or field words"})
    list_id = mf.Integer(load_default=None, **ID)
    status = mf.String(load_default="all", validate=validate.OneOf(["all", "active", "opted_out", "verified"]))


CUSTOM_FIELDS = mf.Dict(keys=text(100), values=text(2000), load_default=dict)


class ContactCreate(Schema):
    name = text(200, load_default="")
    phone = text(40, required=True)
    email = text(254, load_default=None, allow_none=True)
    fields = CUSTOM_FIELDS
    list_ids = mf.List(mf.Integer(**ID), load_default=list, validate=validate.Length(max=100),
                           metadata={"description": "supervisors and admins only"})


class ContactUpdate(Schema):
    name = text(200)
    phone = text(40)
    email = text(254, allow_none=True)
    fields = mf.Dict(keys=text(100), values=text(2000))


class ContactList(Schema):
    id = mf.Integer(required=True)
    name = mf.String(required=True)
    description = mf.String(required=True)
    size = mf.Integer(required=True)


class ListCreate(Schema):
    name = text(200, required=True)
    description = text(500, load_default="")


class ImportForm(Schema):
    dedupe = mf.String(load_default=FILL, validate=validate.OneOf(list(DEDUPE_CHOICES)), metadata={
        "description": "A number that already exists: fill its empty values (default), overwrite them, or skip it"})
    list_id = mf.Integer(load_default=None, **ID, metadata={"description": "add every imported contact to this list"})
    new_list = text(200, load_default="", metadata={"description": "or to a new list of this name"})


class ImportCounts(Schema):
    created = mf.Integer(required=True)
    updated = mf.Integer(required=True)
    unchanged = mf.Integer(required=True)
    refused = mf.Integer(required=True)
    duplicates = mf.Integer(required=True, metadata={"description": "rows repeating an earlier row's number"})
    warnings = mf.Integer(required=True)


class ImportRefusal(Schema):
    line = mf.Integer(required=True)
    kind = mf.String(required=True, metadata={"description": "refused | duplicate"})
    reason = mf.String(required=True)


class Import(Schema):
    id = mf.Integer(required=True)
    status = mf.String(required=True, metadata={
        "description": "planning > queued > running > done | failed | cancelled"})
    status_url = mf.String(required=True)
    filename = mf.String(required=True)
    dedupe = mf.String(required=True)
    list_id = mf.Integer(required=True, allow_none=True)
    message = mf.String(required=True, metadata={"description": "why it failed, when it did"})
    total_rows = mf.Integer(required=True)
    processed_rows = mf.Integer(required=True)
    counts = mf.Nested(ImportCounts, required=True)
    refusals = mf.List(mf.Nested(ImportRefusal), required=True, metadata={"description": "the first 20"})
    created_at = UtcDateTime(required=True)
    finished_at = UtcDateTime(required=True, allow_none=True)


# --- campaigns ---------------------------------------------------------------------------------------------

class IvrVariable(Schema):
    source = mf.String(required=True, validate=validate.OneOf(["field", "text", "audio"]))
    value = text(500, required=True, metadata={"description": "field name, text, or audio id"})


class CampaignCreate(Schema):
    kind = mf.String(required=True, validate=validate.OneOf(["sms", "ivr"]))
    name = text(200, required=True)
    list_ids = mf.List(mf.Integer(**ID), load_default=list, validate=validate.Length(max=100))
    audience_query = text(200, load_default="")
    window_start = text(5, load_default="", metadata={"description": "HH:MM in the user's time zone"})
    window_end = text(5, load_default="")
    scheduled_at = mf.AwareDateTime(load_default=None, allow_none=True)
    # sms
    provider = text(16, load_default="masking", metadata={"description": "sms: masking | citcall"})
    sender_id = text(16, load_default="")
    message = text(2000, load_default="")
    # ivr
    ivr_id = text(64, load_default="")
    from_number = text(32, load_default="")
    variables = mf.Dict(keys=text(64), values=mf.Nested(IvrVariable), load_default=dict)
    retry_attempts = mf.Integer(load_default=0, validate=validate.Range(min=0, max=100))
    retry_gap_minutes = mf.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10000))


class Campaign(Schema):
    id = mf.Integer(required=True)
    name = mf.String(required=True)
    kind = mf.String(required=True)
    provider = mf.String(required=True)
    status = mf.String(required=True)
    message = mf.String(required=True)
    sender_id = mf.String(required=True)
    list_ids = mf.List(mf.Integer(), required=True)
    audience_query = mf.String(required=True)
    recipients = mf.Integer(required=True)
    counts = mf.Dict(keys=mf.String(), values=mf.Integer(), required=True)
    pause_reason = mf.String(required=True)
    scheduled_at = UtcDateTime(required=True, allow_none=True)
    launched_at = UtcDateTime(required=True, allow_none=True)
    completed_at = UtcDateTime(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)


class SendQuery(PageQuery):
    state = mf.String(load_default=None, validate=validate.OneOf(
        ["queued", "sending", "unknown", "submitted", "delivered", "failed", "undeliverable", "cancelled"]))


class Send(Schema):
    id = mf.Integer(required=True)
    contact_id = mf.Integer(required=True, allow_none=True)
    to_number = mf.String(required=True)
    state = mf.String(required=True)
    attempt = mf.Integer(required=True)
    provider_ref = mf.String(required=True, allow_none=True)
    error_code = mf.String(required=True)
    error_text = mf.String(required=True)
    segments = mf.Integer(required=True)
    price = mf.Float(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)
    submitted_at = UtcDateTime(required=True, allow_none=True)
    final_at = UtcDateTime(required=True, allow_none=True)


class Audio(Schema):
    id = mf.Integer(required=True)
    name = mf.String(required=True)
    size_bytes = mf.Integer(required=True)
    duration_seconds = mf.Float(required=True)
    oca_url = mf.String(required=True)
    created_at = UtcDateTime(required=True)


# --- calls, OTP, providers -----------------------------------------------------------------------------------

class CallCreate(Schema):
    phone = text(40, load_default="")
    contact_id = mf.Integer(load_default=None, allow_none=True, **ID)
    agent_id = mf.Integer(load_default=None, allow_none=True, metadata={
        "description": "supervisors only: the agent whose phone rings first (default: the token's user)"}, **ID)


class Call(Schema):
    id = mf.Integer(required=True)
    state = mf.String(required=True)
    label = mf.String(required=True)
    status = mf.String(required=True, metadata={"description": "Airtel's final call status, once known"})
    agent_id = mf.Integer(required=True)
    contact_id = mf.Integer(required=True, allow_none=True)
    customer_number = mf.String(required=True)
    conversation_seconds = mf.Float(required=True, allow_none=True)
    recording_url = mf.String(required=True)
    created_at = UtcDateTime(required=True)
    ended_at = UtcDateTime(required=True, allow_none=True)


class OtpCreate(Schema):
    phone = text(40, required=True)
    method = mf.String(load_default="miscall", validate=validate.OneOf(["miscall", "sms"]))
    valid_time = mf.Integer(load_default=None, allow_none=True, validate=validate.Range(min=-10**6, max=10**6))
    limit_try = mf.Integer(load_default=None, allow_none=True, validate=validate.Range(min=-10**6, max=10**6))
    sms_text = text(500, load_default="")
    contact_id = mf.Integer(load_default=None, allow_none=True, **ID)


class Otp(Schema):
    id = mf.Integer(required=True)
    phone = mf.String(required=True)
    method = mf.String(required=True)
    status = mf.String(required=True)
    delivery = mf.String(required=True)
    caller_hint = mf.String(required=True, metadata={"description": "miscall: the caller number's start"})
    outcome = mf.String(required=True)
    created_at = UtcDateTime(required=True)
    verified_at = UtcDateTime(required=True, allow_none=True)


class OtpVerify(Schema):
    token = text(20, required=True, metadata={"description": "the code the person read back"})


class OtpVerifyResult(Schema):
    valid = mf.Boolean(required=True)
    outcome = mf.String(required=True)
    message = mf.String(required=True)
    otp = mf.Nested(Otp, required=True)


class Provider(Schema):
    name = mf.String(required=True)
    label = mf.String(required=True)
    configured = mf.Boolean(required=True)
    ok = mf.Boolean(required=True, allow_none=True)
    balance = mf.Float(required=True, allow_none=True)
    message = mf.String(required=True)
    checked_at = UtcDateTime(required=True, allow_none=True)


# --- webhook payloads (the `data` of each event; see webapp.api.webhooks.EVENT_SCHEMAS) ----------------------

class SendEvent(Schema):
    id = mf.Integer(required=True)
    kind = mf.String(required=True, metadata={"description": "sms.masking, sms.citcall, otp.miscall, otp.sms, "
                                                             "ivr.oca, c2c.airtel"})
    provider = mf.String(required=True)
    campaign_id = mf.Integer(required=True, allow_none=True)
    contact_id = mf.Integer(required=True, allow_none=True)
    to_number = mf.String(required=True)
    state = mf.String(required=True)
    error_code = mf.String(required=True)
    error_text = mf.String(required=True)
    final_at = UtcDateTime(required=True, allow_none=True)


class InboundSms(Schema):
    id = mf.Integer(required=True)
    provider = mf.String(required=True)
    sender = mf.String(required=True)
    text = mf.String(required=True)
    received_at = UtcDateTime(required=True, allow_none=True)
    contact_id = mf.Integer(required=True, allow_none=True)
    opted_out = mf.Boolean(required=True, metadata={"description": "the message was a STOP"})


class OptOutEvent(Schema):
    phone = mf.String(required=True)
    reason = mf.String(required=True)
    source = mf.String(required=True, metadata={"description": "manual | contact | sms | import"})
    created_at = UtcDateTime(required=True)
