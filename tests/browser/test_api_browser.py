"""Settings > API tokens and the API docs page in Chromium: a token shown once works against the API, is
revoked from the list; the docs render without inline script or style (CSP)."""
import pytest
import requests

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_create_use_and_revoke_a_token(page, app, users, live_url):
    sign_in(page, users["agent"].email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/settings/")
    page.get_by_role("link", name="API tokens").click()
    page.fill("input[name=name]", "helpdesk")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token code").inner_text()
    assert token.startswith("cc_")
    answer = requests.get(f"{live_url}/api/v1/lists", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"data": [], "next_cursor": None}
    page.goto("/settings/api-tokens")
    assert token not in page.content(), "shown once"
    row = page.locator("#api-tokens tr", has_text="helpdesk")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.locator("#api-tokens tr", has_text="helpdesk").get_by_text("revoked").wait_for()
    assert requests.get(f"{live_url}/api/v1/lists", headers={"Authorization": f"Bearer {token}"},
                        timeout=5).status_code == 401


def test_docs_page_lists_every_operation(page, users):
    sign_in(page, users["agent"].email, PASSWORD)
    page.wait_for_url("**/")
    page.goto("/api/docs")
    page.locator("#create_otp").wait_for()
    assert page.locator("article[id^=schema-]").count() > 10
    assert "POST /api/v1/calls" in page.locator("#create_call h3").inner_text()
