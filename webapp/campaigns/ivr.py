"""IVR robocall campaigns through OCA: the cached IVR list and caller ids, compose, the call sender and its
concurrency cap, call-status polling, the retry policy for unanswered calls, statistics, export, timeline.

A campaign's settings (Campaign.settings JSON):

    {"ivr_id": "65e1...", "ivr_name": "Survey Kepuasan", "from_number": "02180602000",
     "variables": {"name": {"source": "field", "value": "name"},
                   "audio_1": {"source": "audio", "audio_id": 3, "value": "<OCA url>", "label": "promo.mp3"},
                   "kode": {"source": "text", "value": "A1"}},
     "retry_attempts": 2, "retry_gap_minutes": 30}

Each call is a send of kind ivr.oca whose payload is {"from_number", "ivr_id", "variable"}. OCA sends no
callbacks: a job polls call-status for every call not yet final and stores what it says in Send.details.
"""
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, url_for
from peewee import JOIN

from webapp.campaigns import ivr_results
from webapp.campaigns.compose import launch_from_form, list_ids_from, read_when
from webapp.campaigns.service import CampaignError, KindSpec, register_kind
from webapp.dispatch import states
from webapp.dispatch.registry import Outcome, Sender, SkipSend, on_update, register_sender
from webapp.dispatch.updates import apply_update
from webapp.extensions import db
from webapp.models import AudioFile, Campaign, Contact, OcaIvr, OcaNumber, Send, utcnow
from webapp.params import one_page
from webapp.providers import client_for, oca, shared_client
from webapp.providers.base import ProviderError, serving

log = logging.getLogger(__name__)

PROVIDER = "oca"
SEND_KIND = "ivr.oca"
# Calls placed per second by one worker: under OCA's 25 requests/second, leaving room for call-status polls.
CALL_RATE = 10
# Calls whose status is asked per polling run (every POLL_SECONDS); the oldest-asked first.
POLL_BATCH = 20
POLL_SECONDS = 3
# Hangup causes (Q.850 names, as OCA reports them) meaning nobody picked up: worth calling again later.
# CALL_REJECTED is left out on purpose: the callee declined the call.
RETRY_CAUSES = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "USER_BUSY"})
RETRY_STATUSES = frozenset({"no-answer", "busy"})
MAX_RETRY_ATTEMPTS = 5
MAX_RETRY_GAP_MINUTES = 24 * 60
DEFAULT_RETRY_GAP_MINUTES = 30
FIELD_RE = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_TEXT = 500
# How many contacts are looked at to offer their custom fields as variable sources.
FIELD_SAMPLE = 500


# --- OCA's IVR list and caller ids, cached ------------------------------------------------------------------

def refresh_catalog():
    """Replace the cached IVRs and caller ids with what OCA lists now; returns (ivrs, numbers)."""
    client = client_for(PROVIDER)
    try:
        ivrs, numbers = client.ivr_list(), client.numbers()
    except ProviderError as exc:
        raise CampaignError(f"OCA did not send its IVR list: {exc.message}") from exc
    now = utcnow()
    ivrs = list({ivr.ivr_id: ivr for ivr in ivrs}.values())
    numbers = list(dict.fromkeys(numbers))
    with db.atomic():
        OcaIvr.delete().execute()
        OcaNumber.delete().execute()
        if ivrs:
            OcaIvr.insert_many([{"ivr_id": i.ivr_id, "name": i.ivr_name or i.ivr_id, "created_at": i.created_at,
                                 "required_variables": json.dumps(i.required_variable), "fetched_at": now}
                                for i in ivrs]).execute()
        if numbers:
            OcaNumber.insert_many([{"number": n, "fetched_at": now} for n in numbers]).execute()
    return len(ivrs), len(numbers)


def catalog():
    ivrs = list(OcaIvr.select().order_by(OcaIvr.name))
    numbers = list(OcaNumber.select().order_by(OcaNumber.number))
    fetched = [row.fetched_at for row in ivrs + numbers]
    return {"ivrs": ivrs, "numbers": numbers, "fetched_at": max(fetched) if fetched else None}


def ensure_catalog():
    """Fetch the catalog once when nothing is cached (first visit); returns an error message or None."""
    if OcaIvr.select().exists() or OcaNumber.select().exists():
        return None
    try:
        refresh_catalog()
    except CampaignError as exc:
        return str(exc)
    return None


# --- variables and payloads ---------------------------------------------------------------------------------

def contact_fields():
    """Contact values a variable can take: name, phone and the custom fields contacts have."""
    keys = set()
    for contact in Contact.select(Contact.custom_fields).order_by(Contact.id).limit(FIELD_SAMPLE):
        keys.update(k for k in contact.fields if FIELD_RE.match(k))
    return ["name", "phone", *sorted(keys - {"name", "phone"})]


def default_choice(variable, fields, audios):
    """The mapping offered first: the contact field of the same name, an audio for audio_*, else text."""
    if variable in fields:
        return f"field:{variable}"
    if variable.startswith("audio") and audios:
        return f"audio:{audios[0].id}"
    return "text"


def read_mapping(variable, choice, text):
    """One variable's mapping from the form's choice ("field:city", "audio:3", "text") and text."""
    source, _, ref = (choice or "").partition(":")
    if source == "field":
        if not FIELD_RE.match(ref):
            raise ValueError(f"Choose the contact field for {variable}.")
        return {"source": "field", "value": ref}
    if source == "text":
        text = (text or "").strip()
        if not text:
            raise ValueError(f"Write the text for {variable}.")
        return {"source": "text", "value": text[:MAX_TEXT]}
    if source == "audio":
        audio = AudioFile.get_or_none(AudioFile.id == int(ref)) if ref.isdigit() else None
        if audio is None:
            raise ValueError(f"Choose an uploaded audio file for {variable}.")
        return {"source": "audio", "audio_id": audio.id, "value": audio.oca_url, "label": audio.name}
    raise ValueError(f"Choose what fills {variable}.")


def resolve_variables(mapping, contact_values):
    """The `variable` object of a call: each mapped value, a contact's field read from contact_values."""
    resolved = {}
    for name, item in mapping.items():
        value = contact_values.get(item["value"]) if item["source"] == "field" else item["value"]
        resolved[name] = "" if value is None else str(value)
    return resolved


def build_payload(campaign, contact):
    options = campaign.options
    variables = resolve_variables(options["variables"], contact.template_variables())
    return {"from_number": options["from_number"], "ivr_id": options["ivr_id"], "variable": variables}, 1


def call_body(payload, to_e164):
    """The JSON body POST call sends for this payload (webapp.providers.oca.Client.call)."""
    return {"from_number": payload["from_number"], "to_number": oca.oca_number(to_e164),
            "ivr_id": payload["ivr_id"], "variable": payload["variable"]}


# --- compose ------------------------------------------------------------------------------------------------

def _read_retry(form, errors):
    try:
        attempts = int(form.get("retry_attempts") or 0)
        gap = int(form.get("retry_gap_minutes") or DEFAULT_RETRY_GAP_MINUTES)
    except ValueError:
        errors["retry"] = "Attempts and minutes are whole numbers."
        return 0, DEFAULT_RETRY_GAP_MINUTES
    if not 0 <= attempts <= MAX_RETRY_ATTEMPTS:
        errors["retry"] = f"Between 0 and {MAX_RETRY_ATTEMPTS} more attempts."
    elif not 1 <= gap <= MAX_RETRY_GAP_MINUTES:
        errors["retry"] = f"Wait between 1 and {MAX_RETRY_GAP_MINUTES} minutes between attempts."
    return attempts, gap


def read_ivr_form(form, user):
    """Returns (values for create_draft, start_at_utc) or raises CampaignError with per-field messages."""
    errors = {}
    name = (form.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the campaign a name."
    ivr = OcaIvr.get_or_none(OcaIvr.ivr_id == (form.get("ivr_id") or ""))
    if ivr is None:
        errors["ivr_id"] = "Choose an IVR (refresh the list from OCA if it is empty)."
    from_number = form.get("from_number") or ""
    if not OcaNumber.select().where(OcaNumber.number == from_number).exists():
        errors["from_number"] = "Choose the caller id the calls come from."
    variables = {}
    for variable in ivr.variables if ivr else []:
        try:
            variables[variable] = read_mapping(variable, form.get(f"map_{variable}"), form.get(f"text_{variable}"))
        except ValueError as exc:
            errors[f"var_{variable}"] = str(exc)
    list_ids = list_ids_from(form)
    query = (form.get("audience_query") or "").strip()[:200]
    if not list_ids and not query:
        errors["audience"] = "Choose at least one list, or a contact search."
    timezone = user.timezone or "Asia/Jakarta"
    window_start, window_end, start_at = read_when(form, timezone, errors, verb="call")
    attempts, gap = _read_retry(form, errors)
    if errors:
        raise CampaignError("Please correct the highlighted fields.", errors)
    settings = {"ivr_id": ivr.ivr_id, "ivr_name": ivr.name, "from_number": from_number, "variables": variables,
                "retry_attempts": attempts, "retry_gap_minutes": gap}
    values = {"name": name[:200], "kind": "ivr", "provider": PROVIDER, "message": "", "sender_id": "",
              "list_ids": list_ids, "audience_query": query, "timezone": timezone,
              "window_start": window_start, "window_end": window_end, "settings": settings}
    return values, start_at


def compose_and_launch(form, user):
    """Create the campaign from the form and launch it; returns (campaign, recipients, start_at)."""
    values, start_at = read_ivr_form(form, user)
    campaign, created = launch_from_form(values, start_at, user)
    return campaign, created, start_at


def preview_request(form, sample, fields, audios):
    """The compose page's live preview: the exact call request for the sample contact, and what is missing."""
    ivr = OcaIvr.get_or_none(OcaIvr.ivr_id == (form.get("ivr_id") or ""))
    if ivr is None:
        return {"ivr": None, "body": None, "problems": ["Choose an IVR."], "empty": []}
    mapping, problems = {}, []
    for variable in ivr.variables:
        choice = form.get(f"map_{variable}") or default_choice(variable, fields, audios)
        try:
            mapping[variable] = read_mapping(variable, choice, form.get(f"text_{variable}"))
        except ValueError as exc:
            problems.append(str(exc))
            mapping[variable] = {"source": "text", "value": ""}
    values = sample.template_variables() if sample else {"name": "Budi", "phone": "+6281234567890"}
    variables = resolve_variables(mapping, values)
    payload = {"from_number": form.get("from_number") or "", "ivr_id": ivr.ivr_id, "variable": variables}
    body = call_body(payload, values["phone"])
    empty = [name for name, value in variables.items() if not value and mapping[name]["source"] == "field"]
    return {"ivr": ivr, "body": json.dumps(body, indent=2, ensure_ascii=False), "problems": problems, "empty": empty}


# --- sending (dispatcher threads) ---------------------------------------------------------------------------

def send_call(send):
    from webapp.contacts.optouts import is_opted_out

    if send.campaign_id is not None and is_opted_out(send.to_number):
        raise SkipSend("The number opted out after the campaign was launched.")
    data = send.data
    result = shared_client(PROVIDER).call(data["from_number"], send.to_number, data["ivr_id"], data.get("variable"))
    return Outcome(provider_ref=result.call_id, provider_status="submitted")


def capacity():
    """Calls that may start now: the account's concurrent-call limit minus calls being placed or in progress.

    A call counts until its polled status is final, so the count errs high (a call that ended moments ago
    still counts until the next poll) and OCA's own limit is not reached by any number of workers (the
    dispatcher calls this under the account's lock, webapp.dispatch.limits).
    """
    busy = (Send.select().where((Send.kind == SEND_KIND) & Send.state.in_([states.SENDING, states.SUBMITTED]))
            .count())
    return max(0, int(current_app.config["OCA_MAX_CONCURRENT_CALLS"]) - busy)


# --- call status (scheduler job) ----------------------------------------------------------------------------

def poll_call_status(app, now=None):
    """Ask OCA about calls not yet final (submitted, or unknown with a call id); returns how many answered."""
    now = now or utcnow()
    due = (Send.select()
           .where((Send.kind == SEND_KIND) & Send.state.in_(list(states.OPEN_AT_PROVIDER))
                  & Send.provider_ref.is_null(False))
           .order_by(Send.updated_at).limit(POLL_BATCH))
    client = shared_client(PROVIDER, app)
    checked = 0
    # Read every due row before writing: an SQLite read cursor left open across a write fails with
    # "database is locked" as soon as another connection has committed in between.
    for send in list(due):
        try:
            with serving(send.id):
                status = client.call_status(send.provider_ref)
        except ProviderError as exc:
            log.warning("call-status for send %s failed: %s", send.id, exc)
            if exc.retryable or exc.code == "timeout":
                break  # OCA is unreachable, slow, or asks us to slow down (9): the next run carries on
            Send.update(updated_at=now).where(Send.id == send.id).execute()
            continue
        update = status.to_update()
        update.details["status"] = status.status
        if apply_update(PROVIDER, update) != "applied":
            # Nothing new: note when we asked, so the next run asks the others first.
            Send.update(updated_at=now).where(Send.id == send.id).execute()
        checked += 1
    return checked


# --- retry policy (ON_UPDATE hook) --------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    attempts: int  # calls after the first, when nobody answered
    gap: timedelta


def retry_policy(campaign):
    options = campaign.options
    return RetryPolicy(int(options.get("retry_attempts") or 0),
                       timedelta(minutes=int(options.get("retry_gap_minutes") or DEFAULT_RETRY_GAP_MINUTES)))


def unanswered(send):
    """The call rang out or was busy; an answered call (any talk time) never counts."""
    detail = send.detail
    if detail.get("call_answer") or (detail.get("talk_duration") or 0) > 0:
        return False
    cause = str(detail.get("hangup_cause") or "").upper()
    status = send.provider_status.strip().lower().replace("_", "-").replace(" ", "-")
    return cause in RETRY_CAUSES or status in RETRY_STATUSES


def retry_unanswered(send, update, now=None):
    """A campaign call that ended unanswered gets a new attempt row after the campaign's gap, if any is left."""
    if send.state != states.FAILED or send.campaign_id is None or not send.provider_ref or not unanswered(send):
        return None
    campaign = Campaign.get_or_none(Campaign.id == send.campaign_id)
    if campaign is None or campaign.status == "cancelled":
        return None
    policy = retry_policy(campaign)
    if send.attempt > policy.attempts or Send.select().where(Send.retry_of == send.id).exists():
        return None
    from webapp.contacts.optouts import is_opted_out

    if is_opted_out(send.to_number):
        return None
    now = now or utcnow()
    with db.atomic():
        retry = Send.create(kind=send.kind, provider=send.provider, to_number=send.to_number,
                            campaign_id=send.campaign_id, contact_id=send.contact_id, payload=send.payload,
                            segments=send.segments, attempt=send.attempt + 1, retry_of=send.id,
                            not_before=now + policy.gap, created_at=now, updated_at=now)
        # The tick may have completed the campaign while this call was still ringing.
        (Campaign.update(status="running", completed_at=None)
         .where((Campaign.id == campaign.id) & (Campaign.status == "completed")).execute())
    return retry


# --- results ------------------------------------------------------------------------------------------------

def billable_minutes(talk_seconds):
    """OCA bills talk_duration (pickup to hang-up). Each call is rounded up to whole minutes on its own, the
    per-call minute granularity of Indonesian operators' tariffs (OCA does not publish its own): 61 s bill
    as 2 minutes, an unanswered call (0 s) as none."""
    return math.ceil(max(0, talk_seconds or 0) / 60)


@dataclass
class IvrStats:
    calls: int = 0  # calls that ended (answered or not)
    answered: int = 0
    reached: int = 0  # recipients with at least one answered call
    recipients: int = 0
    talk_seconds: int = 0
    billable_minutes: int = 0
    causes: list = field(default_factory=list)  # [(hangup cause, calls)], most frequent first
    questions: list = field(default_factory=list)  # [ivr_results.QuestionStats], every question in IVR order

    @property
    def answer_rate(self):
        return round(100 * self.answered / self.calls, 1) if self.calls else None

    @property
    def average_talk(self):
        return round(self.talk_seconds / self.answered) if self.answered else None


def stats(campaign):
    """Answer rate, talk time, billable minutes, hangup causes and the answers to every IVR question."""
    rows = (Send.select(Send.state, Send.details, Send.to_number)
            .where((Send.campaign_id == campaign.id) & Send.provider_ref.is_null(False)
                   & Send.state.in_([states.DELIVERED, states.FAILED])).tuples())
    result, causes, reached, results = IvrStats(recipients=campaign.recipients), Counter(), set(), []
    for state, details, phone in rows.iterator():
        detail = json.loads(details or "{}")
        talk = int(detail.get("talk_duration") or 0)
        result.calls += 1
        result.talk_seconds += talk
        result.billable_minutes += billable_minutes(talk)
        causes[detail.get("hangup_cause") or "(none given)"] += 1
        if state != states.DELIVERED:
            continue
        result.answered += 1
        reached.add(phone)
        results.append(detail.get("result") or [])
    result.reached = len(reached)
    result.causes = causes.most_common()
    result.questions = ivr_results.summarise(results)
    return result


def answers(detail):
    """A call's IVR results for display: [(question, type, [answer texts], [recording urls])]."""
    shown = []
    for item in detail.get("result") or []:
        texts, recordings = [], []
        for answer in item.get("answer") or []:
            if isinstance(answer, dict):
                if not ivr_results.pressed(answer):
                    continue  # a menu key listed with total 0: offered, not pressed
                texts.append(f"{answer.get('key', '')} · {answer.get('title', '')}".strip(" ·"))
            elif item.get("type") == "record_speach" and str(answer).startswith(("https://", "http://")):
                recordings.append(str(answer))
            else:
                texts.append(str(answer))
        shown.append((item.get("question") or "", item.get("type") or "", texts, recordings))
    return shown


CALL_TIMES = (("call_start", "Started"), ("call_answer", "Answered"), ("call_end", "Ended"))


def call_times(detail):
    """[(label, naive UTC datetime)] of a call's start, answer and end, as far as they happened."""
    return [(label, datetime.fromisoformat(detail[key])) for key, label in CALL_TIMES if detail.get(key)]


def keypresses(detail):
    """One line for tables and CSV: "question: answer; ..." (recordings counted, not listed)."""
    parts = []
    for question, _kind, texts, recordings in answers(detail):
        value = ", ".join(texts) or (f"{len(recordings)} recording(s)" if recordings else "")
        parts.append(f"{question}: {value}" if question else value)
    return "; ".join(parts)


def calls(campaign, state="", page=1, per_page=50):
    """A page of a campaign's calls with their contacts; (rows, has_next)."""
    query = (Send.select(Send, Contact.name.alias("contact_name"))
             .join(Contact, on=(Send.contact_id == Contact.id), join_type=JOIN.LEFT_OUTER)
             .where(Send.campaign_id == campaign.id))
    if state in states.ALL:
        query = query.where(Send.state == state)
    return one_page(query.order_by(Send.id).objects(), page, per_page)


def retried_ids(sends):
    """Which of these calls were followed by another attempt (so are no failure of their recipient)."""
    ids = [s.id for s in sends]
    return {s.retry_of for s in Send.select(Send.retry_of).where(Send.retry_of.in_(ids))} if ids else set()


EXPORT_COLUMNS = ["send_id", "attempt", "retry_of", "contact", "phone", "state", "call_id", "status", "hangup_cause",
                  "call_start", "call_answer", "call_end", "duration", "talk_duration", "billable_minutes", "tta",
                  "answers", "recordings", "error_code", "error_text", "reason", "created_at"]


def export_rows(campaign):
    """The IVR export's rows after its header, one per call attempt, streamed."""
    from webapp.phones import display

    query = (Send.select(Send, Contact.name.alias("contact_name"))
             .join(Contact, on=(Send.contact_id == Contact.id), join_type=JOIN.LEFT_OUTER)
             .where(Send.campaign_id == campaign.id).order_by(Send.id).objects())
    for send in query.iterator():
        detail = send.detail
        recordings = [url for *_rest, urls in answers(detail) for url in urls]
        yield [send.id, send.attempt, send.retry_of or "", getattr(send, "contact_name", "") or "",
               display(send.to_number), send.state, send.provider_ref or "", detail.get("status", ""),
               detail.get("hangup_cause", ""), detail.get("call_start", ""), detail.get("call_answer", ""),
               detail.get("call_end", ""), detail.get("duration", ""), detail.get("talk_duration", ""),
               billable_minutes(detail.get("talk_duration")), detail.get("tta", ""), keypresses(detail),
               " ".join(recordings), send.error_code, send.error_text, _reason_words(send), send.created_at]


def _reason_words(send):
    from webapp.reasons import send_reason

    reason = send_reason(send)
    return reason.words if reason else ""


# --- contact timeline ---------------------------------------------------------------------------------------

def outcome_label(send):
    if send.state == states.DELIVERED:
        return "answered"
    if send.state == states.FAILED:
        return "not answered" if unanswered(send) else "failed"
    return {states.QUEUED: "waiting", states.SENDING: "dialling", states.SUBMITTED: "in progress"}.get(
        send.state, send.state)


def ivr_timeline(contact):
    from webapp.contacts.timeline import TimelineItem

    sends = (Send.select(Send, Campaign.name.alias("campaign_name"))
             .join(Campaign, on=(Send.campaign_id == Campaign.id), join_type=JOIN.LEFT_OUTER)
             .where((Send.to_number == contact.phone) & (Send.kind == SEND_KIND))
             .order_by(Send.id.desc()).limit(100).objects())
    items = []
    for send in sends:
        detail = send.detail
        title = f"Robocall {outcome_label(send)}"
        if getattr(send, "campaign_name", None):
            title += f" · {send.campaign_name}"
        parts = [detail.get("hangup_cause", "")]
        if detail.get("talk_duration"):
            parts.append(f"talked {detail['talk_duration']} s")
        parts.append(keypresses(detail) or send.error_text)
        url = url_for("campaigns.ivr_calls", campaign_id=send.campaign_id) if send.campaign_id else None
        items.append(TimelineItem(at=send.created_at, kind="ivr", title=title,
                                  detail=" · ".join(p for p in parts if p), url=url))
    return items


# --- demo data ----------------------------------------------------------------------------------------------

DEMO_LIST = ("Robocall test numbers", "Sandbox OCA outcomes by the last four digits (webapp/sandbox/oca.py)")
DEMO_CONTACTS = [("Citra (presses 1)", "+6281298760000"), ("Dodi (presses 2)", "+6281298760002"),
                 ("Eka (busy)", "+6281298760486"), ("Fahmi (no answer)", "+6281298760480")]


def seed_demo(admin):
    """A list whose calls end each way the simulator knows, to watch answer rates, keypresses and retries.
    (The IVR list itself is fetched from the simulator on the first visit: it is not running yet here.)"""
    from webapp.contacts import service as contacts
    from webapp.models import ContactList

    if ContactList.select().where(ContactList.name == DEMO_LIST[0]).exists():
        return
    demo_list = contacts.create_list(*DEMO_LIST)
    for name, phone in DEMO_CONTACTS:
        if not Contact.select().where(Contact.phone == phone).exists():
            contacts.create_contact(name, phone, None, {"city": "Jakarta"}, [demo_list.id], user_id=admin.id)


# --- registration -------------------------------------------------------------------------------------------

def init_app(app):
    from webapp.contacts.timeline import TIMELINE_SOURCES
    from webapp.scheduler import register_job

    register_kind("ivr", KindSpec(send_kinds={PROVIDER: SEND_KIND}, build_payload=build_payload,
                                  retries_by_itself=lambda campaign: retry_policy(campaign).attempts > 0))
    # 57 (concurrent call limit) and 9 (rate limit) refuse the call: wait and place the same call again.
    register_sender(Sender(kind=SEND_KIND, provider=PROVIDER, send=send_call, rate=lambda config: CALL_RATE,
                           capacity=capacity, throttle_codes=oca.THROTTLE_CODES))
    on_update(SEND_KIND, retry_unanswered)
    register_job("oca-call-status", poll_call_status, seconds=POLL_SECONDS)
    if ivr_timeline not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(ivr_timeline)
    app.jinja_env.globals.update(ivr_stats=stats, ivr_answers=answers, ivr_call_times=call_times)
