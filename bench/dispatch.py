"""Dispatcher throughput against the masking simulator (issue 5).

Prints: SMS/s submitted with a zero-latency provider (target >= 200), the bare `requests` loop against the
same endpoint and the ratio, then the achieved rate with 200 ms provider latency and SMS_RATE_PER_SECOND=50
(target within 5%): once with one dispatcher, once with two `flask worker` processes sharing the account's
limit (must stay <= 50, also in its busiest second). The simulator runs in its own process, as the provider
would.

    .venv/bin/python bench/dispatch.py [--count 2000] [--database-url postgresql://.../scratch]

--database-url: the two-worker run on that database instead of a temporary SQLite file (a scratch
database: the run empties its send and channel_log tables).
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sandbox(port, latency_ms):
    env = {**os.environ, "SANDBOX": "1", "SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench",
           "SANDBOX_LATENCY_MS": str(latency_ms), "SANDBOX_EVENT_DELAY": "3600"}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sandbox", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("sandbox did not start")


def make_app(tmp, sandbox_url, rate, database_url=None):
    from webapp import create_app
    from webapp.db import migrate

    app = create_app({"DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db", "SANDBOX": True,
                      "SANDBOX_URL": sandbox_url, "SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench",
                      "SMS_RATE_PER_SECOND": rate})
    migrate()
    return app


def queue_sends(count):
    from webapp.extensions import db
    from webapp.models import Send

    rows = [{"kind": "sms.masking", "provider": "masking", "to_number": f"+6281{i:09d}",
             "payload": json.dumps({"text": f"Promo {i}"})} for i in range(count)]
    with db.connection_context(), db.atomic():
        for start in range(0, count, 1000):
            Send.insert_many(rows[start:start + 1000]).execute()


def run_dispatcher(app, count, marks=(), max_in_flight=None):
    """Dispatch until ``count`` sends are answered; returns (answered, seconds, {mark: seconds to reach it})."""
    from webapp.dispatch.dispatcher import MAX_IN_FLIGHT, Dispatcher
    from webapp.extensions import db
    from webapp.models import Send

    dispatcher = Dispatcher(app, max_in_flight=max_in_flight or MAX_IN_FLIGHT)
    # Answered by the provider either way (the simulator refuses its ...0999 test numbers on purpose).
    answered = Send.state.not_in(["queued", "sending"])
    reached = {}
    started = last_count = time.perf_counter()
    with app.app_context():
        while True:
            # Count answers every 10 ms at most: the count competes with the dispatcher for the database.
            if not dispatcher.run_once() or time.perf_counter() - last_count < 0.01:
                time.sleep(0.002)
                if time.perf_counter() - last_count < 0.01:
                    continue
            last_count = time.perf_counter()
            with db.connection_context():
                done = Send.select().where(answered).count()
            for mark in marks:
                if mark not in reached and done >= mark:
                    reached[mark] = time.perf_counter() - started
            if done >= count:
                break
        elapsed = time.perf_counter() - started
    dispatcher.shutdown()
    return done, elapsed, reached


def run_two_workers(app, sandbox_url, count, rate):
    """Two `flask worker` processes send ``count`` queued SMS; returns when each request left, in order."""
    from webapp.extensions import db
    from webapp.models import ChannelLog, Send

    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "SANDBOX": "1", "SANDBOX_URL": sandbox_url,
           "SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench", "SMS_RATE_PER_SECOND": str(rate)}
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    answered = Send.state.not_in(["queued", "sending"])
    started = time.perf_counter()
    try:
        with app.app_context():
            while time.perf_counter() - started < 10 * count / rate:
                with db.connection_context():
                    if Send.select().where(answered).count() >= count:
                        break
                time.sleep(0.05)
            with db.connection_context():
                # When each request left: logged when its answer came, less the time it took.
                left = [row.created_at - timedelta(milliseconds=row.duration_ms)
                        for row in ChannelLog.select().where(ChannelLog.operation == "send")]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)
    return sorted(moment.timestamp() for moment in left)


def empty_tables(app):
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        db.execute_sql("DELETE FROM send")
        db.execute_sql("DELETE FROM channel_log")


def bare_loop(sandbox_url, count):
    session = requests.Session()
    started = time.perf_counter()
    for i in range(count):
        session.post(f"{sandbox_url}/masking/send_post.php", timeout=10, data={
            "username": "sandbox", "password": "sandbox-masking-pass", "hp": f"6281{i:09d}", "message": f"Promo {i}"})
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    port = free_port()
    proc, url = start_sandbox(port, 0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(tmp, url, rate=0)
            queue_sends(args.count)
            done, elapsed, _ = run_dispatcher(app, args.count)
            dispatch_rate = done / elapsed
        bare_rate = bare_loop(url, args.count)
    finally:
        proc.kill()
    print(f"zero latency: dispatcher sent {done} SMS in {elapsed:.2f} s = {dispatch_rate:.0f} SMS/s "
          f"(target >= 200)")
    print(f"bare requests loop to the same endpoint: {bare_rate:.0f} req/s; dispatcher/bare = "
          f"{dispatch_rate / bare_rate:.2f}")

    port = free_port()
    proc, url = start_sandbox(port, 200)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(tmp, url, rate=50)
            queue_sends(700)
            # Steady state: from the 100th answered send (past the start-up burst) to the 600th.
            _, _, reached = run_dispatcher(app, 700, marks=(100, 600))
    finally:
        proc.kill()
    achieved = 500 / (reached[600] - reached[100])
    print(f"200 ms latency, configured 50/s, one dispatcher: achieved {achieved:.1f} SMS/s over 500 sends "
          f"({100 * (achieved - 50) / 50:+.1f}% from target, limit 5%)")

    port = free_port()
    proc, url = start_sandbox(port, 200)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(tmp, url, rate=50, database_url=args.database_url)
            empty_tables(app)
            with app.app_context():
                queue_sends(700)
            left = run_two_workers(app, url, 700, 50)
    finally:
        proc.kill()
    # Requests per second of the clock, by when they left; the first and last seconds are only partly used.
    per_second = Counter(math.floor(moment) for moment in left)
    full = sorted(per_second)[1:-1]
    achieved = sum(per_second[second] for second in full) / len(full)
    where = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
    print(f"200 ms latency, configured 50/s, two worker processes ({where}): achieved {achieved:.1f} SMS/s over "
          f"{len(full)} full seconds, busiest second {max(per_second.values())} (limit 50 for the account, both "
          f"workers together)")


if __name__ == "__main__":
    main()
