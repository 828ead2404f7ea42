"""Everything that happened with a contact, newest first, gathered from every area that knows something.

Each area appends a source to TIMELINE_SOURCES: a callable(contact) -> list[TimelineItem], e.g. the SMS
area returns one item per message sent to ``contact.phone``. A source that fails is logged and left out, so
one broken area never takes the contact page down with it.
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from webapp.models import ContactEvent, ImportJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    # Short machine word (created, sms, otp, call, ...): the page styles items by it.
    kind: str
    title: str
    detail: str = ""
    url: str | None = None


EVENT_TITLES = {
    "created": "Contact created",
    "edited": "Details edited",
    "imported": "Imported from CSV",
    "import_updated": "Updated by a CSV import",
    "opted_out": "Opted out",
    "opted_in": "Opted back in",
    "verified": "Phone verified",
}


def contact_events(contact):
    from flask import url_for
    from flask_login import current_user

    # Import pages are for supervisors; agents see the import named but not linked.
    link_imports = current_user and current_user.is_authenticated and current_user.has_role("supervisor")
    events = ContactEvent.select().where(ContactEvent.contact == contact.id).order_by(ContactEvent.id.desc())
    items = []
    for event in events.limit(200):
        url = None
        if event.kind in ("imported", "import_updated") and event.detail.isdigit():
            job = ImportJob.get_or_none(ImportJob.id == int(event.detail))
            detail = f"Import #{event.detail}" + (f" ({job.filename})" if job else "")
            url = url_for("contacts.import_job", job_id=int(event.detail)) if link_imports else None
        else:
            detail = event.detail
        items.append(TimelineItem(event.created_at, event.kind, EVENT_TITLES.get(event.kind, event.kind), detail, url))
    return items


TIMELINE_SOURCES = [contact_events]


def build_timeline(contact, limit=200):
    items = []
    for source in TIMELINE_SOURCES:
        try:
            items.extend(source(contact))
        except Exception:
            log.exception("timeline source %s failed for contact %s", getattr(source, "__name__", source), contact.id)
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]
