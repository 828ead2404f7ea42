import pytest

from tests.conftest import PASSWORD, csrf_token
from webapp.models import AuditLog, User


def login(client, email, password):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_pages_require_login(client, users):
    response = client.get("/settings/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_htmx_request_without_session_gets_hx_redirect(client, users):
    response = client.get("/settings/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_login_success_and_audit(client, users):
    response = login(client, "Admin@Example.com ", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditLog.select().where(AuditLog.action == "login").count() == 1


@pytest.mark.parametrize("email,password", [
    ("admin@example.com", "wrong-password-x"),
    ("nobody@example.com", PASSWORD),
])
def test_login_failure_does_not_enumerate_accounts(client, users, email, password):
    response = login(client, email, password)
    assert response.status_code == 401
    assert "Invalid e-mail or password." in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(client, users, ctx):
    from webapp.auth.service import set_active

    set_active(users["agent"], False)
    assert login(client, "agent@example.com", PASSWORD).status_code == 401


def test_login_is_rate_limited_per_account(client, users, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "agent@example.com", "wrong-password-x").status_code == 401
    # Even the right password is refused while throttled, with a clear wait time.
    response = login(client, "agent@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts. Try again in 15 minutes." in response.get_data(as_text=True)


def test_password_is_argon2id(users):
    assert users["admin"].password_hash.startswith("$argon2id$")


def test_password_change_signs_out_existing_sessions(client, auth, users, app):
    from webapp.auth.service import set_password

    auth.login("agent")
    with app.app_context():
        set_password(User.get_by_id(users["agent"].id), "another-long-password")
    assert client.get("/settings/").status_code == 302


def test_logout(client, auth):
    auth.login("agent")
    auth.logout()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("role,status", [("admin", 200), ("supervisor", 403), ("agent", 403)])
def test_user_admin_is_admin_only(client, auth, role, status):
    auth.login(role)
    assert client.get("/settings/users/").status_code == status


@pytest.mark.parametrize("role,status", [("admin", 200), ("supervisor", 200), ("agent", 403)])
def test_providers_page_roles(client, auth, role, status):
    auth.login(role)
    assert client.get("/settings/providers").status_code == status


def test_agent_cannot_create_users_server_side(client, auth):
    auth.login("agent")
    response = auth.post("/settings/users/", data={"email": "x@example.com", "name": "X", "role": "admin",
                                                    "password": "long-enough-pass"})
    assert response.status_code == 403
    assert User.get_or_none(User.email == "x@example.com") is None


def test_admin_creates_user_and_sees_errors(client, auth):
    auth.login("admin")
    response = auth.post("/settings/users/", data={"email": "new@example.com", "name": "New", "role": "agent",
                                                    "password": "short"})
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)
    response = auth.post("/settings/users/", data={"email": "new@example.com", "name": "New", "role": "agent",
                                                    "password": "long-enough-pass"})
    assert response.status_code == 302
    assert User.get(User.email == "new@example.com").role == "agent"


def test_admin_edits_phone_and_role(client, auth, users):
    auth.login("admin")
    agent = users["agent"]
    response = auth.post(f"/settings/users/{agent.id}", data={"name": "Agent A", "role": "supervisor",
                                                              "phone": "0812-3456-7890", "timezone": "Asia/Kolkata"})
    assert response.status_code == 302
    agent = User.get_by_id(agent.id)
    assert (agent.role, agent.phone, agent.timezone) == ("supervisor", "+6281234567890", "Asia/Kolkata")
    bad = auth.post(f"/settings/users/{agent.id}", data={"name": "Agent A", "role": "agent", "phone": "12"})
    assert bad.status_code == 422 and "Phone:" in bad.get_data(as_text=True)


def test_admin_cannot_deactivate_self(client, auth, users):
    admin = auth.login("admin")
    auth.post(f"/settings/users/{admin.id}/active")
    assert User.get_by_id(admin.id).active


def test_cli_users(runner, app):
    result = runner.invoke(args=["users", "create", "--email", "cli@example.com", "--name", "Cli", "--role",
                                 "supervisor", "--password", "long-enough-pass"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "set-password", "--email", "cli@example.com", "--password", "short"])
    assert result.exit_code != 0 and "at least 12" in result.output
    result = runner.invoke(args=["users", "deactivate", "--email", "cli@example.com"])
    assert result.exit_code == 0
    assert not User.get(User.email == "cli@example.com").active


def test_successful_sign_in_clears_failures_and_records_the_time(client, users, app):
    from webapp.models import LoginAttempt

    login(client, "agent@example.com", "wrong-password-x")
    assert login(client, "agent@example.com", PASSWORD).status_code == 302
    with app.app_context():
        assert LoginAttempt.select().count() == 0
        assert User.get(User.email == "agent@example.com").last_login_at is not None
