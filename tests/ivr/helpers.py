import time

from tests.campaigns.helpers import make_list  # noqa: F401  (re-exported for the IVR tests)
from tests.ivr.mp3 import mp3
from webapp.campaigns import audio, ivr
from webapp.campaigns.compose import create_draft
from webapp.dispatch.dispatcher import dispatcher_for
from webapp.models import Send, utcnow
from webapp.sandbox.oca import CALLER_IDS, IVRS

PROMO, SURVEY, TAGIHAN = IVRS
CALLER = CALLER_IDS[0]
OPEN = ("queued", "sending", "submitted")


def upload_audio(name="promo.mp3"):
    return audio.upload(name, mp3(50))


def ivr_campaign(user, list_ids, ivr_id=SURVEY, variables=None, retry_attempts=0, retry_gap_minutes=30, **extra):
    """A draft IVR campaign as the compose form would create it."""
    if variables is None:
        item = upload_audio()
        variables = {"name": {"source": "field", "value": "name"},
                     "audio_1": {"source": "audio", "audio_id": item.id, "value": item.oca_url, "label": item.name}}
    settings = {"ivr_id": ivr_id, "ivr_name": IVRS[ivr_id].ivr_name, "from_number": CALLER, "variables": variables,
                "retry_attempts": retry_attempts, "retry_gap_minutes": retry_gap_minutes}
    values = {"name": "Robocall", "kind": "ivr", "provider": "oca", "message": "", "sender_id": "",
              "list_ids": list_ids, "audience_query": "", "timezone": "Asia/Jakarta", "window_start": "",
              "window_end": "", "settings": settings, **extra}
    return create_draft(values, user)


def place_calls(app):
    """One dispatcher pass: start the calls capacity allows and wait for OCA's answers."""
    dispatcher = dispatcher_for(app)
    dispatcher.run_once()
    deadline = time.monotonic() + 10
    while dispatcher.busy() and time.monotonic() < deadline:
        time.sleep(0.005)


def settle(app, sandbox, rounds=30):
    """Place calls, let the simulator finish them, poll their status; until no due call is left open."""
    for _ in range(rounds):
        place_calls(app)
        sandbox.flush()
        ivr.poll_call_status(app)
        due = Send.select().where((Send.kind == "ivr.oca") & Send.state.in_(OPEN) & (Send.not_before <= utcnow()))
        if not due.exists():
            return
    raise AssertionError("calls did not settle")


def fast_forward(app):
    """Make queued calls due now and end the dispatcher's cool-down, as if their wait had passed."""
    Send.update(not_before=utcnow()).where(Send.state == "queued").execute()
    dispatcher_for(app).cool_until.clear()
