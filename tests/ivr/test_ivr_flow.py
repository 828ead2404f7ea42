"""IVR robocall campaigns end to end against the OCA simulator over loopback HTTP: compose, calls under the
concurrency cap, throttling, call-status polling, results and statistics, the retry policy, audio in use."""
import csv
import io
import json
import re
import time
from datetime import timedelta

import pytest

from tests.conftest import USE_PG
from tests.ivr.helpers import (
    CALLER,
    PROMO,
    SURVEY,
    TAGIHAN,
    fast_forward,
    ivr_campaign,
    make_list,
    place_calls,
    settle,
    upload_audio,
)
from tests.ivr.mp3 import mp3
from webapp.campaigns import audio, ivr, service
from webapp.dispatch.dispatcher import dispatcher_for
from webapp.models import AudioFile, Campaign, Contact, OcaIvr, OcaNumber, Send, utcnow

CALL = "/oca/api/v1/call"
NUMBERS = ["+6281234560000", "+6281234560002", "+6281234560486"]


def simulator(sandbox):
    return sandbox.simulators["oca"]


def placed(sandbox):
    """The POST call requests OCA received (not call-status, which shares the prefix)."""
    return [r for r in sandbox.requests_to(CALL) if r["path"] == CALL]


def sends(campaign):
    return list(Send.select().where(Send.campaign_id == campaign.id).order_by(Send.id))


def by_number(campaign):
    return {s.to_number: s for s in sends(campaign)}


def compose_form(list_id, audio_id, **extra):
    return {"name": "Survey Desember", "ivr_id": SURVEY, "from_number": CALLER, "list_ids": [str(list_id)],
            "map_name": "field:name", "map_audio_1": f"audio:{audio_id}", "variables_for": SURVEY, "when": "now",
            "retry_attempts": "0", "retry_gap_minutes": "30", **extra}


def test_upload_compose_call_poll_results(app, auth, client, sandbox, sandbox_mode):
    auth.login("supervisor")
    response = auth.post("/campaigns/audio", data={"audio": (io.BytesIO(mp3(100)), "survey.mp3")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    assert auth.post("/campaigns/oca/refresh", data={"back": "compose"}).headers["Location"] == "/campaigns/new-ivr"
    with app.app_context():
        item = AudioFile.get()
        assert [i.name for i in OcaIvr.select().order_by(OcaIvr.name)] == [
            "Pengingat Tagihan", "Promo Blast", "Survey Kepuasan"]
        assert OcaIvr.get(OcaIvr.ivr_id == SURVEY).variables == ["name", "audio_1"]
        assert OcaNumber.select().count() == 3
        contact_list = make_list("Pelanggan", NUMBERS)
    page = client.get("/campaigns/new-ivr").get_data(as_text=True)
    assert "Survey Kepuasan" in page and "“Pengingat Tagihan” needs no variables." in page

    # The live preview shows the exact request for the first contact.
    form = compose_form(contact_list.id, item.id)
    preview = auth.htmx("POST", "/campaigns/new-ivr/preview", data=form).get_data(as_text=True)
    shown = json.loads(_unescape(re.search(r'<code data-preview="request">(.*?)</code>', preview, re.S).group(1)))
    assert shown == {"from_number": CALLER, "to_number": "081234560000", "ivr_id": SURVEY,
                     "variable": {"name": "Person 0", "audio_1": item.oca_url}}
    assert "<strong>3</strong> recipients" in preview and 'id="ivr-variables"' not in preview

    response = auth.post("/campaigns/new-ivr", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        campaign = Campaign.get(Campaign.name == "Survey Desember")
        assert (campaign.kind, campaign.provider, campaign.status, campaign.recipients) == ("ivr", "oca", "running", 3)
        assert campaign.options["variables"]["audio_1"]["value"] == item.oca_url
        settle(app, sandbox)
        requests_made = placed(sandbox)
        assert len(requests_made) == 3
        assert next(r["json"] for r in requests_made if r["json"]["to_number"] == "081234560000") == shown
        calls = by_number(campaign)
        answered = calls["+6281234560000"]
        assert (answered.state, answered.kind, len(answered.provider_ref)) == ("delivered", "ivr.oca", 24)
        detail = answered.detail
        # Strict: the documented "success" rather than the sample's "answered"; every menu key with its total.
        assert (detail["status"], detail["hangup_cause"], detail["duration"], detail["talk_duration"],
                detail["tta"]) == ({"default": "answered", "strict": "success"}[sandbox_mode], "NORMAL_CLEARING",
                                   26, 6, 20)
        assert {"call_start", "call_answer", "call_end"} <= set(detail)
        menu_answer = [{"key": "1", "title": "Puas", "total": 1}]
        if sandbox_mode == "strict":
            menu_answer.append({"key": "2", "title": "Tidak Puas", "total": 0})
        assert [(r["type"], r["answer"]) for r in detail["result"]] == [
            ("multiple_choice", menu_answer), ("collect_number", ["5"])]
        busy = calls["+6281234560486"]
        assert (busy.state, busy.error_code, busy.detail["hangup_cause"]) == ("failed", "USER_BUSY", "USER_BUSY")
        assert Send.select().where(Send.retry_of.is_null(False)).count() == 0  # no retry policy set
        service.tick()
        assert Campaign.get_by_id(campaign.id).status == "completed"

        stats = ivr.stats(campaign)
        assert (stats.calls, stats.answered, stats.answer_rate, stats.reached) == (3, 2, 66.7, 2)
        assert (stats.average_talk, stats.billable_minutes) == (6, 2)
        assert dict(stats.causes) == {"NORMAL_CLEARING": 2, "USER_BUSY": 1}
        menu, rating = stats.questions
        assert menu.question.startswith("Apakah Anda puas") and (menu.kind, menu.responses) == ("choice", 2)
        assert [(c.key, c.title, c.count, c.percent) for c in menu.choices] == [
            ("1", "Puas", 1, 50.0), ("2", "Tidak Puas", 1, 50.0)]
        assert (rating.kind, rating.responses, rating.average) == ("rating", 2, 3.5)

    detail_page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'IVR “Survey Kepuasan” from 02180602000' in detail_page
    assert '<strong data-stat="answer-rate">66.7%</strong>' in detail_page
    assert '<strong data-stat="billable-minutes">2 min</strong>' in detail_page
    assert '<td data-keypress="2" data-answer="q1-2">1 (50.0%)</td>' in detail_page
    assert '<strong data-stat="q2-average">3.5</strong> of 5' in detail_page
    assert '<td data-cause="USER_BUSY">1</td>' in detail_page
    progress = auth.htmx("GET", f"/campaigns/{campaign.id}", headers={"HX-Target": "campaign-progress"})
    assert 'data-stat="answer-rate"' in progress.get_data(as_text=True)

    calls_page = client.get(f"/campaigns/{campaign.id}/calls").get_data(as_text=True)
    assert "Busy (USER_BUSY)" in calls_page and "USER_BUSY USER_BUSY" not in calls_page
    assert "1 · Puas" in calls_page and "2 · Tidak Puas" in calls_page
    fragment = auth.htmx("GET", f"/campaigns/{campaign.id}/calls?state=failed", headers={"HX-Target": "ivr-calls"})
    body = fragment.get_data(as_text=True)
    assert body.startswith('<section id="ivr-calls"') and "USER_BUSY" in body and "Puas" not in body

    export = client.get(f"/campaigns/{campaign.id}/calls.csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert export.headers["Content-Disposition"] == f'attachment; filename="campaign-{campaign.id}-calls.csv"'
    first = next(r for r in rows if r["answers"].endswith("5"))
    assert (first["state"], first["talk_duration"], first["billable_minutes"], first["hangup_cause"]) == (
        "delivered", "6", "1", "NORMAL_CLEARING")
    assert "Puas" in first["answers"] and len(rows) == 3

    with app.app_context():
        contact = Contact.get(Contact.phone == "+6281234560000")
    timeline = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Robocall answered · Survey Desember" in timeline


def _unescape(text):
    import html

    return html.unescape(text)


def test_preview_brings_the_variables_of_a_newly_chosen_ivr(app, auth, sandbox):
    auth.login("supervisor")
    with app.app_context():
        ivr.refresh_catalog()
        item = upload_audio()
        contact_list = make_list("L", NUMBERS[:1])
    form = compose_form(contact_list.id, item.id, ivr_id=PROMO)  # variables_for still names the survey
    preview = auth.htmx("POST", "/campaigns/new-ivr/preview", data=form).get_data(as_text=True)
    assert '<fieldset id="ivr-variables" hx-swap-oob="true">' in preview
    assert 'name="map_name"' in preview and 'name="map_audio_1"' not in preview
    assert f'value="{PROMO}"' in preview
    tagihan = auth.htmx("POST", "/campaigns/new-ivr/preview", data={**form, "ivr_id": TAGIHAN})
    assert "needs no variables" in tagihan.get_data(as_text=True)


def test_compose_refuses_missing_mapping_and_keeps_the_form(app, auth, sandbox):
    auth.login("supervisor")
    with app.app_context():
        ivr.refresh_catalog()
        contact_list = make_list("L", NUMBERS[:1])
    form = {**compose_form(contact_list.id, 0), "map_audio_1": "audio:999", "map_name": "text", "text_name": " "}
    response = auth.post("/campaigns/new-ivr", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose an uploaded audio file for audio_1." in page and "Write the text for name." in page
    assert 'value="Survey Desember"' in page
    response = auth.post("/campaigns/new-ivr", data={**form, "from_number": "0210000", "ivr_id": "nope"})
    page = response.get_data(as_text=True)
    assert "Choose an IVR" in page and "Choose the caller id" in page
    with app.app_context():
        assert Campaign.select().count() == 0


def test_concurrency_cap_is_never_exceeded(app, users, sandbox):
    app.config["OCA_MAX_CONCURRENT_CALLS"] = 3
    sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=10)  # only our cap holds the calls back
    numbers = [f"+628123{i:04d}0000" for i in range(10)]
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", numbers).id])
        service.launch(campaign)
        for _ in range(10):
            place_calls(app)
            place_calls(app)  # a second pass while three calls are in progress starts nothing
            assert simulator(sandbox).active_count() <= 3
            assert Send.select().where(Send.state == "submitted").count() <= 3
            sandbox.flush()
            ivr.poll_call_status(app)
            if not Send.select().where(Send.state.in_(["queued", "submitted"])).exists():
                break
        assert simulator(sandbox).max_active_seen == 3
        assert len(placed(sandbox)) == 10  # no call was refused with 57
        assert {s.state for s in sends(campaign)} == {"delivered"}


def test_concurrency_limit_at_oca_requeues_instead_of_failing(app, users, sandbox):
    sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=2)  # OCA allows fewer calls than we are configured for
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", [f"+628123{i:04d}0000" for i in range(5)]).id])
        service.launch(campaign)
        place_calls(app)
        by_state = {}
        for send in sends(campaign):
            by_state.setdefault(send.state, []).append(send)
        assert (len(by_state["submitted"]), len(by_state["queued"])) == (2, 3)
        assert {(s.error_code, s.tries) for s in by_state["queued"]} == {("57", 0)}
        assert all(s.not_before > utcnow() for s in by_state["queued"])
        assert dispatcher_for(app).cool_until["oca"] > time.monotonic()
        place_calls(app)
        assert len(placed(sandbox)) == 5  # cooling down: nothing more was tried
        sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=5)
        fast_forward(app)
        settle(app, sandbox)
        assert {s.state for s in sends(campaign)} == {"delivered"}


@pytest.mark.parametrize("code", ["57", "9"])
def test_throttle_answers_requeue_without_spending_a_try(code, app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:1]).id])
        service.launch(campaign)
        simulator(sandbox).fail_next(code)
        place_calls(app)
        (send,) = sends(campaign)
        assert (send.state, send.error_code, send.tries) == ("queued", code, 0)
        assert send.not_before > utcnow() + timedelta(seconds=3)
        fast_forward(app)
        settle(app, sandbox)
        (send,) = sends(campaign)
        assert (send.state, send.tries, send.error_code) == ("delivered", 1, "")


def test_rate_limit_stops_a_polling_run(app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:2]).id])
        service.launch(campaign)
        place_calls(app)
        sandbox.flush()
        simulator(sandbox).fail_next(9)
        assert ivr.poll_call_status(app) == 0  # stopped at the first answer; the next run carries on
        assert ivr.poll_call_status(app) == 2
        assert {s.state for s in sends(campaign)} == {"delivered"}


def test_unknown_call_with_an_id_is_reconciled_by_polling(app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:1]).id])
        service.launch(campaign)
        place_calls(app)
        Send.update(state="unknown").where(Send.campaign_id == campaign.id).execute()
        sandbox.flush()
        ivr.poll_call_status(app)
        assert sends(campaign)[0].state == "delivered"


def test_refused_call_fails_with_the_reason(app, users, sandbox):
    with app.app_context():
        variables = {"name": {"source": "field", "value": "name"}, "audio_1": {"source": "field", "value": "x"}}
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:1]).id], variables=variables,
                                retry_attempts=2)
        service.launch(campaign)
        settle(app, sandbox)
        (send,) = sends(campaign)
        assert (send.state, send.error_code) == ("failed", "39")
        assert "variable audio_1 is required by this ivr" in send.error_text


def test_retry_policy_for_unanswered_and_busy(app, users, sandbox):
    numbers = ["+6281234560480", "+6281234560486", "+6281234560000"]
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", numbers).id], retry_attempts=1,
                                retry_gap_minutes=10)
        service.launch(campaign)
        place_calls(app)
        service.tick()  # no call left to place: completed while the calls still ring
        assert Campaign.get_by_id(campaign.id).status == "completed"
        started = utcnow()
        sandbox.flush()
        ivr.poll_call_status(app)
        calls = sends(campaign)
        first = {s.to_number: s for s in calls if s.attempt == 1}
        retries = {s.to_number: s for s in calls if s.attempt == 2}
        assert set(retries) == {"+6281234560480", "+6281234560486"}  # the answered call is never retried
        for number, retry in retries.items():
            assert (retry.state, retry.retry_of, retry.payload) == ("queued", first[number].id, first[number].payload)
            assert started + timedelta(minutes=9) < retry.not_before < started + timedelta(minutes=11)
        assert Campaign.get_by_id(campaign.id).status == "running"  # reopened for the new attempts
        settle(app, sandbox)
        assert len(placed(sandbox)) == 3  # not due yet
        fast_forward(app)
        settle(app, sandbox)
        calls = sends(campaign)
        assert len(calls) == 5 and len(placed(sandbox)) == 5
        assert {(s.to_number, s.attempt, s.state) for s in calls if s.attempt == 2} == {
            ("+6281234560480", 2, "failed"), ("+6281234560486", 2, "failed")}
        service.tick()
        assert Campaign.get_by_id(campaign.id).status == "completed"
        stats = ivr.stats(campaign)
        assert (stats.calls, stats.answered, stats.reached, stats.recipients) == (5, 1, 1, 3)
        assert dict(stats.causes) == {"NO_ANSWER": 2, "USER_BUSY": 2, "NORMAL_CLEARING": 1}


def test_no_retry_for_cancelled_campaigns_or_opted_out_numbers(app, users, sandbox):
    from webapp.contacts.optouts import add_number

    numbers = ["+6281234560480", "+6281234561480"]
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", numbers).id], retry_attempts=3)
        service.launch(campaign)
        place_calls(app)
        add_number(numbers[1], "asked not to be called")
        sandbox.flush()
        ivr.poll_call_status(app)
        assert {s.to_number for s in sends(campaign) if s.attempt == 2} == {numbers[0]}
        service.cancel(campaign)
        fast_forward(app)
        settle(app, sandbox)
        assert [s.state for s in sends(campaign) if s.attempt == 2] == ["cancelled"]


@pytest.mark.parametrize(("seconds", "minutes"), [(0, 0), (None, 0), (1, 1), (60, 1), (61, 2), (600, 10)])
def test_billable_minutes_round_up_per_call(seconds, minutes):
    assert ivr.billable_minutes(seconds) == minutes


def test_audio_in_use_cannot_be_deleted(app, auth, users, sandbox, client):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:1]).id])
        service.launch(campaign, start_at=utcnow() + timedelta(hours=1))
        item = AudioFile.get()
        with pytest.raises(audio.AudioError, match="“promo.mp3” is played by “Robocall” \\(scheduled\\)"):
            audio.delete(item)
        assert sandbox.requests_to("/oca/api/v1/delete-audio") == []
    auth.login("supervisor")
    page = auth.post(f"/campaigns/audio/{item.id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Cancel the campaign, or wait until it has finished, before deleting the audio." in page
    with app.app_context():
        service.cancel(campaign)
        audio.delete(AudioFile.get_by_id(item.id))
        assert AudioFile.select().count() == 0


def test_catalog_refresh_reports_oca_errors(app, auth, sandbox):
    auth.login("supervisor")
    simulator(sandbox).fail_next(17)
    page = auth.post("/campaigns/oca/refresh", follow_redirects=True).get_data(as_text=True)
    assert "OCA did not send its IVR list: OCA refused the username or password" in page
    page = auth.post("/campaigns/oca/refresh", follow_redirects=True).get_data(as_text=True)
    assert "Fetched 3 IVRs and 3 caller ids from OCA." in page
    assert "<code>audio_1</code>" in page and "02180602001" in page


def test_demo_seeder_adds_the_outcome_numbers_once(ctx, users):
    from webapp.models import ContactList

    ivr.seed_demo(users["admin"])
    ivr.seed_demo(users["admin"])
    demo_list = ContactList.get(ContactList.name == ivr.DEMO_LIST[0])
    assert sorted(m.contact.phone[-4:] for m in demo_list.memberships) == ["0000", "0002", "0480", "0486"]


@pytest.mark.skipif(USE_PG, reason="the lock is SQLite's (a read snapshot that cannot be upgraded to write)")
def test_polling_while_another_connection_writes_is_not_locked_out(app, users, sandbox):
    """A burst: callbacks and web requests commit on their own connections while a polling run writes."""
    import threading

    from webapp.extensions import db
    from webapp.models import AuditLog

    stop = threading.Event()

    def write_elsewhere():
        with app.app_context(), db.connection_context():
            while not stop.is_set():
                AuditLog.create(action="burst")
                time.sleep(0.002)

    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", [f"+62812345{n:02d}0000" for n in range(10, 15)]).id])
        service.launch(campaign)
        place_calls(app)
        sandbox.flush()
        sandbox.configure(SANDBOX_LATENCY_MS=20)
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        try:
            assert ivr.poll_call_status(app) == 5
        finally:
            stop.set()
            writer.join()
            sandbox.configure(SANDBOX_LATENCY_MS=0)
        assert {s.state for s in sends(campaign)} == {"delivered"}


def test_call_status_polls_are_logged_against_their_call(app, users, sandbox):
    from webapp.models import ChannelLog

    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS).id])
        service.launch(campaign)
        place_calls(app)
        sandbox.flush()
        assert ivr.poll_call_status(app) == 3
        polls = list(ChannelLog.select().where(ChannelLog.operation == "call_status"))
        refs = {s.id: s.provider_ref for s in sends(campaign)}
        assert len(polls) == 3 and {row.send_id for row in polls} == set(refs)
        assert all(row.url.endswith(refs[row.send_id]) for row in polls)


def test_menu_totals_of_zero_and_every_question_in_the_stats(app, auth, users, client, sandbox_mode, sandbox):
    """Strict mode lists every menu key with its total (0 when not pressed): 0 counts as 0, not as a press."""
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", ["+6281234560000", "+6281234561000",
                                                                  "+6281234560002"]).id])
        service.launch(campaign)
        settle(app, sandbox)
        answers = [s.detail["result"][0]["answer"] for s in sends(campaign)]
        if sandbox_mode == "strict":
            assert [len(a) for a in answers] == [2, 2, 2] and {c["total"] for a in answers for c in a} == {0, 1}
        menu, rating = ivr.stats(campaign).questions
        assert [(c.key, c.count, c.percent) for c in menu.choices] == [("1", 2, 66.7), ("2", 1, 33.3)]
        assert menu.responses == 3
        assert (rating.kind, rating.average) == ("rating", 4.0)
        assert [(c.key, c.count) for c in rating.choices] == [("1", 0), ("2", 1), ("3", 0), ("4", 0), ("5", 2)]
    auth.login("supervisor")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'data-answer="q1-1">2 (66.7%)</td>' in page and 'data-answer="q1-2">1 (33.3%)</td>' in page
    assert 'data-answer="q2-5">2 (66.7%)</td>' in page and '<strong data-stat="q2-average">4.0</strong>' in page
    calls_page = client.get(f"/campaigns/{campaign.id}/calls").get_data(as_text=True)
    assert calls_page.count("1 · Puas") == 2 and calls_page.count("2 · Tidak Puas") == 1  # total 0 is not shown
