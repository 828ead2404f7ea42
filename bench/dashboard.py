"""Time the provider log and callback browsers over 1,000,000 exchanges and 1,000,000 callbacks.

    .venv/bin/python bench/dashboard.py [rows]            # temporary SQLite database
    DATABASE_URL=postgresql://... .venv/bin/python bench/dashboard.py [rows]   # an EMPTIED, migrated PostgreSQL

Requests go through the Flask test client as a signed-in admin, so the figures are server time: routing,
queries and rendering. The target is a median under 200 ms for every case.
"""
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.auth.service import create_user  # noqa: E402
from webapp.db import migrate  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import CallbackEvent, ChannelLog, Send, utcnow  # noqa: E402

PASSWORD = "quiet-lantern-orbit-47"
REQUESTS = 15
CHUNK = 1000
PROVIDERS = ["masking", "citcall", "airtel", "oca"]
OPERATIONS = ["send", "report", "balance"]
CALLBACK_STATUSES = ["applied"] * 16 + ["stale", "orphan", "invalid", "failed"]
CAMPAIGNS = 20


def insert(model, columns, rows):
    """Multi-row INSERTs of ``columns`` from ``rows``, every other column at the model's default."""
    now = utcnow()
    rest = [f for f in model._meta.sorted_fields if f.name != "id" and f.column_name not in columns]
    extra = [now if f.default is utcnow else (f.default() if callable(f.default) else f.default) for f in rest]
    columns = list(columns) + [f.column_name for f in rest]
    rows = [tuple(row) + tuple(extra) for row in rows]
    table = model._meta.table_name
    placeholders = "(" + ", ".join([db.param] * len(columns)) + ")"
    head = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        db.execute_sql(head + ", ".join([placeholders] * len(chunk)), [v for row in chunk for v in row])


def seed(count):
    """count exchanges and count callbacks over count // 5 sends in CAMPAIGNS campaigns, spread over 90 days."""
    now = utcnow()
    sends = count // 5
    step = timedelta(days=90) / count
    with db.atomic():
        insert(Send, ["kind", "provider", "state", "to_number", "campaign_id", "provider_ref", "payload", "details",
                        "created_at", "updated_at", "not_before"],
               [("sms", PROVIDERS[i % 2], "delivered", f"+62812{i:08d}", 1 + i % CAMPAIGNS, f"ref{i}", "{}", "{}",
                 now, now, now) for i in range(sends)])
    for part in range(0, count, 100_000):
        with db.atomic():
            insert(ChannelLog, ["provider", "send_id", "operation", "method", "url", "request_headers",
                                   "request_body", "status_code", "response_body", "duration_ms", "error",
                                   "created_at"],
                   [(PROVIDERS[i % 4], 1 + i % sends, OPERATIONS[i % 3], "POST", "http://provider/api/send",
                     "{}", f"to=62812{i:08d}&text=Halo", 500 if i % 50 == 0 else 200, '{"rc": 0}', 120,
                     "", now - step * (count - i)) for i in range(part, min(part + 100_000, count))])
            insert(CallbackEvent, ["provider", "kind", "dedupe_key", "reference", "method", "query", "headers",
                                      "body", "body_encoding", "remote_addr", "status", "error", "attempts",
                                      "received_at"],
                   [(PROVIDERS[i % 2], "dlr", f"k{i}", f"ref{i % sends}", "GET", f"session_id={i}&status=1",
                     "{}", "", "utf8", "127.0.0.1", CALLBACK_STATUSES[i % 20], "", 0, now - step * (count - i))
                    for i in range(part, min(part + 100_000, count))])
    return sends


def median_ms(client, url):
    client.get(url)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def run(database_url, count):
    app = create_app({"SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench", "DATABASE_URL": database_url,
                      "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_PROFILE": "fast"})
    migrate()
    started = time.perf_counter()
    with app.app_context(), db.connection_context():
        sends = seed(count)
        create_user("bench@example.com", "Bench", "admin", PASSWORD)
        if database_url.startswith("postgres"):
            db.execute_sql("ANALYZE")
    print(f"seeded {count:,} exchanges and {count:,} callbacks in {time.perf_counter() - started:.0f} s "
          f"({database_url.split(':')[0]}); median of {REQUESTS} requests each")
    client = app.test_client()
    assert client.post("/login", data={"email": "bench@example.com", "password": PASSWORD}).status_code == 302
    middle = count // 2
    cases = [
        ("provider log: newest", "/ops/provider-log"),
        ("provider log: provider + error", "/ops/provider-log?provider=citcall&status=error"),
        ("provider log: operation", "/ops/provider-log?operation=report"),
        ("provider log: one send", f"/ops/provider-log?send={sends // 2}"),
        ("provider log: one campaign", "/ops/provider-log?campaign=7"),
        ("provider log: older page", f"/ops/provider-log?before={middle}"),
        ("provider log: a day", "/ops/provider-log?from={d}&to={d}"),
        ("callbacks: newest", "/ops/callbacks"),
        ("callbacks: failed", "/ops/callbacks?status=failed"),
        ("callbacks: provider + stale", "/ops/callbacks?provider=citcall&status=stale"),
        ("callbacks: one send", f"/ops/callbacks?send={sends // 2}"),
        ("callbacks: one campaign", "/ops/callbacks?campaign=7"),
        ("callbacks: older page", f"/ops/callbacks?before={middle}"),
        ("send story", f"/ops/sends/{sends // 2}"),
    ]
    day = (utcnow() - timedelta(days=45)).date().isoformat()
    for label, url in cases:
        print(f"  {label:<34} {median_ms(client, url.format(d=day)):7.1f} ms")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        run(database_url, count)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", count)


if __name__ == "__main__":
    main()
