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
        if rule.endpoint in public or rule.endpoint.startswith("callbacks."):
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*\):\w+>", r"\1", rule.rule)
        path = re.sub(r"<(?:\w+:)?(\w+)>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            # 400: an anonymous POST fails the CSRF check even before the login check.
            assert response.status_code in (302, 400), f"{method} {path} answered {response.status_code}"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], f"{method} {path}"
            checked += 1
    assert checked > 40
