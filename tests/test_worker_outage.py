"""A real `flask worker` outlives its PostgreSQL connections: every backend is terminated mid-blast and the
blast still completes, each number sent exactly once, without anyone touching the worker."""
from collections import Counter

import pytest

from tests.campaigns.helpers import launch, make_list, sms_campaign
from tests.conftest import USE_PG
from tests.workers import start_worker, stop_workers, wait_for
from webapp.dispatch import states
from webapp.extensions import db
from webapp.models import Send

pytestmark = pytest.mark.skipif(not USE_PG, reason="terminates PostgreSQL backends")

RECIPIENTS = 300
TERMINATE_ALL = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def submitted(campaign_id):
    # The test's own pooled connections die with the others: each count asks on a fresh one.
    db.obj.close_idle()
    with db.connection_context():
        return (Send.select().where((Send.campaign_id == campaign_id) & (Send.state == states.SUBMITTED))
                .count())


def test_terminated_connections_mid_blast(app, sandbox, sandbox_server, live_url, users, tmp_path):
    # Answers take a little while, so requests are in flight (answers held, claims pending) at the cut.
    sandbox.configure(SANDBOX_LATENCY_MS=20, SANDBOX_EVENT_DELAY=3600)
    with app.app_context():
        numbers = [f"+62813555{i:05d}" for i in range(RECIPIENTS)]
        campaign = launch(sms_campaign(users["admin"], [make_list("Outage", numbers).id]))
    db.close()
    log_path = tmp_path / "worker.log"
    worker = start_worker(app, sandbox_server.url, live_url, log_path, SMS_RATE_PER_SECOND=100)
    try:
        assert wait_for(lambda: submitted(campaign.id) >= RECIPIENTS // 4, timeout=30)
        with db.connection_context():
            terminated = db.execute_sql(TERMINATE_ALL).fetchone()[0]
        assert terminated > 0
        at_cut = submitted(campaign.id)
        assert at_cut < RECIPIENTS, "the blast ended before the cut; nothing was tested"
        assert wait_for(lambda: submitted(campaign.id) == RECIPIENTS, timeout=30), open(log_path).read()[-3000:]
        assert worker.poll() is None, "the worker exited"
    finally:
        stop_workers(worker)
    per_number = Counter(r["form"]["hp"] for r in sandbox.requests_to("/masking/send"))
    assert len(per_number) == RECIPIENTS, "a number was never sent"
    assert max(per_number.values()) == 1, "a number was sent twice"
    with db.connection_context():
        assert Counter(s.state for s in Send.select().where(Send.campaign_id == campaign.id)) == {
            states.SUBMITTED: RECIPIENTS}
    log = log_path.read_text()
    assert log.count("database unreachable") == 1, log
    assert log.count("database reachable again") == 1, log
