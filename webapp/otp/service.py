"""OTP by CitCALL missed call or SMS: requests, sends with gateway escalation, verify tries, callbacks.

Each send of a request is a Send row (kind otp.miscall or otp.sms, subject_id = the request) made at once
with send_now, because a person is waiting for it. CitCALL /verify checks the codes; this app never keeps
one: a miscall's code is the caller number CitCALL picks, and an SMS code is drawn at send time and only
travels in that request (the channel log redacts it).
"""
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from peewee import fn

from webapp.auth.service import audit
from webapp.dispatch import states
from webapp.dispatch.dispatcher import send_now
from webapp.dispatch.registry import Outcome
from webapp.models import Contact, OtpAttempt, OtpRequest, Send, User, utcnow
from webapp.otp import limits
from webapp.phones import PhoneError, to_e164
from webapp.providers import citcall, shared_client
from webapp.providers.base import ProviderError, current_send_id

METHODS = {"miscall": "missed call", "sms": "SMS OTP"}
SEND_KINDS = {"miscall": "otp.miscall", "sms": "otp.sms"}
METHOD_OF_KIND = {kind: method for method, kind in SEND_KINDS.items()}
# The OTP page's defaults: seconds a code stays valid, verify tries per code.
DEFAULT_VALID_TIME, DEFAULT_LIMIT_TRY = 300, 5
# Length of the SMS codes drawn here (verify needs at least 4 digits).
SMS_CODE_DIGITS = 6
# Where the code goes in an SMS OTP text, one X per digit so the operator sees the text's real length; it
# becomes CitCALL's own word (citcall.TOKEN_WORD) in the request.
CODE_PLACEHOLDER = "X" * SMS_CODE_DIGITS
DEFAULT_SMS_TEXT = f"Kode verifikasi Anda {CODE_PLACEHOLDER}"
# One SMS segment, so the code always arrives in one piece.
SMS_TEXT_MAX = 160
# SMS OTP sends per request; a miscall gets one send per gateway (0, 1, 2).
MAX_SMS_SENDS = 3
# CitCALL's advice once the third gateway has been tried (spec 3.1, "gateway").
SIGNAL_ADVICE = ("All three missed-call gateways have been tried. CitCALL advises asking the person to move to a "
                 "place with better signal, then trying again, or sending the code by SMS.")
# CitCALL verify rc -> outcome.
RC_OUTCOMES = {"79": "wrong", "80": "expired", "81": "exhausted", "78": "unknown"}
# outcome -> (request status it leads to, words for the page).
OUTCOMES = {
    "valid": ("verified", "Verified"),
    "wrong": (None, "Wrong code"),
    "expired": ("expired", "Code expired"),
    "exhausted": ("locked", "Too many attempts"),
    "unknown": (None, "CitCALL has no code to check for this send: send a new one"),
}


class OtpError(ValueError):
    """A refused OTP action, with a message fit for the page (and per-field messages for the form)."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.fields = fields or {}


@dataclass
class VerifyResult:
    # valid | wrong | expired | exhausted | unknown | error
    outcome: str
    message: str

    @property
    def ok(self):
        return self.outcome == "valid"


# --- starting and resending ------------------------------------------------------------------------------

def _int_field(form, name, default, errors, message):
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        errors[name] = message
        return default


def read_form(form):
    """The OTP page's form -> keyword arguments for start(); raises OtpError with a message per field."""
    errors = {}
    values = {"method": form.get("method") or "miscall", "contact_id": None, "sms_text": ""}
    try:
        values["phone"] = to_e164(form.get("phone"))
    except PhoneError as exc:
        errors["phone"] = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    if values["method"] not in METHODS:
        errors["method"] = "Choose a missed call or an SMS."
    values["valid_time"] = _int_field(form, "valid_time", DEFAULT_VALID_TIME, errors,
                                      "Valid time is a number of seconds.")
    if "valid_time" not in errors and values["valid_time"] <= 0:
        errors["valid_time"] = "Valid time must be more than 0 seconds."
    values["limit_try"] = _int_field(form, "limit_try", DEFAULT_LIMIT_TRY, errors, "Tries is a number.")
    if "limit_try" not in errors and not 1 <= values["limit_try"] <= citcall.MAX_LIMIT_TRY:
        errors["limit_try"] = f"Tries must be between 1 and {citcall.MAX_LIMIT_TRY}."
    if values["method"] == "sms":
        text = (form.get("sms_text") or DEFAULT_SMS_TEXT).strip()
        if CODE_PLACEHOLDER not in text:
            errors["sms_text"] = f"The text must contain {CODE_PLACEHOLDER} where the code goes."
        elif len(text) - len(CODE_PLACEHOLDER) + SMS_CODE_DIGITS > SMS_TEXT_MAX:
            errors["sms_text"] = f"Keep the text to one SMS ({SMS_TEXT_MAX} characters with the code)."
        values["sms_text"] = text
    contact_id = (form.get("contact_id") or "").strip()
    if contact_id.isdigit() and Contact.get_or_none(Contact.id == int(contact_id)):
        values["contact_id"] = int(contact_id)
    if errors:
        raise OtpError("Check the highlighted fields.", errors)
    return values


def start(phone, method, *, purpose="contact", user_id=None, contact_id=None, valid_time=DEFAULT_VALID_TIME,
          limit_try=DEFAULT_LIMIT_TRY, sms_text="", remote_addr=""):
    """Create the request and make its first send now (miscall gateway 0, or SMS). Returns the request."""
    _check_limits(phone, user_id, remote_addr)
    if purpose == "contact":
        # The page may be opened for a contact and the number changed: the contact must own the number.
        contact = Contact.get_or_none(Contact.id == contact_id) if contact_id else None
        if contact is None or contact.phone != phone:
            contact = Contact.get_or_none(Contact.phone == phone)
        contact_id = contact.id if contact else None
    otp = OtpRequest.create(purpose=purpose, phone=phone, contact_id=contact_id, user_id=user_id, method=method,
                            valid_time=valid_time, limit_try=limit_try,
                            sms_text=sms_text or (DEFAULT_SMS_TEXT if method == "sms" else ""))
    _queue(otp, method, 0 if method == "miscall" else None, user_id, remote_addr)
    return dispatch(otp)


def next_gateway(otp):
    """Gateway of the next missed call: 0 first, then 1 and 2 for the retries; None once all were used."""
    used = [a.gateway for a in _sends(otp) if a.method == "miscall"]
    following = max(used) + 1 if used else 0
    return following if following in citcall.GATEWAYS else None


def sms_left(otp):
    return MAX_SMS_SENDS - sum(1 for a in _sends(otp) if a.method == "sms")


def resend(otp, method=None, user_id=None, remote_addr=""):
    """Send a new code on the same request: the next miscall gateway, or an SMS OTP. Returns the request."""
    if otp.status == "verified":
        raise OtpError("This code was already verified.")
    method = method or otp.method
    if method not in METHODS:
        raise OtpError("Choose a missed call or an SMS.")
    gateway = None
    if method == "miscall":
        gateway = next_gateway(otp)
        if gateway is None:
            raise OtpError(SIGNAL_ADVICE)
    elif sms_left(otp) <= 0:
        raise OtpError(f"The code was already sent {MAX_SMS_SENDS} times by SMS. Start a new request.")
    _check_limits(otp.phone, user_id, remote_addr)
    _queue(otp, method, gateway, user_id, remote_addr)
    return dispatch(otp)


class RateLimited(OtpError):
    """A send refused by the OTP rate limits (webapp.otp.limits)."""


def _check_limits(phone, user_id, remote_addr):
    message = limits.take(phone, user_id, remote_addr)
    if message:
        raise RateLimited(message)


def dispatch(otp):
    """Make every queued send of this request now, including a fallback its hooks queued meanwhile."""
    app = current_app._get_current_object()
    for _ in range(MAX_SMS_SENDS + len(citcall.GATEWAYS)):
        queued = (Send.select(Send.id).where((Send.subject_id == otp.id) & Send.kind.in_(list(SEND_KINDS.values()))
                                             & (Send.state == states.QUEUED)).order_by(Send.id).first())
        if queued is None:
            break
        send_now(app, queued.id)
    return OtpRequest.get_by_id(otp.id)


def _sends(otp):
    return list(OtpAttempt.select().where((OtpAttempt.otp == otp.id) & (OtpAttempt.action == "send"))
                .order_by(OtpAttempt.id))


def _queue(otp, method, gateway, user_id, remote_addr):
    """A send row (and its audit row) before any request; the request shows it as the current send."""
    previous = otp.send_id
    payload = {"valid_time": otp.valid_time, "limit_try": otp.limit_try}
    if method == "miscall":
        payload["gateway"] = gateway
    else:
        payload["text"] = otp.sms_text or DEFAULT_SMS_TEXT
    count = Send.select().where((Send.subject_id == otp.id) & Send.kind.in_(list(SEND_KINDS.values()))).count()
    send = Send.create(kind=SEND_KINDS[method], provider="citcall", to_number=otp.phone, contact_id=otp.contact_id,
                       user_id=user_id, subject_id=otp.id, attempt=count + 1, retry_of=previous,
                       payload=json.dumps(payload, ensure_ascii=False))
    OtpAttempt.create(otp=otp.id, action="send", method=method, gateway=gateway, phone=otp.phone, user_id=user_id,
                      send_id=send.id, outcome=send.state, remote_addr=remote_addr)
    OtpRequest.update(method=method, gateway=gateway, send_id=send.id, status="pending", delivery=send.state,
                      dial_status="", error="", caller_hint="", outcome="", expires_at=None, delivered_at=None,
                      updated_at=utcnow()).where(OtpRequest.id == otp.id).execute()
    otp.send_id = send.id
    return send


# --- senders (dispatcher) ---------------------------------------------------------------------------------

def send_miscall(send):
    data = send.data
    result = shared_client("citcall").asynccall(send.to_number, data["gateway"], data["valid_time"],
                                                data["limit_try"])
    return Outcome(provider_ref=result.trxid, details={"caller_hint": result.token[:-citcall.OTP_DIGITS]})


def send_sms(send):
    data = send.data
    code = "".join(secrets.choice("0123456789") for _ in range(SMS_CODE_DIGITS))
    text = data["text"].replace(CODE_PLACEHOLDER, citcall.TOKEN_WORD)
    result = shared_client("citcall").smsotp(send.to_number, citcall.DEFAULT_SENDERID, text=text, token=code,
                                             valid_time=data["valid_time"], limit_try=data["limit_try"])
    return Outcome(provider_ref=result.trxid, segments=result.sms_count or send.segments, price=result.price,
                   currency=result.currency, provider_status=result.info)


def send_detail(send):
    """One line on how a send went: the dial status of a miscall, or why it failed in words with the raw code
    beside them ("Busy (486)", "Invalid number (42)")."""
    if send.state in (states.FAILED, states.UNDELIVERABLE, states.UNKNOWN):
        from webapp.reasons import send_reason

        return str(send_reason(send) or "")
    return send.provider_status


def on_send_update(send, update):
    """ON_UPDATE hook: a send's answer or callback updates its request (delivery, dial status, price)."""
    otp = OtpRequest.get_or_none(OtpRequest.id == send.subject_id)
    if otp is None:
        return
    detail = send_detail(send)
    (OtpAttempt.update(outcome=send.state, detail=detail)
     .where((OtpAttempt.send_id == send.id) & (OtpAttempt.action == "send")).execute())
    price, currency = (Send.select(fn.SUM(Send.price), fn.MAX(Send.currency))
                       .where((Send.subject_id == otp.id) & Send.kind.in_(list(SEND_KINDS.values())))
                       .scalar(as_tuple=True))
    fields = {OtpRequest.price: price, OtpRequest.currency: currency or "", OtpRequest.updated_at: utcnow()}
    current = otp.send_id == send.id
    failed = send.state in (states.FAILED, states.UNDELIVERABLE, states.UNKNOWN)
    if current:
        fields.update({OtpRequest.delivery: send.state, OtpRequest.error: detail if failed else ""})
        if send.kind == SEND_KINDS["miscall"]:
            fields[OtpRequest.dial_status] = send.provider_status
            fields[OtpRequest.caller_hint] = send.detail.get("caller_hint", "")
        if send.submitted_at:
            fields[OtpRequest.expires_at] = send.submitted_at + timedelta(seconds=otp.valid_time)
        if send.state == states.DELIVERED:
            fields[OtpRequest.delivered_at] = send.final_at or utcnow()
    OtpRequest.update(fields).where(OtpRequest.id == otp.id).execute()
    if current and otp.purpose == "login" and send.kind == SEND_KINDS["miscall"] and failed:
        _fall_back_to_sms(otp)


def _fall_back_to_sms(otp):
    # A sign-in falls back to SMS once by itself (no user on the audit row: nobody asked). A callback's
    # fallback waits for the dispatcher; one made while sending is sent by dispatch() right away.
    if otp.status == "pending" and sms_left(otp) == MAX_SMS_SENDS:
        _queue(otp, "sms", None, None, "")


# --- verifying --------------------------------------------------------------------------------------------

def verify_target(otp):
    """The latest send CitCALL accepted: the code the person holds belongs to it."""
    return (Send.select().where((Send.subject_id == otp.id) & Send.kind.in_(list(SEND_KINDS.values()))
                                & Send.provider_ref.is_null(False)).order_by(Send.id.desc()).first())


def code_length(send):
    return citcall.OTP_DIGITS if send.kind == SEND_KINDS["miscall"] else SMS_CODE_DIGITS


def wrong_tries(send):
    return (OtpAttempt.select().where((OtpAttempt.send_id == send.id) & (OtpAttempt.action == "verify")
                                      & (OtpAttempt.outcome == "wrong")).count())


def verify(otp, code, user_id=None, remote_addr=""):
    """Check the code the person read back with CitCALL; records the try and moves the request on.

    Refusals that are no try at all (already verified, nothing sent, malformed code) raise OtpError.
    """
    if otp.status == "verified":
        raise OtpError("This code was already verified.")
    send = verify_target(otp)
    if send is None:
        raise OtpError("No code has reached CitCALL yet: send one first.")
    code = "".join((code or "").split())
    length = code_length(send)
    if len(code) != length or not code.isdigit():
        what = "the last 4 digits of the number that called" if length == citcall.OTP_DIGITS else "the code"
        raise OtpError(f"Enter {what} ({length} digits).")
    if otp.status in ("expired", "locked"):
        raise OtpError(f"{OUTCOMES['expired' if otp.status == 'expired' else 'exhausted'][1]}: send a new code.")
    outcome, message = _ask_citcall(send, otp.phone, code)
    if outcome == "wrong":
        left = otp.limit_try - wrong_tries(send) - 1
        message = (f"Wrong code ({left} {'try' if left == 1 else 'tries'} left)" if left > 0
                   else "Wrong code. That was the last try for this code: send a new one")
    method = METHOD_OF_KIND[send.kind]
    OtpAttempt.create(otp=otp.id, action="verify", method=method, gateway=send.data.get("gateway"), phone=otp.phone,
                      user_id=user_id, send_id=send.id, outcome=outcome, detail=message, remote_addr=remote_addr)
    fields = {OtpRequest.outcome: message[:200], OtpRequest.updated_at: utcnow()}
    status = OUTCOMES.get(outcome, (None,))[0]
    if status:
        fields[OtpRequest.status] = status
    if outcome == "valid":
        fields[OtpRequest.verified_at] = utcnow()
    OtpRequest.update(fields).where(OtpRequest.id == otp.id).execute()
    if outcome == "valid":
        _verified(OtpRequest.get_by_id(otp.id), user_id, remote_addr)
    return VerifyResult(outcome, message)


def _ask_citcall(send, phone, code):
    token = current_send_id.set(send.id)
    try:
        shared_client("citcall").verify(send.provider_ref, phone, code)
    except ProviderError as exc:
        outcome = RC_OUTCOMES.get(exc.code, "error")
        if outcome == "error":
            return outcome, f"Could not check the code ({exc.message}). Try again."
        return outcome, OUTCOMES[outcome][1]
    finally:
        current_send_id.reset(token)
    return "valid", OUTCOMES["valid"][1]


def _verified(otp, user_id, remote_addr):
    """What a verified code proves: a contact holds the number, or a user's phone is fit for two-factor."""
    from webapp.contacts.service import mark_verified

    if otp.purpose == "contact":
        contact = Contact.get_or_none((Contact.id == otp.contact_id) & (Contact.phone == otp.phone))
        contact = mark_verified(contact or otp.phone, user_id=user_id)
        if contact is not None and otp.contact_id != contact.id:
            OtpRequest.update(contact_id=contact.id).where(OtpRequest.id == otp.id).execute()
    elif otp.purpose == "enroll":
        user = User.get_or_none(User.id == otp.user_id)
        if user is not None and user.phone == otp.phone:
            set_two_factor(user, True, user_id, remote_addr)


def set_two_factor(user, enabled, actor_id=None, remote_addr=""):
    """Two-factor sign-in on or off for a user (by themselves, or reset by an admin), audited."""
    User.update(two_factor=enabled).where(User.id == user.id).execute()
    user.two_factor = enabled
    audit("user.2fa_on" if enabled else "user.2fa_off", user.email, user_id=actor_id, remote_addr=remote_addr)


# --- pages ------------------------------------------------------------------------------------------------

@dataclass
class Progress:
    """What the OTP panels show besides the request itself."""

    send: Send | None
    next_gateway: int | None
    sms_left: int
    tries_left: int | None
    live: bool

    @property
    def advice(self):
        """CitCALL's better-signal advice, once the third gateway was used."""
        return self.next_gateway is None


def progress(otp, now=None):
    send = Send.get_or_none(Send.id == otp.send_id) if otp.send_id else None
    target = verify_target(otp)
    tries_left = max(0, otp.limit_try - wrong_tries(target)) if target else None
    valid = otp.expires_at is None or (now or utcnow()) < otp.expires_at
    live = otp.status == "pending" and valid and send is not None and send.state not in states.FINAL
    return Progress(send, next_gateway(otp), sms_left(otp), tries_left, live)


def recent(limit=20):
    return list(OtpRequest.select().where(OtpRequest.purpose == "contact").order_by(OtpRequest.id.desc())
                .limit(limit))


def otp_timeline(contact):
    """Contact timeline source: every OTP sent to the contact's number and every code checked."""
    from webapp.contacts.timeline import TimelineItem

    attempts = (OtpAttempt.select().join(OtpRequest)
                .where((OtpAttempt.phone == contact.phone) & (OtpRequest.purpose == "contact"))
                .order_by(OtpAttempt.id.desc()).limit(100))
    items = []
    for attempt in attempts:
        if attempt.action == "send":
            gateway = f" (gateway {attempt.gateway})" if attempt.gateway is not None else ""
            title = f"OTP {METHODS[attempt.method]}{gateway}: {attempt.outcome}"
        else:
            title = f"OTP check: {OUTCOMES.get(attempt.outcome, (None, attempt.outcome))[1]}"
        items.append(TimelineItem(at=attempt.created_at, kind="otp", title=title, detail=attempt.detail,
                                  url=url_for("otp.detail", otp_id=attempt.otp_id)))
    return items
