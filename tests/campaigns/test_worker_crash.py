"""Kill -9 a real `flask worker` mid-campaign, restart: no recipient is sent twice, none is silently skipped."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.dispatch import states
from webapp.dispatch.claim import expire_leases
from webapp.dispatch.dispatcher import drain
from webapp.models import Send, utcnow

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 40


def start_worker(app, sandbox_url, live_url):
    env = {
        **os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "SANDBOX": "1", "SANDBOX_URL": sandbox_url,
        "SECRET_KEY": "test-secret-key", "CALLBACK_TOKEN": "test-callback-token", "PUBLIC_BASE_URL": live_url,
        "SMS_RATE_PER_SECOND": "20",
    }
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_kill_worker_mid_campaign_then_restart(app, sandbox, sandbox_server, live_url, users):
    # Slow provider answers keep several requests in flight at the moment of the kill.
    sandbox.configure(SANDBOX_LATENCY_MS=150, SANDBOX_EVENT_DELAY=3600)
    with app.app_context():
        numbers = [f"+62812777{i:05d}" for i in range(RECIPIENTS)]
        campaign = launch(sms_campaign(users["admin"], [make_list("Crash", numbers).id]))
    worker = start_worker(app, sandbox_server.url, live_url)
    try:
        with app.app_context():
            assert wait_for(lambda: Send.select().where(Send.state == states.SUBMITTED).count() >= 10)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with app.app_context():
        at_kill = Counter(s.state for s in Send.select().where(Send.campaign_id == campaign.id))
        assert at_kill[states.QUEUED] + at_kill[states.SENDING] > 0, "the kill came too late; nothing was tested"
        # Recovery: the dead worker's leases expire. Requests it had started become unknown (never sent
        # again automatically); claims whose request had not started go back to the queue.
        requeued, unknown_count = expire_leases(now=utcnow() + timedelta(minutes=10))
        assert requeued + unknown_count == at_kill[states.SENDING]
        # 150 ms answers at 20 requests/s keep about three requests open: the kill always cuts some.
        assert unknown_count > 0
        unknown = {s.id for s in Send.select().where(Send.state == states.UNKNOWN)}
        assert len(unknown) == unknown_count
        # Restart: a new dispatcher sends the rest.
        sandbox.configure(SANDBOX_LATENCY_MS=0)
        assert drain(app, timeout=30)
        sends = list(Send.select().where(Send.campaign_id == campaign.id))
    requests_per_number = Counter(r["form"]["hp"] for r in sandbox.requests_to("/masking/send"))
    assert max(requests_per_number.values()) == 1, "a recipient was sent twice"
    final = Counter(s.state for s in sends)
    assert final[states.QUEUED] == final[states.SENDING] == 0
    assert final[states.SUBMITTED] + final[states.UNKNOWN] == RECIPIENTS, "a recipient was silently skipped"
    for send in sends:
        number = send.to_number.lstrip("+")
        if send.state == states.SUBMITTED:
            assert requests_per_number[number] == 1
        else:
            assert send.id in unknown and "may or may not" in send.error_text
