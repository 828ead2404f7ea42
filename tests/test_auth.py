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


# --- remember-me cookies are revocable (issue 12) -----------------------------------------------------------

def _remembered(client, email="agent@example.com"):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token,
                                           "remember": "1"})
    assert response.status_code == 302
    return client.get_cookie("remember_token").value


def _with_cookie(app, value, addr="198.51.100.7"):
    """A different browser, elsewhere, holding only a copy of the remember cookie."""
    other = app.test_client()
    other.set_cookie("remember_token", value)
    return other.get("/", environ_base={"REMOTE_ADDR": addr}).status_code


def test_remember_cookie_signs_in_a_new_browser(client, users, app):
    assert _with_cookie(app, _remembered(client)) == 200


def test_remember_cookie_dies_at_sign_out(client, auth, users, app):
    stolen = _remembered(client)
    auth.token = csrf_token(client, "/")
    auth.logout()
    assert _with_cookie(app, stolen) == 302


def test_remember_cookie_dies_at_password_change(client, users, app):
    from webapp.auth.service import set_password

    stolen = _remembered(client)
    with app.app_context():
        set_password(User.get_by_id(users["agent"].id), "another-long-password")
    assert _with_cookie(app, stolen) == 302


def test_sign_out_ends_only_this_browser(users, app):
    first, second = app.test_client(), app.test_client()
    kept = _remembered(first)
    _remembered(second)
    second.post("/logout", headers={"X-CSRFToken": csrf_token(second, "/")})
    assert second.get("/").status_code == 302
    assert first.get("/").status_code == 200
    assert _with_cookie(app, kept) == 200


def test_session_cookie_carries_a_revocable_key(client, users, app):
    from webapp.models import UserSession

    login(client, "agent@example.com", PASSWORD)
    with app.app_context():
        assert UserSession.select().where(UserSession.user_id == users["agent"].id).count() == 1
        UserSession.delete().execute()
    assert client.get("/").status_code == 302


# --- sign-in throttle: atomic, per account and address, never a lock for everyone -------------------------

def _attempt(app, email, password, addr, results):
    other = app.test_client()
    response = other.post("/login", data={"email": email, "password": password},
                          environ_base={"REMOTE_ADDR": addr})
    results.append(response.status_code)


def test_parallel_wrong_passwords_check_at_most_the_limit(users, app):
    import threading

    from webapp.models import LoginAttempt

    app.config["WTF_CSRF_ENABLED"] = False
    results = []
    start = threading.Barrier(30)

    def run():
        start.wait()
        _attempt(app, "agent@example.com", "wrong-password-x", "192.0.2.10", results)

    threads = [threading.Thread(target=run) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    limit = app.config["LOGIN_MAX_FAILURES"]
    with app.app_context():
        checked = LoginAttempt.select().count()
    assert checked <= limit and results.count(401) == checked
    assert results.count(429) == 30 - checked


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(client, users, app):
    app.config["WTF_CSRF_ENABLED"] = False
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        client.post("/login", data={"email": "agent@example.com", "password": "wrong-password-x"},
                    environ_base={"REMOTE_ADDR": "192.0.2.66"})
    refused = client.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "192.0.2.66"})
    assert refused.status_code == 429
    owner = app.test_client().post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                                   environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert owner.status_code == 302


def test_one_address_is_capped_across_accounts(client, users, app):
    from webapp.auth.throttle import ADDRESS_FACTOR

    app.config["WTF_CSRF_ENABLED"] = False
    cap = app.config["LOGIN_MAX_FAILURES"] * ADDRESS_FACTOR
    statuses = [client.post("/login", data={"email": f"guess{i}@example.com", "password": "wrong-password-x"},
                            environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code for i in range(cap + 2)]
    assert statuses.count(401) == cap and statuses[-2:] == [429, 429]


def test_many_addresses_slow_an_account_down_without_locking_it(users, app):
    import time

    app.config.update(WTF_CSRF_ENABLED=False, LOGIN_ACCOUNT_CEILING=6, LOGIN_SLOW_SECONDS=1)
    statuses = []
    for i in range(8):
        _attempt(app, "agent@example.com", "wrong-password-x", f"192.0.2.{100 + i}", statuses)
    # Six tries within the ceiling, one let through at the slow pace, the next refused with a wait.
    assert statuses == [401] * 7 + [429]
    time.sleep(1.1)
    owner = []
    _attempt(app, "agent@example.com", PASSWORD, "198.51.100.30", owner)
    assert owner == [302]


def test_slowed_account_says_so(users, app):
    app.config.update(WTF_CSRF_ENABLED=False, LOGIN_ACCOUNT_CEILING=1, LOGIN_SLOW_SECONDS=60)
    client = app.test_client()
    for i in range(3):
        response = client.post("/login", data={"email": "agent@example.com", "password": "wrong-password-x"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})
    assert response.status_code == 429
    assert "slowed down. Try again in" in response.get_data(as_text=True)


# --- password policy ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["eleven-char", "password1234", "P@ssw0rd2024!", "qwertyuiop123",
                                      "123456789012345", "aaaaaaaaaaaaaa", "iloveyou1234", "Bismillah123",
                                      "1q2w3e4r5t6y"])
def test_weak_passwords_are_refused_everywhere(client, auth, runner, users, app, password):
    from webapp.auth.service import UserError, set_password

    auth.login("admin")
    response = auth.post("/settings/users/", data={"email": "agent.b@example.com", "name": "New", "role": "agent",
                                                    "password": password})
    assert response.status_code == 422 and User.get_or_none(User.email == "agent.b@example.com") is None
    agent = users["agent"]
    response = auth.post(f"/settings/users/{agent.id}", data={"name": "Agent", "role": "agent",
                                                              "password": password})
    assert response.status_code == 422
    with app.app_context():
        with pytest.raises(UserError):
            set_password(User.get_by_id(agent.id), password)
    result = runner.invoke(args=["users", "set-password", "--email", "agent@example.com", "--password", password])
    assert result.exit_code != 0


@pytest.mark.parametrize("password", ["agent@example.com", "my-agent-password", "AGENT-2024-agent"])
def test_passwords_made_of_the_email_are_refused(ctx, users, password):
    from webapp.auth.service import UserError, set_password

    with pytest.raises(UserError, match="too easy to guess"):
        set_password(users["agent"], password)


@pytest.mark.parametrize("password", ["correct-horse-battery", "Tr0ub4dor&3-zebra", "kopi susu di pagi hari"])
def test_good_passwords_are_accepted(ctx, password):
    from webapp.auth.passwords import password_problem

    assert password_problem(password, "someone@example.com") is None


def test_demo_passwords_satisfy_the_policy(app):
    import secrets

    from webapp.auth.passwords import password_problem

    # `flask demo` prints secrets.token_urlsafe(12) (webapp.cli); every draw must be a valid password.
    assert all(password_problem(secrets.token_urlsafe(12)) is None for _ in range(2000))


def test_an_attacker_cannot_slow_down_the_owners_own_browser(users, app):
    """Past the account-wide ceiling strangers wait; a browser that signed in to the account before does not."""
    app.config.update(WTF_CSRF_ENABLED=False, LOGIN_ACCOUNT_CEILING=3, LOGIN_SLOW_SECONDS=600)
    owner = app.test_client()
    assert owner.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "198.51.100.40"}).status_code == 302
    owner.post("/logout")
    statuses = []
    for i in range(6):
        _attempt(app, "agent@example.com", "wrong-password-x", f"192.0.2.{150 + i}", statuses)
    assert statuses[-1] == 429
    stranger = []
    _attempt(app, "agent@example.com", PASSWORD, "198.51.100.41", stranger)
    assert stranger == [429]
    again = owner.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "198.51.100.42"})
    assert again.status_code == 302


def test_a_known_browser_cookie_is_for_its_own_account_only(client, users, app):
    from webapp.auth import known_browsers

    login(client, "agent@example.com", PASSWORD)
    cookie = client.get_cookie(known_browsers.COOKIE)
    assert cookie is not None and cookie.http_only
    with app.test_request_context(headers={"Cookie": f"{known_browsers.COOKIE}={cookie.value}"}):
        assert known_browsers.identity("agent@example.com")
        assert known_browsers.identity("admin@example.com") is None
    with app.test_request_context(headers={"Cookie": f"{known_browsers.COOKIE}={cookie.value[:-2]}xx"}):
        assert known_browsers.identity("agent@example.com") is None


def test_strangers_at_the_owners_address_do_not_hold_the_owner_up(users, app):
    """An office behind one NAT address: guesses and typos there use up the address's tries, not those of
    a browser that has signed in to the account before."""
    from webapp.auth.throttle import ADDRESS_FACTOR

    app.config["WTF_CSRF_ENABLED"] = False
    office = {"REMOTE_ADDR": "203.0.113.80"}
    owner = app.test_client()
    assert owner.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                      environ_base=office).status_code == 302
    owner.post("/logout")
    stranger = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"] * ADDRESS_FACTOR):
        email = "agent@example.com" if i % 2 else f"colleague{i}@example.com"
        stranger.post("/login", data={"email": email, "password": "wrong-password-x"}, environ_base=office)
    assert stranger.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                         environ_base=office).status_code == 429
    assert owner.post("/login", data={"email": "agent@example.com", "password": PASSWORD},
                      environ_base=office).status_code == 302


def test_a_known_browser_has_its_own_few_tries(users, app):
    app.config["WTF_CSRF_ENABLED"] = False
    owner = app.test_client()
    owner.post("/login", data={"email": "agent@example.com", "password": PASSWORD})
    owner.post("/logout")
    statuses = [owner.post("/login", data={"email": "agent@example.com", "password": "wrong-password-x"},
                           environ_base={"REMOTE_ADDR": f"192.0.2.{200 + i}"}).status_code
                for i in range(app.config["LOGIN_MAX_FAILURES"] + 1)]
    assert statuses == [401] * app.config["LOGIN_MAX_FAILURES"] + [429]


# --- signing out other browsers ------------------------------------------------------------------------------

def test_sign_out_other_browsers_keeps_this_one(users, app):
    here, elsewhere = app.test_client(), app.test_client()
    stolen = _remembered(elsewhere)
    _remembered(here)
    page = here.get("/settings/").get_data(as_text=True)
    assert "also signed in on 1 other browser" in page
    response = here.post("/sessions/sign-out-others", headers={"X-CSRFToken": csrf_token(here, "/")})
    assert response.status_code == 303
    assert "Signed out 1 other browser." in here.get("/settings/").get_data(as_text=True)
    assert elsewhere.get("/").status_code == 302
    assert _with_cookie(app, stolen) == 302
    assert here.get("/").status_code == 200
    with app.app_context():
        assert AuditLog.get(AuditLog.action == "sessions.revoke_others").detail == "1"


def test_admin_signs_a_user_out_everywhere(client, auth, users, app):
    agent_browser = app.test_client()
    stolen = _remembered(agent_browser)
    auth.login("admin")
    response = auth.post(f"/settings/users/{users['agent'].id}/sign-out")
    assert response.status_code == 302
    assert agent_browser.get("/").status_code == 302
    assert _with_cookie(app, stolen) == 302
    assert client.get("/").status_code == 200


def test_only_admins_sign_others_out(client, auth, users):
    auth.login("supervisor")
    assert auth.post(f"/settings/users/{users['agent'].id}/sign-out").status_code == 403


# --- user fields within their columns ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "n" * 121, "at most 120 characters"),
    ("timezone", "Mars/Olympus_Mons", "Choose a time zone"),
    ("timezone", "z" * 5000, "Choose a time zone"),
])
def test_user_edit_refuses_values_that_do_not_fit(client, auth, users, app, field, value, message):
    auth.login("admin")
    agent = users["agent"]
    data = {"name": "Agent", "role": "agent", "timezone": "Asia/Jakarta", field: value}
    response = auth.post(f"/settings/users/{agent.id}", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        stored = User.get_by_id(agent.id)
        assert (stored.name, stored.timezone) == ("Agent", "Asia/Jakarta")


def test_user_create_refuses_an_over_long_name(client, auth):
    auth.login("admin")
    response = auth.post("/settings/users/", data={"email": "new@example.com", "name": "n" * 121, "role": "agent",
                                                   "password": "Tangerine-river-77q"})
    assert response.status_code == 422 and "at most 120 characters" in response.get_data(as_text=True)
    assert User.select().where(User.email == "new@example.com").count() == 0
