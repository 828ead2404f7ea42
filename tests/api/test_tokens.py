"""API tokens: shown once and stored hashed, bearer-only, revocable, expiring, acting with the user's role,
rate-limited per token in the database."""
import hashlib
from datetime import timedelta

import pytest

from tests.api.conftest import ApiClient, error_of
from webapp.api import tokens
from webapp.models import ApiToken, User, utcnow


def test_a_token_is_stored_only_as_its_hash(ctx, users):
    row, token = tokens.create(users["agent"], "crm")
    stored = ApiToken.get_by_id(row.id)
    assert token.startswith("cc_") and token not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert tokens.authenticate(token)[1].id == users["agent"].id


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer cc_unknown", "Basic abc", "Token cc_x"])
def test_requests_without_a_valid_token_get_401_json(client, users, header):
    response = client.get("/api/v1/contacts", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "unauthorized"


def test_a_browser_session_does_not_open_the_api(auth):
    auth.login("admin")
    response = auth.client.get("/api/v1/contacts")
    assert response.status_code == 401


def test_revoked_expired_and_deactivated_tokens_are_refused(app, users, api_tokens):
    with app.app_context():
        row, expiring = tokens.create(users["agent"], "short", expires_days=1)
        ApiToken.update(expires_at=utcnow() - timedelta(seconds=1)).where(ApiToken.id == row.id).execute()
        own = ApiToken.get(ApiToken.name == "supervisor token")
        assert tokens.revoke(users["supervisor"].id, own.id)
        User.update(active=False).where(User.id == users["admin"].id).execute()
    for token in (expiring, api_tokens["supervisor"], api_tokens["admin"]):
        assert ApiClient(app, token).get("/api/v1/contacts").status_code == 401
    assert ApiClient(app, api_tokens["agent"]).get("/api/v1/contacts").status_code == 200


def test_last_use_is_recorded(api, app):
    assert api("agent").get("/api/v1/contacts").status_code == 200
    with app.app_context():
        assert ApiToken.get(ApiToken.name == "agent token").last_used_at is not None


def test_a_token_acts_with_its_users_role(api):
    body = {"kind": "sms", "name": "Promo", "list_ids": [1], "message": "Hi"}
    refused = api("agent").post("/api/v1/campaigns", json=body)
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    assert api("agent").post("/api/v1/campaigns/1/start").status_code == 403
    assert api("agent").get("/api/v1/providers").status_code == 403
    assert api("supervisor").get("/api/v1/providers").status_code == 200


def test_rate_limit_per_token_is_held_in_the_database(api, app):
    app.config["API_RATE_LIMIT"] = 3
    agent = api("agent")
    assert [agent.get("/api/v1/lists").status_code for _ in range(3)] == [200, 200, 200]
    limited = agent.get("/api/v1/lists")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert error_of(limited)["code"] == "rate_limited"
    # Another token has its own budget.
    assert api("supervisor").get("/api/v1/lists").status_code == 200


def test_profile_page_creates_a_token_shown_once_and_revokes_it(auth, app):
    user = auth.login("agent")
    page = auth.post("/settings/api-tokens", data={"name": "helpdesk", "expires": "30"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with app.app_context():
        row = ApiToken.get(ApiToken.user_id == user.id)
    token = html.split('<code>cc_', 1)[1].split("</code>", 1)[0]
    assert ApiClient(app, "cc_" + token).get("/api/v1/lists").status_code == 200
    listing = auth.client.get("/settings/api-tokens").get_data(as_text=True)
    assert "helpdesk" in listing and token not in listing
    assert auth.post(f"/settings/api-tokens/{row.id}/revoke").status_code == 303
    assert ApiClient(app, "cc_" + token).get("/api/v1/lists").status_code == 401


def test_the_token_form_needs_csrf(auth):
    auth.login("agent")
    assert auth.client.post("/settings/api-tokens", data={"name": "x"}).status_code == 400


def test_cli_creates_a_token(runner, app, users):
    result = runner.invoke(args=["api-token", "create", "--user", "agent@example.com", "--name", "crm",
                                 "--expires", "7"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert ApiClient(app, token).get("/api/v1/lists").status_code == 200
    missing = runner.invoke(args=["api-token", "create", "--user", "nobody@example.com"])
    assert missing.exit_code != 0 and "no user" in missing.output
