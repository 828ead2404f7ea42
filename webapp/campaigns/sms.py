"""SMS campaigns: payloads, the two SMS senders (masking, CitCALL), report/balance/inbox polling."""
import json
import logging
from datetime import timedelta

from flask import current_app, url_for
from peewee import JOIN

from webapp.campaigns import message
from webapp.campaigns.inbox import poll_masking_inbox  # noqa: F401  (a polling job of this module's family)
from webapp.campaigns.service import KindSpec, register_kind
from webapp.dispatch import states
from webapp.dispatch.registry import Outcome, Sender, SkipSend, register_sender
from webapp.dispatch.updates import apply_update
from webapp.extensions import db
from webapp.models import Campaign, Contact, InboxMessage, ProviderStatus, Send, utcnow
from webapp.models.contacts import template_variables
from webapp.phones import PhoneError, to_e164
from webapp.providers import shared_client
from webapp.providers.base import ProviderError, serving

log = logging.getLogger(__name__)

SMS_PROVIDERS = {"masking": "SMS masking", "citcall": "CitCALL SMS"}
SEND_KINDS = {"masking": "sms.masking", "citcall": "sms.citcall"}
# Reports are polled for sends still without a final status this long after submission.
REPORT_AFTER = timedelta(minutes=2)
# ...and each such send at most this often.
REPORT_EVERY = timedelta(minutes=1)
REPORT_BATCH = 200


def price_per_segment(provider):
    return float(current_app.config.get(f"SMS_PRICE_{provider.upper()}", 0) or 0)


def build_payload(campaign, contact):
    text = message.render(campaign.message, contact.template_variables())
    return {"text": text, "sender_id": campaign.sender_id}, message.segments(text)


def cost(provider, segments):
    return segments * price_per_segment(provider)


def estimate(campaign, segments):
    return cost(campaign.provider, segments)


def audience_segments(template, contacts, total):
    """SMS parts for a whole audience (contacts: its query, total: its size), each recipient's own text counted
    (a long name can add a part) as the launch counts them while building every payload; so the preview's cost
    is the one the campaign keeps."""
    if not message.variables_in(template):
        return total * message.segments(template)
    # Bare columns rather than whole rows (dates parsed) and one count per distinct set of values: a live
    # preview over 100,000 contacts.
    used = message.variables_in(template)
    parts_by_values = {}
    units = 0
    for row in contacts.select(Contact.name, Contact.phone, Contact.custom_fields).tuples().iterator():
        variables = template_variables(*row)
        key = tuple(str(variables.get(name, "")) for name in used)
        if key not in parts_by_values:
            parts_by_values[key] = message.segments(message.render(template, variables))
        units += parts_by_values[key]
    return units


register_kind("sms", KindSpec(send_kinds=SEND_KINDS, build_payload=build_payload, estimate=estimate))


# --- senders (run in dispatcher threads) -----------------------------------------------------------------------

def _check_consent(send):
    from webapp.contacts.optouts import is_opted_out

    if send.campaign_id is not None and is_opted_out(send.to_number):
        raise SkipSend("The number opted out after the campaign was launched.")


def send_masking(send):
    _check_consent(send)
    # Form POST keeps the account's password out of URLs (and so out of any proxy or access log).
    result = shared_client("masking").send(send.to_number, send.data["text"], method="POST")
    return Outcome(provider_ref=result.message_id, segments=result.segments)


def send_citcall(send):
    _check_consent(send)
    data = send.data
    result = shared_client("citcall").sms(send.to_number, data["text"], senderid=data.get("sender_id") or "CITCALL")
    return Outcome(provider_ref=result.trxid, segments=result.sms_count or send.segments, price=result.price,
                   currency=result.currency or "", provider_status=result.info or "")


def sms_rate(config):
    return float(config.get("SMS_RATE_PER_SECOND") or 0) or None


register_sender(Sender(kind="sms.masking", provider="masking", send=send_masking, rate=sms_rate))
# rc 34 (service temporarily unavailable) and 66 (maintenance) refuse the request: wait and try again.
register_sender(Sender(kind="sms.citcall", provider="citcall", send=send_citcall, rate=sms_rate,
                       throttle_codes=frozenset({"34", "66"})))


def test_send(provider, phone, text, sender_id="", user_id=None):
    """One message to one number before launch; a send row like any other, outside every campaign."""
    try:
        number = to_e164(phone)
    except PhoneError as exc:
        raise ValueError(f"Test number: {exc}") from exc
    if not text.strip():
        raise ValueError("Write the message first.")
    from webapp.settings.sender_ids import SenderIdError, validate

    try:
        sender_id = validate(provider, sender_id)
    except SenderIdError as exc:
        raise ValueError(f"Sender id: {exc}") from exc
    payload = {"text": text, "sender_id": sender_id, "test": True}
    return Send.create(kind=SEND_KINDS[provider], provider=provider, to_number=number, user_id=user_id,
                       payload=json.dumps(payload, ensure_ascii=False), segments=message.segments(text))


# --- polling jobs (run by the scheduler leader) ----------------------------------------------------------------

def poll_masking_reports(app, now=None):
    """Ask report.php about masking sends without a final status: covers lost DLRs and `unknown` rows."""
    now = now or utcnow()
    due = (Send.select()
           .where((Send.provider == "masking") & Send.state.in_(list(states.OPEN_AT_PROVIDER))
                  & Send.provider_ref.is_null(False) & (Send.submitted_at <= now - REPORT_AFTER)
                  & (Send.updated_at <= now - REPORT_EVERY))
           .order_by(Send.updated_at).limit(REPORT_BATCH))
    client = shared_client("masking", app)
    checked = 0
    # Rows read before any write: an open SQLite read cursor makes the writes fail with "database is locked".
    for send in list(due):
        try:
            with serving(send.id):
                report = client.report(send.provider_ref)
        except ProviderError as exc:
            log.warning("report for send %s failed: %s", send.id, exc)
            break
        update = report.to_update()
        if update.state is None or apply_update("masking", update) != "applied":
            # Still pending: note when we asked, so the next run asks the others first.
            Send.update(updated_at=now).where(Send.id == send.id).execute()
        checked += 1
    return checked


def poll_masking_balance(app):
    try:
        balance = shared_client("masking", app).balance()
    except ProviderError as exc:
        values = {"ok": False, "message": exc.message, "checked_at": utcnow()}
    else:
        values = {"ok": True, "balance": balance.amount, "expires_at": balance.expires_at, "message": "",
                  "checked_at": utcnow()}
    with db.atomic():
        (ProviderStatus.insert(provider="masking", **values)
         .on_conflict(conflict_target=[ProviderStatus.provider], update=values).execute())


def refresh_masking_balance(app):
    """Read the balance again while a masking campaign sends and once after it finished, so the dashboard and
    compose show what the sends cost without anyone pressing "test connection"."""
    status = masking_status()
    since = status.checked_at if status else None
    sending = Campaign.select().where((Campaign.provider == "masking") & (Campaign.status == "running")).exists()
    finished = since is None or Campaign.select().where(
        (Campaign.provider == "masking") & (Campaign.completed_at >= since)).exists()
    if sending or finished:
        poll_masking_balance(app)
        return True
    return False


def masking_status():
    return ProviderStatus.get_or_none(ProviderStatus.provider == "masking")


def low_balance(config):
    status = masking_status()
    threshold = float(config.get("MASKING_LOW_BALANCE", 0) or 0)
    return status is not None and status.balance is not None and status.balance < threshold


# --- contact timeline ---------------------------------------------------------------------------------------

def sms_timeline(contact):
    from webapp.contacts.timeline import TimelineItem

    items = []
    sends = (Send.select(Send, Campaign.name.alias("campaign_name")).join(
        Campaign, on=(Send.campaign_id == Campaign.id), join_type=JOIN.LEFT_OUTER)
        .where((Send.to_number == contact.phone) & Send.kind.in_(list(SEND_KINDS.values())))
        .order_by(Send.id.desc()).limit(100).objects())
    for send in sends:
        title = f"SMS {send.state}"
        if getattr(send, "campaign_name", None):
            title += f" · {send.campaign_name}"
        detail = send.data.get("text", "")
        if send.error_code or send.error_text:
            from webapp.reasons import send_reason

            detail += f" ({send_reason(send)})"
        url = url_for("campaigns.detail", campaign_id=send.campaign_id) if send.campaign_id else None
        items.append(TimelineItem(at=send.created_at, kind="sms", title=title, detail=detail, url=url))
    for message_in in InboxMessage.select().where(InboxMessage.sender == contact.phone).order_by(
            InboxMessage.id.desc()).limit(50):
        items.append(TimelineItem(at=message_in.received_at or message_in.fetched_at, kind="sms-in",
                                  title="SMS received" + (" · opted out" if message_in.opted_out else ""),
                                  detail=message_in.text))
    return items
