"""Sender ids (SMS masks) registered with each provider, kept by admins; compose offers only these.

CitCALL takes the sender id in every SMS request and refuses one it has not registered (rc 44, an
account-level refusal that trips the safety brake). The masking HTTP API has no sender field: the mask is
fixed per account by the provider, so its list records which mask(s) the account sends under. Either way a
sender id is proved by a test send from Settings.
"""
import re

from webapp.models import Send, SenderId

PROVIDERS = {"citcall": "CitCALL", "masking": "SMS masking"}
# An alphanumeric sender id: at most 11 characters (the GSM limit for a text originator).
VALUE_RE = re.compile(r"^[A-Za-z0-9 ]{1,11}$")
# Every CitCALL account may send as CITCALL without registering anything.
CITCALL_DEFAULT = "CITCALL"
# The message of a test send that checks a sender id.
CHECK_TEXT = "Test of sender id {value} from the console."


class SenderIdError(ValueError):
    pass


def listed(provider):
    return [row.value for row in SenderId.select().where(SenderId.provider == provider).order_by(SenderId.value)]


def choices(provider):
    """Sender ids compose offers for a provider, the default first ("" = the masking account's own mask)."""
    values = listed(provider)
    if provider == "citcall":
        return [CITCALL_DEFAULT, *[v for v in values if v.upper() != CITCALL_DEFAULT]]
    return values or [""]


def all_choices():
    return {provider: choices(provider) for provider in PROVIDERS}


def validate(provider, value):
    """The sender id to store for a campaign or test on this provider; raises SenderIdError when it is not
    one kept in Settings (the server's check, whatever the form offered)."""
    value = (value or "").strip()
    if provider == "citcall" and not value:
        return CITCALL_DEFAULT
    allowed = choices(provider)
    if value not in allowed and value.upper() not in {a.upper() for a in allowed}:
        if provider == "masking" and allowed == [""]:
            raise SenderIdError("The masking account has no sender id listed in Settings; leave it empty.")
        raise SenderIdError(f"{value!r} is not a {PROVIDERS.get(provider, provider)} sender id listed in Settings.")
    return value


def add(provider, value, note=""):
    value = (value or "").strip()
    if provider not in PROVIDERS:
        raise SenderIdError("Choose a provider.")
    if not VALUE_RE.match(value):
        raise SenderIdError("A sender id has 1 to 11 letters, digits or spaces.")
    if provider == "citcall" and value.upper() == CITCALL_DEFAULT:
        raise SenderIdError("CITCALL is always available on CitCALL; no need to add it.")
    if SenderId.select().where((SenderId.provider == provider) & (SenderId.value == value)).exists():
        raise SenderIdError(f"{value} is already listed for {PROVIDERS[provider]}.")
    return SenderId.create(provider=provider, value=value, note=(note or "").strip()[:200])


def remove(sender_id):
    SenderId.delete().where(SenderId.id == sender_id).execute()


def check(sender, phone, user_id=None):
    """Send one test SMS with this sender id; its outcome (kept as check_send_id) proves or disproves it."""
    from webapp.campaigns import sms

    send = sms.test_send(sender.provider, phone, CHECK_TEXT.format(value=sender.value), sender.value or "",
                         user_id)
    SenderId.update(check_send_id=send.id).where(SenderId.id == sender.id).execute()
    return send


def last_check(sender):
    return Send.get_or_none(Send.id == sender.check_send_id) if sender.check_send_id else None
