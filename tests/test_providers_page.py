"""Settings > Providers: a live "test connection" per provider against the simulators."""
import re
import socket

import pytest

PROVIDERS = ["citcall", "masking", "airtel", "oca"]


def proved(html):
    """fact label -> yes | no | open, as the check's table shows them."""
    return dict(re.findall(r'data-fact="([^"]+)" data-proved="(\w+)"', html))


# provider -> the facts a passing check proves (yes) or leaves open.
PROVED = {
    "citcall": {"Reachable": "yes", "API key and IP whitelist accepted": "yes", "Nothing sent or charged": "yes",
                "Balance": "open"},
    "masking": {"Reachable": "yes", "Username and password accepted": "yes", "Balance": "yes"},
    "airtel": {"Reachable": "yes", "Credentials accepted": "yes", "Request understood": "yes",
               "Customer ID, call flow ID and caller ID accepted": "open"},
    "oca": {"Reachable": "yes", "Username and password accepted": "yes", "Caller numbers": "yes", "IVRs": "yes"},
}


@pytest.mark.parametrize("name", PROVIDERS)
def test_connection_check_succeeds_against_the_sandbox(client, auth, sandbox, name):
    auth.login("supervisor")
    page = client.get("/settings/providers").get_data(as_text=True)
    assert f'hx-post="/settings/providers/{name}/check"' in page
    response = auth.htmx("POST", f"/settings/providers/{name}/check")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Connected" in html, html
    assert proved(html) == PROVED[name]
    assert sandbox.requests_to({"citcall": "/citcall", "masking": "/masking", "airtel": "/airtel",
                                "oca": "/oca"}[name])


CREDENTIAL_FACT = {"citcall": "API key and IP whitelist accepted", "masking": "Username and password accepted",
                   "airtel": "Credentials accepted", "oca": "Username and password accepted"}


@pytest.mark.parametrize("name,setting", [("citcall", "CITCALL_API_KEY"), ("masking", "MASKING_PASSWORD"),
                                          ("airtel", "AIRTEL_PASSWORD"), ("oca", "OCA_PASSWORD")])
def test_connection_check_reports_bad_credentials(client, auth, app, sandbox, name, setting):
    app.config[setting] = "wrong-secret"
    auth.login("admin")
    html = auth.htmx("POST", f"/settings/providers/{name}/check").get_data(as_text=True)
    assert "Failed" in html and "wrong-secret" not in html
    assert proved(html) == {"Reachable": "yes", CREDENTIAL_FACT[name]: "no"}


def test_airtel_check_with_a_wrong_flow_id_proves_the_credentials(client, auth, app, sandbox):
    app.config["AIRTEL_CALL_FLOW_ID"] = "NOT_OUR_FLOW"
    auth.login("admin")
    html = auth.htmx("POST", "/settings/providers/airtel/check").get_data(as_text=True)
    assert "Failed" in html and "INCORRECT_CALL_FLOW_ID" in html
    assert proved(html) == {"Reachable": "yes", "Credentials accepted": "yes", "Call flow ID accepted": "no"}


@pytest.mark.parametrize("name,setting", [("citcall", "CITCALL_BASE_URL"), ("masking", "MASKING_BASE_URL"),
                                          ("airtel", "AIRTEL_BASE_URL"), ("oca", "OCA_BASE_URL")])
def test_connection_check_of_an_unreachable_provider(client, auth, app, name, setting):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config[setting] = f"http://127.0.0.1:{port}/nothing"
    auth.login("admin")
    html = auth.htmx("POST", f"/settings/providers/{name}/check").get_data(as_text=True)
    assert "Failed" in html and proved(html) == {"Reachable": "no"}


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


@pytest.mark.parametrize("url, host", [
    ("http://127.0.0.1:5000", "127.0.0.1"),
    ("http://localhost:5000", "localhost"),
    ("https://console.local", "console.local"),
    ("http://10.1.2.3", "10.1.2.3"),
    ("http://[::1]:5000", "::1"),
    ("https://console.example.co.id", None),
    ("https://203.0.113.9", "203.0.113.9"),  # documentation range, not routable either
    ("https://8.8.8.8", None),
])
def test_callback_hosts_no_provider_can_reach(url, host):
    from webapp.settings import unreachable_host

    assert unreachable_host(url) == host
