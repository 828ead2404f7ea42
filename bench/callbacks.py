"""Callback ingestion under a storm (issue 12): the app's webhooks beside a bare Flask endpoint.

Both run under the same gunicorn config (gunicorn.conf.py, 4 workers) on the same database: PostgreSQL when
DATABASE_URL is set (a throwaway database: the bench empties its tables), else a temporary SQLite file. Each
receives the same storm from 32 client threads: masking DLRs and CitCALL SMS reports for sends that exist,
10% exact re-deliveries, 5% malformed (bad JSON, missing fields, 100-deep JSON, NUL bytes). The bare endpoint
inserts one row per request and answers 200; the app stores, deduplicates and answers (CALLBACK_APPLY=worker).

Prints each side's rate, p95 latency and 5xx count, the ratio app/bare (target >= 0.5), then starts a real
`flask worker`, waits until it has applied every stored callback, and prints its apply rate and how many
sends were applied twice (must be 0) or never (must be 0).

    .venv/bin/python bench/callbacks.py [--count 20000] [--clients 32]
"""
import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
DUPLICATES = 0.10
MALFORMED = 0.05


def bare_app():
    """The baseline, loaded by gunicorn as callbacks:bare_app(): one INSERT per request, nothing else."""
    from flask import Flask, request

    from webapp.db import make_database

    database = make_database(os.environ["DATABASE_URL"])
    app = Flask(__name__)

    @app.route("/callbacks/<path:rest>", methods=["GET", "POST"])
    def receive(rest):
        database.connect(reuse_if_open=True)
        try:
            database.execute_sql(f"INSERT INTO bench_callback (path, query, body) VALUES ({database.param}, "
                                 f"{database.param}, {database.param})",
                                 (rest, request.query_string.decode("latin-1"), request.get_data().hex()))
        finally:
            database.close()
        return {"status": "stored"}

    return app


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(url, valid):
    """Schema (the app's migrations plus the bare endpoint's table), emptied, and the sends the storm reports on."""
    from webapp import create_app
    from webapp.db import PK_DDL, dialect, migrate
    from webapp.extensions import db
    from webapp.models import CallbackEvent, Send, utcnow

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CALLBACK_TOKEN": TOKEN})
    with app.app_context():
        migrate()
        with db.connection_context():
            db.execute_sql("DROP TABLE IF EXISTS bench_callback")
            db.execute_sql(f"CREATE TABLE bench_callback (id {PK_DDL[dialect()]}, path TEXT, query TEXT, body TEXT)")
            CallbackEvent.delete().execute()
            Send.delete().execute()
            now = utcnow()
            rows = [{"kind": f"sms.{provider}", "provider": provider, "to_number": f"+6281{i:09d}",
                     "provider_ref": ref, "state": "submitted", "submitted_at": now} for i, (provider, ref) in
                    enumerate(valid)]
            with db.atomic():
                for start in range(0, len(rows), 1000):
                    Send.insert_many(rows[start:start + 1000]).execute()
    return app


def storm_requests(count, seed=12):
    """(method, path, body, content type) for the storm, shuffled; and the (provider, ref) of each valid one."""
    rng = random.Random(seed)
    duplicates, malformed = int(count * DUPLICATES), int(count * MALFORMED)
    valid_count = count - duplicates - malformed
    valid, storm = [], []
    for i in range(valid_count):
        ref = str(50_000_000 + i)
        if i % 2:
            query = urlencode({"session_id": ref, "error_code": "22", "error_message": "Delivered",
                               "msisdn": f"6281{i:09d}"})
            storm.append(("GET", f"/callbacks/masking/{TOKEN}?{query}", b"", None))
            valid.append(("masking", ref))
        else:
            body = json.dumps({"trxid": ref, "result": "Success", "description": "delivered",
                               "reportedDate": "2026-12-01 10:00:00"}).encode()
            storm.append(("POST", f"/callbacks/citcall/{TOKEN}", body, "application/json"))
            valid.append(("citcall", ref))
    storm += [rng.choice(storm) for _ in range(duplicates)]
    bad = [
        lambda i: ("POST", f"/callbacks/citcall/{TOKEN}", b'{"trxid": "%d", not json' % i, "application/json"),
        lambda i: ("GET", f"/callbacks/masking/{TOKEN}?session_id={i}", b"", None),
        lambda i: ("POST", f"/callbacks/citcall/{TOKEN}", b"[" * 100 + b"%d" % i + b"]" * 100, "application/json"),
        lambda i: ("POST", f"/callbacks/citcall/{TOKEN}", b'{"trxid":"%d\x00","result":"x"}' % i, "application/json"),
        lambda i: ("POST", f"/callbacks/airtel/{TOKEN}/events", b'{"id":"\xff%d"}' % i, "application/json"),
    ]
    storm += [bad[i % len(bad)](i) for i in range(malformed)]
    rng.shuffle(storm)
    return storm, valid


def run_storm(port, storm, clients):
    """Send the storm from ``clients`` threads; returns (seconds, sorted latencies, {status: count})."""
    position = iter(range(len(storm)))
    lock = threading.Lock()
    latencies, statuses = [], {}

    def client():
        mine, codes = [], {}
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                break
            method, path, body, content_type = storm[index]
            headers = {"Content-Type": content_type} if content_type else {}
            started = time.perf_counter()
            # gunicorn's sync workers close the connection after each response: one connection per request.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(method, path, body=body or None, headers=headers)
                status = connection.getresponse().status
            except OSError:
                status = "error"
            finally:
                connection.close()
            mine.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, n in codes.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sorted(latencies), statuses


def gunicorn(app_spec, port, env, extra=()):
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "4", "-b", f"127.0.0.1:{port}",
               *extra, app_spec]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn {app_spec} did not start")


def measure(name, app_spec, env, storm, clients, extra=()):
    port = free_port()
    proc = gunicorn(app_spec, port, env, extra)
    try:
        seconds, latencies, statuses = run_storm(port, storm, clients)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rate = len(storm) / seconds
    p95 = latencies[int(len(latencies) * 0.95)] * 1000
    errors = sum(n for status, n in statuses.items() if status == "error" or status >= 500)
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items(), key=str))
    print(f"{name:<22} {rate:8.0f} callbacks/s   p95 {p95:6.0f} ms   5xx {errors}   ({answers})")
    return rate, errors


def apply_with_worker(app, env, valid_count):
    """Start `flask worker`, wait until nothing is left to apply; returns (applied, seconds it took)."""
    from webapp.extensions import db
    from webapp.models import CallbackEvent

    def remaining():
        with app.app_context(), db.connection_context():
            return CallbackEvent.select().where(CallbackEvent.status == "received").count()

    total = remaining()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = last = None
    try:
        deadline = time.monotonic() + max(120, valid_count / 20)
        left = total
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            now, left = time.monotonic(), remaining()
            if left < total and first is None:
                first = now
            if left < total:
                last = now
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return total - left, (last - first) if first and last and last > first else 0.0


def check(app, valid):
    """(applied twice, never applied, sends delivered)."""
    from peewee import fn

    from webapp.extensions import db
    from webapp.models import CallbackEvent, Send

    with app.app_context(), db.connection_context():
        applied = (CallbackEvent.select(CallbackEvent.provider, CallbackEvent.reference, fn.COUNT(CallbackEvent.id))
                   .where(CallbackEvent.status == "applied")
                   .group_by(CallbackEvent.provider, CallbackEvent.reference).tuples())
        counts = {(provider, ref): n for provider, ref, n in applied}
        twice = sum(1 for n in counts.values() if n > 1)
        never = sum(1 for key in valid if key not in counts)
        delivered = Send.select().where(Send.state == "delivered").count()
    return twice, never, delivered


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        storm, valid = storm_requests(args.count)
        app = prepare_database(url, valid)
        # An address nothing listens on: the worker's polling jobs fail fast instead of reaching a provider.
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "CALLBACK_TOKEN": TOKEN,
               "CALLBACK_APPLY": "worker", "SANDBOX": "1", "SANDBOX_URL": f"http://127.0.0.1:{free_port()}"}
        database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"{len(storm)} callbacks ({DUPLICATES:.0%} duplicates, {MALFORMED:.0%} malformed), "
              f"{args.clients} clients, gunicorn -c gunicorn.conf.py -w 4, {database}")
        bare_rate, bare_errors = measure("bare Flask + INSERT", "callbacks:bare_app()", env, storm, args.clients,
                                         ("--pythonpath", str(ROOT / "bench")))
        app_rate, app_errors = measure("app webhooks", "wsgi:app", env, storm, args.clients)
        print(f"ratio app / bare: {app_rate / bare_rate:.2f} (target >= 0.5)")

        applied, seconds = apply_with_worker(app, env, len(valid))
        rate = f"{applied / seconds:.0f} callbacks/s" if seconds else "all at once"
        print(f"worker applied {applied} stored callbacks in {seconds:.1f} s: {rate}")
        twice, never, delivered = check(app, valid)
        print(f"applied twice: {twice}   valid never applied: {never}   sends delivered: {delivered}/{len(valid)}")
        failed = bare_errors or app_errors or twice or never
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
