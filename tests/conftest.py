"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when DATABASE_URL says so), the sandbox
simulators and the app served over real loopback HTTP, and users of each role."""
import os
import socket

import pytest

from tests.servers import ServerThread, SwitchableApp
from webapp import create_app
from webapp.db import make_database, migrate
from webapp.extensions import db
from webapp.sandbox import create_sandbox_app

PG_URL = os.environ.get("DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgres")
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Tests never leave the machine: resolving any non-loopback host fails loudly."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        results = real(host, *args, **kwargs)
        for *_rest, sockaddr in results:
            address = sockaddr[0]
            if not (address.startswith("127.") or address == "::1"):
                raise OSError(f"test tried to reach non-loopback host {host!r}")
        return results

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="session")
def sandbox_server():
    app = create_sandbox_app({"SANDBOX_EVENT_DELAY": 0.05})
    server = ServerThread(app).start()
    server.state = app.extensions["sandbox"]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_entry():
    entry = SwitchableApp()
    server = ServerThread(entry).start()
    server.entry = entry
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_schema():
    """PostgreSQL: build the schema once per session; each test then empties the tables."""
    if not USE_PG:
        yield None
        return
    database = make_database(PG_URL)
    db.initialize(database)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
    migrate()
    database.close_all() if hasattr(database, "close_all") else None
    yield PG_URL


def _empty_pg_tables():
    with db.connection_context():
        tables = [t for t in db.get_tables() if t != "schema_version"]
        if tables:
            db.execute_sql("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{t}"' for t in tables)))


@pytest.fixture
def app(tmp_path, sandbox_server, live_entry, pg_schema):
    database_url = pg_schema or f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "CALLBACK_TOKEN": "test-callback-token",
        "DATABASE_URL": database_url,
        "SANDBOX": True,
        "SANDBOX_URL": sandbox_server.url,
        "PUBLIC_BASE_URL": live_entry.url,
        "PASSWORD_HASH_PROFILE": "fast",
        # Flows here assert a callback's effect as soon as it is answered; tests of the worker's apply job
        # switch to "worker" themselves.
        "CALLBACK_APPLY": "inline",
        "INSTANCE_UPLOADS": str(tmp_path / "uploads"),
    })
    if pg_schema:
        _empty_pg_tables()
    else:
        migrate()
    sandbox_server.state.reset()
    sandbox_server.state.configure(CALLBACK_BASE_URL=live_entry.url, CALLBACK_TOKEN="test-callback-token",
                                   SANDBOX_LATENCY_MS=0, SANDBOX_FAILURE_RATIO=0, SANDBOX_EVENT_DELAY=0.05,
                                   SANDBOX_STRICT="")
    live_entry.entry.target = app
    db.connect(reuse_if_open=True)
    yield app
    live_entry.entry.target = None
    if not db.is_closed():
        db.close()


@pytest.fixture
def ctx(app):
    """An app context for tests that call domain functions directly. Kept out of `app` on purpose: a
    context pushed around test-client requests would share flask.g (and the signed-in user) between them."""
    with app.app_context():
        yield app


@pytest.fixture
def sandbox(sandbox_server, app):
    """The simulators' shared state: recorded requests, pending timers (flush()), settings (configure())."""
    return sandbox_server.state


@pytest.fixture(params=["default", "strict"])
def sandbox_mode(request, sandbox):
    """Runs a provider flow test twice: against the sandbox as it behaves by default, and in strict-spec mode
    (the least the specs show: optional fields absent, extra fields present, no echoed ids)."""
    sandbox.configure(SANDBOX_STRICT="1" if request.param == "strict" else "")
    return request.param


@pytest.fixture
def live_url(app, live_entry):
    return live_entry.url


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def users(app):
    from webapp.auth.service import create_user

    with app.app_context():
        return {
            role: create_user(f"{role}@example.com", role.title(), role, PASSWORD)
            for role in ("admin", "supervisor", "agent")
        }


class AuthActions:
    """Signs in through the real login form, then carries the page's CSRF token like htmx does."""

    def __init__(self, client, users):
        self.client = client
        self.users = users
        self.token = None

    def login(self, role="admin"):
        token = csrf_token(self.client, "/login")
        response = self.client.post(
            "/login", data={"email": f"{role}@example.com", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf_token(self.client, "/")
        return self.users[role]

    def logout(self):
        self.client.post("/logout", headers={"X-CSRFToken": self.token})

    def post(self, path, **kwargs):
        headers = {"X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)

    def htmx(self, method, path, **kwargs):
        headers = {"X-CSRFToken": self.token, "HX-Request": "true", **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)


@pytest.fixture
def auth(client, users):
    return AuthActions(client, users)


def csrf_token(client, path="/"):
    """The token a page embeds, as a browser would read it."""
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
