import io
import os

import pytest

from tests.conftest import PASSWORD


def test_post_without_csrf_token_is_refused(client, users):
    response = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_htmx_post_needs_csrf_header(client, auth, users):
    auth.login("admin")
    agent = users["agent"]
    refused = client.post(f"/settings/users/{agent.id}/active", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = auth.htmx("POST", f"/settings/users/{agent.id}/active")
    assert accepted.status_code == 302


def test_csrf_token_does_not_expire(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_security_headers(client, auth):
    auth.login("agent")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, users):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "agent@example.com", "password": PASSWORD, "csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_open_redirect_refused(client, users):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x", data={
        "email": "agent@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_styled_404(client, auth):
    auth.login("agent")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.get_data(as_text=True)


def test_providers_page_shows_urls_and_callback_token_but_no_secrets(client, auth, app):
    auth.login("admin")
    html = client.get("/settings/providers").get_data(as_text=True)
    assert app.config["CITCALL_BASE_URL"] in html
    assert f"/callbacks/citcall/{app.config['CALLBACK_TOKEN']}" in html
    assert f"/callbacks/airtel/{app.config['CALLBACK_TOKEN']}/cdr" in html
    for secret in ("CITCALL_API_KEY", "MASKING_PASSWORD", "AIRTEL_PASSWORD", "OCA_PASSWORD"):
        assert app.config[secret] not in html


def test_navigation_lists_existing_areas_only(client, auth):
    auth.login("agent")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/settings/"' in html
    assert "/settings/users" not in html


def test_every_route_but_login_static_and_webhooks_requires_a_session(app, client):
    import re

    public = {"auth.login", "static", "twofactor.verify", "twofactor.resend_code"}
    checked = 0
    for rule in app.url_map.iter_rules():
        # The OpenAPI document is public; the REST API takes a bearer token instead of a session.
        if rule.endpoint in public or rule.endpoint.startswith("callbacks.") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*\):\w+>", r"\1", rule.rule)
        path = re.sub(r"<(?:\w+:)?(\w+)>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            if path.startswith("/api/v1/"):
                assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
                checked += 1
                continue
            # 400: an anonymous POST fails the CSRF check even before the login check.
            assert response.status_code in (302, 400), f"{method} {path} answered {response.status_code}"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], f"{method} {path}"
            checked += 1
    assert checked > 40


# --- hostile input answers 4xx, never 500 (issue 12) -------------------------------------------------------

HUGE_PAGE = "99999999999999999999"


@pytest.fixture
def campaigns(ctx, users):
    from webapp.models import Campaign

    sms = Campaign.create(name="Promo", kind="sms", provider="masking", created_by=users["admin"].id)
    ivr = Campaign.create(name="Robocall", kind="ivr", provider="oca", created_by=users["admin"].id)
    return {"sms": sms.id, "ivr": ivr.id}


# Every list page with paging, plus the pages with a free-text filter.
LIST_PAGES = ["/contacts/", "/contacts/do-not-contact", "/calls/", "/campaigns/", "/campaigns/{sms}",
              "/campaigns/{ivr}/calls", "/inbox/", "/otp/", "/settings/users/", "/campaigns/audio"]


HOSTILE_QUERIES = [f"page={HUGE_PAGE}", "page=-5", "page=%D9%A3", "page=1e9", "agent=" + HUGE_PAGE, "page=%00",
                   "q=%00", "contact=%00", "state=%00", "list=" + HUGE_PAGE, "contact_id=" + HUGE_PAGE,
                   "from=0001-01-01&to=9999-12-31", "from=9999-99-99"]


@pytest.mark.parametrize("path", LIST_PAGES)
def test_list_pages_survive_hostile_query_strings(client, auth, campaigns, path):
    auth.login("admin")
    for query in HOSTILE_QUERIES:
        response = client.get(f"{path.format(**campaigns)}?{query}")
        expected = 400 if "%00" in query else 200
        assert response.status_code == expected, f"{path}?{query} answered {response.status_code}"
        if expected == 400:
            assert "The request could not be understood." in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/contacts/" + HUGE_PAGE, "/calls/" + HUGE_PAGE, "/campaigns/" + HUGE_PAGE,
                                  "/otp/" + HUGE_PAGE, "/settings/users/" + HUGE_PAGE])
def test_ids_past_the_database_range_are_not_found(client, auth, path):
    auth.login("admin")
    assert client.get(path).status_code == 404


def test_nul_in_a_form_value_is_refused(client, auth):
    auth.login("admin")
    response = auth.post("/contacts/new", data={"name": "A\x00B", "phone": "+6281234567890"})
    assert response.status_code == 400
    from webapp.models import Contact

    assert Contact.select().count() == 0


def test_huge_ids_in_forms_are_ignored(client, auth):
    auth.login("admin")
    response = auth.post("/contacts/bulk", data={"action": "optout", "ids": [HUGE_PAGE, "1"]})
    assert response.status_code < 500


@pytest.mark.parametrize("target", ["/%0D%0ASet-Cookie:%20x=1", "/%0Aevil", "/\\evil.example", "/%5Cevil.example",
                                    "/%00"])
def test_sign_in_with_a_hostile_next_goes_home(client, users, target):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post(f"/login?next={target}", data={
        "email": "agent@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/"


def test_sign_in_with_crlf_in_next_signs_in(client, users):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login?next=/%0D%0ASet-Cookie:%20x=1", data={
        "email": "agent@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_callback_with_a_non_ascii_token_is_not_found(client):
    assert client.post("/callbacks/citcall/%C3%A9", json={}).status_code == 404


# --- request size and cookies -------------------------------------------------------------------------------

class CountingBody:
    """A request body of ``size`` bytes produced on demand: a multipart file field, then filler. Counts what
    the server read, so a test can tell a refused body from one read to the end."""

    def __init__(self, size, boundary="xyz"):
        self.head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"big.mp3\"\r\n"
                     "Content-Type: audio/mpeg\r\n\r\n").encode()
        self.size = size
        self.sent = 0

        self.position = 0

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        self.position = self.size if whence == 2 else offset

    def read(self, n=-1):
        left = self.size - self.position
        n = left if n is None or n < 0 else min(n, left)
        start = self.position
        self.position += n
        self.sent += n
        head = self.head[start:start + n]
        return head + b"a" * (n - len(head))

    def readline(self, limit=-1):
        return self.read(min(limit if limit and limit > 0 else 65536, 65536))


def _post_body(client, path, size, headers=None):
    body = CountingBody(size)
    response = client.post(path, input_stream=body, content_length=size, headers=headers or {},
                           content_type="multipart/form-data; boundary=xyz")
    return response, body


def test_request_size_cap_is_set(app):
    cap = app.config["MAX_CONTENT_LENGTH"]
    assert isinstance(cap, int) and cap >= app.config["IMPORT_MAX_MB"] * 1024 * 1024


def test_anonymous_300_mb_post_is_refused_without_being_read(client, users):
    response, body = _post_body(client, "/login", 300 * 1024 * 1024)
    assert response.status_code == 413
    assert "larger than this console accepts" in response.get_data(as_text=True)
    assert body.sent < 1024 * 1024


def test_signed_in_post_over_the_cap_is_refused_without_being_read(client, auth, app):
    auth.login("supervisor")
    response, body = _post_body(client, "/campaigns/audio", app.config["MAX_CONTENT_LENGTH"] + 1,
                                headers={"X-CSRFToken": auth.token})
    assert response.status_code == 413
    assert body.sent < 1024 * 1024


@pytest.mark.parametrize(("base_url", "secure"), [("https://console.example", True), ("http://127.0.0.1:5000", False)])
def test_cookies_are_secure_under_an_https_base_url(tmp_path, base_url, secure):
    from flask import Flask

    from webapp import config

    probe = Flask("probe", instance_path=str(tmp_path))
    probe.config.update(config.defaults(str(tmp_path)))
    probe.config.update(PUBLIC_BASE_URL=base_url, SECRET_KEY="k", CALLBACK_TOKEN="t")
    config.finalize(probe)
    assert probe.config["SESSION_COOKIE_SECURE"] is secure
    assert probe.config["REMEMBER_COOKIE_SECURE"] is secure


def test_secure_flag_reaches_the_cookies(client, users, app):
    from tests.conftest import csrf_token

    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                           "csrf_token": token, "remember": "1"})
    cookies = response.headers.getlist("Set-Cookie")
    names = ("session=", "remember_token=", "known_browser=")
    assert all("Secure" in c for c in cookies if c.startswith(names)), cookies
    assert {n for n in names for c in cookies if c.startswith(n)} == set(names), cookies


# --- audio uploads with hostile names -----------------------------------------------------------------------

def _audio_files(app):
    folder = os.path.join(app.config["INSTANCE_UPLOADS"], "audio")
    return os.listdir(folder) if os.path.isdir(folder) else []


def test_nul_in_an_audio_file_name_is_dropped(client, auth, app, sandbox):
    from tests.ivr.mp3 import mp3
    from webapp.models import AudioFile

    auth.login("supervisor")
    response = auth.post("/campaigns/audio", data={"audio": (io.BytesIO(mp3(20)), "Pro\x00mo\x07.mp3")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    assert sandbox.last_request("/oca/api/v1/upload-audio")["files"]["audio"]["filename"] == "Promo.mp3"
    assert AudioFile.get().name == "Promo.mp3"


def test_an_audio_the_database_refuses_leaves_no_file_here_or_at_oca(ctx, sandbox, monkeypatch):
    from peewee import IntegrityError

    from tests.ivr.mp3 import mp3
    from webapp.campaigns import audio
    from webapp.models import AudioFile

    def refuse(**_fields):
        raise IntegrityError("refused")

    monkeypatch.setattr(AudioFile, "create", refuse)
    with pytest.raises(IntegrityError):
        audio.upload("promo.mp3", mp3(20))
    assert _audio_files(ctx) == []
    uploaded = sandbox.requests_to("/oca/api/v1/upload-audio")
    deleted = sandbox.requests_to("/oca/api/v1/delete-audio")
    assert len(uploaded) == 1 and len(deleted) == 1


# --- client address behind a reverse proxy ------------------------------------------------------------------

def test_trusted_proxy_gives_the_client_address(client, users, app):
    from tests.conftest import csrf_token
    from webapp.models import LoginAttempt

    app.config["TRUSTED_PROXIES"] = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        token = csrf_token(client, "/login")
        client.post("/login", data={"email": "agent@example.com", "password": "wrong-password-x", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=proxy)
    assert {a.remote_addr for a in LoginAttempt.select()} == {"203.0.113.5"}
    # Another client behind the same proxy is not locked out by the first one's failures.
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "agent@example.com", "password": PASSWORD, "csrf_token": token},
                           headers={"X-Forwarded-For": "203.0.113.6"}, environ_base=proxy)
    assert response.status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(client, users, app):
    from tests.conftest import csrf_token
    from webapp.models import LoginAttempt

    token = csrf_token(client, "/login")
    client.post("/login", data={"email": "agent@example.com", "password": "wrong-password-x", "csrf_token": token},
                headers={"X-Forwarded-For": "203.0.113.5"})
    assert LoginAttempt.get().remote_addr == "127.0.0.1"


def test_anonymous_body_is_capped_before_the_csrf_check_reads_it(client, users):
    from webapp.security import ANONYMOUS_MAX_BYTES

    response, body = _post_body(client, "/login", 2 * 1024 * 1024)
    assert response.status_code == 413
    assert body.sent < 2 * ANONYMOUS_MAX_BYTES


# --- over-long form values: 400 or 422 with a message, never 500 -------------------------------------------

def test_an_over_long_form_value_is_refused_with_a_message(client, auth, ctx):
    from webapp.models import Contact
    from webapp.security import MAX_FIELD_CHARS

    contact = Contact.create(name="Ann", phone="+6281234567890")
    auth.login("admin")
    response = auth.post(f"/contacts/{contact.id}/opt-out", data={"reason": "x" * (MAX_FIELD_CHARS + 1)})
    assert response.status_code == 400
    assert "longer (or larger) than this console accepts" in response.get_data(as_text=True)
    assert not Contact.get_by_id(contact.id).opted_out


def test_a_value_the_database_refuses_answers_400(client, auth, ctx, monkeypatch):
    from peewee import DataError

    from webapp.contacts import optouts
    from webapp.models import Contact

    def refuse(*_args, **_kwargs):
        raise DataError("value too long for type character varying(200)")

    contact = Contact.create(name="Ann", phone="+6281234567890")
    monkeypatch.setattr(optouts, "opt_out_contacts", refuse)
    auth.login("admin")
    response = auth.post(f"/contacts/{contact.id}/opt-out", data={"reason": "x" * 300})
    assert response.status_code == 400
    assert "Shorten it and try again" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_sign_in_with_an_over_long_email_is_a_failed_try(client, users):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "a" * 300 + "@example.com", "password": "x" * 300,
                                           "csrf_token": token})
    assert response.status_code == 401


def test_nul_in_a_csv_file_name_is_dropped(client, auth):
    from webapp.models import ImportJob

    auth.login("admin")
    response = auth.post("/contacts/import", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"name,phone\nAnn,+6281234567890\n"), "con\x00tacts\x1b.csv")})
    assert response.status_code < 500
    assert [job.filename for job in ImportJob.select()] == ["contacts.csv"]
