"""Orphan callbacks are applied in arrival order when their send's id appears, even with two appliers and
when a later report arrives between the id being stored and the orphan pass."""
import threading

from webapp.dispatch import states
from webapp.dispatch.registry import Outcome
from webapp.dispatch.updates import apply_orphans, apply_outcome
from webapp.extensions import db
from webapp.models import CallbackEvent, Send

TOKEN = "test-callback-token"
REF = "38590565"
# Both final: whichever is applied first decides the send's state. The earlier one says "failed".
EARLIER = {"session_id": REF, "error_code": "50", "error_message": "Saldo Habis", "msisdn": "6281234560000"}
LATER = {"session_id": REF, "error_code": "52", "error_message": "No Charge", "msisdn": "6281234560000"}


def _in_flight():
    return Send.create(kind="sms.masking", provider="masking", to_number="+6281234560000", state=states.SENDING)


def _dlr(client, params):
    return client.get(f"/callbacks/masking/{TOKEN}", query_string=params).get_json()["status"]


def _statuses():
    return [event.status for event in CallbackEvent.select().order_by(CallbackEvent.id)]


def test_orphans_are_applied_in_arrival_order(client, ctx):
    send = _in_flight()
    assert _dlr(client, EARLIER) == "orphan" and _dlr(client, LATER) == "orphan"
    apply_outcome(send, Outcome(provider_ref=REF), owner=None)
    assert Send.get_by_id(send.id).state == states.FAILED
    assert _statuses() == ["applied", "stale"]


def test_a_later_report_never_overtakes_an_earlier_orphan(client, ctx):
    """The answer's id is stored, and a later DLR comes in before the orphan pass runs: the earlier orphan
    is applied first all the same (before this, the send ended undeliverable)."""
    send = _in_flight()
    assert _dlr(client, EARLIER) == "orphan"
    Send.update(state=states.SUBMITTED, provider_ref=REF).where(Send.id == send.id).execute()
    assert _dlr(client, LATER) == "stale"
    assert Send.get_by_id(send.id).state == states.FAILED
    assert Send.get_by_id(send.id).error_code == "50"
    apply_orphans("masking", REF)  # the dispatcher's own pass finds nothing left to do
    assert _statuses() == ["applied", "stale"]


def test_two_appliers_apply_each_orphan_once_in_order(client, app, ctx):
    send = _in_flight()
    assert _dlr(client, EARLIER) == "orphan" and _dlr(client, LATER) == "orphan"
    Send.update(state=states.SUBMITTED, provider_ref=REF).where(Send.id == send.id).execute()
    start, errors = threading.Barrier(2), []

    def applier():
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                start.wait()
                apply_orphans("masking", REF)
        except Exception as exc:  # surfaced below: a thread's exception would otherwise be lost
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Send.get_by_id(send.id).state == states.FAILED
    assert _statuses() == ["applied", "stale"]


def test_a_callback_racing_the_answer_runs_its_hooks_after_the_answers(client, app, ctx):
    """The DLR arrives while the answer's hooks run (they read the send as `submitted`): it waits for the
    answer's transaction, so its hooks run last and what they record is not undone by the answer's."""
    from webapp.dispatch.registry import ON_UPDATE

    send = _in_flight()
    seen, racer = [], []

    def callback_now():
        with app.app_context():
            db.connect(reuse_if_open=True)
            try:
                _dlr(app.test_client(), {**EARLIER, "error_code": "22", "error_message": "Delivered"})
            finally:
                db.close()

    def hook(hooked, update):
        if not racer:  # the answer's hook: the DLR comes in now and is given time to land
            racer.append(threading.Thread(target=callback_now))
            racer[0].start()
            racer[0].join(0.5)
        seen.append(hooked.state)

    ON_UPDATE.setdefault("sms.masking", []).append(hook)
    try:
        apply_outcome(send, Outcome(provider_ref=REF), owner=None)
        racer[0].join(30)
    finally:
        ON_UPDATE["sms.masking"].remove(hook)
    assert seen == [states.SUBMITTED, states.DELIVERED]
    assert Send.get_by_id(send.id).state == states.DELIVERED
