"""Which sends a page of stored callbacks is about, in one query per provider (the dashboard feed and the
callback browser both show callbacks beside their sends)."""
from webapp.models import Send


def sends_for(events, *columns):
    """(provider, reference) -> Send holding ``columns`` (plus provider and provider_ref), for the events given.
    A reference two sends share (no provider reuses one) maps to whichever the database returns first."""
    refs = {}
    for event in events:
        if event.reference:
            refs.setdefault(event.provider, set()).add(event.reference)
    found = {}
    for provider, references in refs.items():
        query = (Send.select(Send.provider, Send.provider_ref, *columns)
                 .where((Send.provider == provider) & Send.provider_ref.in_(list(references))))
        for send in query:
            found.setdefault((send.provider, send.provider_ref), send)
    return found
