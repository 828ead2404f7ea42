"""IVR progress with retries: counted by recipient, never backwards; a pending retry says when, and a busy or
unanswered call that is retried is no failure."""
from datetime import UTC
from zoneinfo import ZoneInfo

from tests.ivr.helpers import fast_forward, ivr_campaign, make_list, place_calls, settle
from webapp.campaigns import ivr, service
from webapp.models import Send

NUMBERS = ["+6281234560480", "+6281234560486", "+6281234560000", "+6281234561000"]


def _snapshot(campaign):
    p = service.progress(campaign)
    return p["percent"], p["processed"], p["total"]


def test_progress_by_recipient_never_goes_backwards_through_retries(app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS).id], retry_attempts=1,
                                retry_gap_minutes=10)
        service.launch(campaign)
        seen = [_snapshot(campaign)]
        place_calls(app)
        seen.append(_snapshot(campaign))
        # Calls ringing: with a retry policy a call counts once it is final (it may still need a retry).
        assert seen[-1] == (0, 0, 4)
        sandbox.flush()
        ivr.poll_call_status(app)
        seen.append(_snapshot(campaign))
        p = service.progress(campaign)
        assert (p["percent"], p["processed"], p["total"]) == (50, 2, 4)  # two answered, two waiting to retry
        assert p["retry_pending"] == 2 and p["next_retry_at"] is not None
        # Busy and no answer with a retry pending are no failures.
        assert p["by_state"]["failed"] == 0 and p["delivery_rate"] == 100.0
        assert service.failure_reasons(campaign.id) == []
        fast_forward(app)
        place_calls(app)
        seen.append(_snapshot(campaign))
        settle(app, sandbox)
        seen.append(_snapshot(campaign))
        assert seen[-1] == (100, 4, 4)
        assert [s[0] for s in seen] == sorted(s[0] for s in seen)  # never backwards
        p = service.progress(campaign)
        assert (p["by_state"]["failed"], p["by_state"]["delivered"], p["retries"]) == (2, 2, 2)
        assert {r["n"] for r in service.failure_reasons(campaign.id)} == {1}


def test_without_a_retry_policy_a_call_in_progress_counts_as_processed(app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:2]).id])
        service.launch(campaign)
        place_calls(app)
        assert _snapshot(campaign) == (100, 2, 2)


def test_pages_show_the_pending_retry_with_its_time_and_no_failure(auth, app, users, sandbox):
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", NUMBERS[:3]).id], retry_attempts=2,
                                retry_gap_minutes=15)
        service.launch(campaign)
        place_calls(app)
        sandbox.flush()
        ivr.poll_call_status(app)
        due = {s.not_before for s in Send.select().where(Send.retry_of.is_null(False))}
    auth.login("supervisor")
    html = auth.htmx("GET", f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "1 of 3 recipients" in html and "2 waiting for a retry" in html
    assert html.count("data-retry-pending>retry pending at ") == 2
    assert html.split('id="recipients"')[1].count("<tr") - 1 == 3  # one row per recipient, not per call
    assert "attempt 1: Busy (USER_BUSY)" in html and "Failures by reason" not in html
    jakarta = ZoneInfo("Asia/Jakarta")
    assert all(f"retry pending at {at.replace(tzinfo=UTC).astimezone(jakarta):%H:%M}" in html for at in due)
    calls = auth.htmx("GET", f"/campaigns/{campaign.id}/calls").get_data(as_text=True)
    assert calls.count("data-retried>") == 2 and calls.count("data-retry-pending>") == 2
    assert 'hx-trigger="every 2s"' in calls
