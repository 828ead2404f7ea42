"""Settings > Providers: a live "test connection" per provider against the simulators."""
import pytest

PROVIDERS = ["citcall", "masking", "airtel", "oca"]


@pytest.mark.parametrize("name", PROVIDERS)
def test_connection_check_succeeds_against_the_sandbox(client, auth, sandbox, name):
    auth.login("supervisor")
    page = client.get("/settings/providers").get_data(as_text=True)
    assert f'hx-post="/settings/providers/{name}/check"' in page
    response = auth.htmx("POST", f"/settings/providers/{name}/check")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Connected" in html, html
    assert sandbox.requests_to({"citcall": "/citcall", "masking": "/masking", "airtel": "/airtel",
                                "oca": "/oca"}[name])


@pytest.mark.parametrize("name,setting", [("citcall", "CITCALL_API_KEY"), ("masking", "MASKING_PASSWORD"),
                                          ("airtel", "AIRTEL_PASSWORD"), ("oca", "OCA_PASSWORD")])
def test_connection_check_reports_bad_credentials(client, auth, app, sandbox, name, setting):
    app.config[setting] = "wrong-secret"
    auth.login("admin")
    html = auth.htmx("POST", f"/settings/providers/{name}/check").get_data(as_text=True)
    assert "Failed" in html and "wrong-secret" not in html


def test_agents_cannot_run_checks(client, auth):
    auth.login("agent")
    assert auth.htmx("POST", "/settings/providers/masking/check").status_code == 403


def test_unexpected_error_is_a_styled_500(app, client, auth):
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/_broken", "broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    auth.login("agent")
    response = client.get("/_broken")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "RuntimeError" not in html and "Traceback" not in html
