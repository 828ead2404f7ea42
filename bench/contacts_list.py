"""Time the contacts list page over 100,000 contacts in a temporary SQLite database.

    .venv/bin/python bench/contacts_list.py [contacts]

Requests go through the Flask test client as a signed-in supervisor, so the figures are server time: routing,
queries and template rendering. The target is a median under 150 ms for each case.
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.auth.service import create_user  # noqa: E402
from webapp.contacts import service  # noqa: E402
from webapp.contacts.import_run import insert_rows  # noqa: E402
from webapp.db import migrate  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Contact, ContactListMember, utcnow  # noqa: E402
from webapp.models.contacts import dump_fields, search_text  # noqa: E402

PASSWORD = "bench-password-123"
REQUESTS = 20
FIRST = ["Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Rina", "Eko", "Sri", "Ahmad", "Nur"]
CITIES = ["Jakarta", "Bandung", "Surabaya", "Medan", "Yogyakarta", "Denpasar"]


def seed(count):
    now = utcnow()
    lists = [service.create_list(name).id for name in ("Jakarta customers", "VIP", "Webinar attendees")]
    rows = []
    for i in range(count):
        name = f"{FIRST[i % len(FIRST)]} {i:06d}"
        phone = f"+62812{i:08d}"
        fields = {"city": CITIES[i % len(CITIES)], "order_id": f"INV-{i}"}
        rows.append((name, phone, None, dump_fields(fields), search_text(name, phone, None, fields),
                     i % 50 == 0, now if i % 50 == 0 else None, "", now, now))
    with db.atomic():
        insert_rows(Contact, rows)
    ids = [c.id for c in Contact.select(Contact.id).order_by(Contact.id)]
    with db.atomic():
        # Two thirds of the contacts, spread over the three lists.
        insert_rows(ContactListMember, [(cid, lists[n % 3], now) for n, cid in enumerate(ids) if n % 3 != 2])
    return lists


def median_ms(client, url, headers):
    client.get(url, headers=headers)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "CALLBACK_TOKEN": "bench", "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                          "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_PROFILE": "fast"})
        migrate()
        with app.app_context(), db.connection_context():
            lists = seed(count)
            create_user("bench@example.com", "Bench", "supervisor", PASSWORD)
        client = app.test_client()
        assert client.post("/login", data={"email": "bench@example.com", "password": PASSWORD}).status_code == 302
        htmx = {"HX-Request": "true"}
        cases = [
            ("page 1 (full page, by name)", "/contacts/", {}),
            ("page 1 newest first (htmx)", "/contacts/?sort=-created", htmx),
            ("search 'siti' (htmx)", "/contacts/?q=siti", htmx),
            ("search phone '0812000123'", "/contacts/?q=0812000123", htmx),
            ("search field 'surabaya'", "/contacts/?q=surabaya", htmx),
            ("list filter", f"/contacts/?list={lists[1]}", {}),
            ("list + opted out", f"/contacts/?list={lists[0]}&status=opted_out", htmx),
            ("page 200", "/contacts/?page=200", htmx),
        ]
        print(f"{count:,} contacts, median of {REQUESTS} requests each")
        for label, url, headers in cases:
            print(f"  {label:<30} {median_ms(client, url, headers):7.1f} ms")


if __name__ == "__main__":
    main()
