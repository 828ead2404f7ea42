"""A tour of the whole console as an admin: every menu entry, every page without parameters and the main
detail pages render, with no page or console error (the `page` fixture fails the test on any)."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Parameterless GET pages that are no page to look at: downloads, the sign-in form (an admin is signed in),
# the second sign-in step (nothing pending) and the API's machine-readable description.
NOT_PAGES = {"contacts.export", "auth.login", "auth.verify", "twofactor.verify", "static", "api.openapi"}
# JSON for programs (token-authenticated), not pages.
NOT_PAGE_PREFIXES = ("/api/v1/",)


def _seed(app, admin):
    """One of each thing that has a detail page: a contact, an SMS and a robocall campaign, a call, an OTP."""
    from tests.campaigns.helpers import launch, make_list, sms_campaign
    from tests.ivr.helpers import ivr_campaign
    from webapp.calls.service import new_key, start_call
    from webapp.campaigns import ivr
    from webapp.models import Contact, User
    from webapp.otp import service as otp

    with app.app_context():
        User.update(phone="+919876500001").where(User.id == admin.id).execute()
        admin = User.get_by_id(admin.id)
        contact_list = make_list("Pelanggan Tour", ["+6281234560000", "+6281234561000"])
        ivr.refresh_catalog()
        sms = launch(sms_campaign(admin, [contact_list.id]))
        robocall = launch(ivr_campaign(admin, [contact_list.id]))
        call, _ = start_call(admin, new_key(), phone="+919876540000")
        code = otp.start("+6281234560000", "miscall", user_id=admin.id)
        contact = Contact.get(Contact.phone == "+6281234560000")
        return {
            "contact": (f"/contacts/{contact.id}", "Person 0"),
            "sms": (f"/campaigns/{sms.id}", sms.name),
            "robocall": (f"/campaigns/{robocall.id}", robocall.name),
            "robocall calls": (f"/campaigns/{robocall.id}/calls", ""),
            "call": (f"/calls/{call.id}", ""),
            "otp": (f"/otp/{code.id}", ""),
            "user": (f"/settings/users/{admin.id}", ""),
        }


def _parameterless_pages(app):
    rules = [r for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.arguments and not r.endpoint.startswith(("callbacks.", "sandbox"))
             and r.endpoint not in NOT_PAGES and not r.rule.startswith(NOT_PAGE_PREFIXES)
             and not r.rule.endswith((".csv", ".mp3"))]
    return sorted(r.rule for r in rules)


def _looks_rendered(page, path, heading=""):
    response = page.goto(path)
    assert response.status == 200, f"{path}: {response.status}"
    page.wait_for_load_state("networkidle")
    assert page.title().endswith("Campaign Console"), path
    h1 = page.locator("main h1").first.inner_text().strip()
    assert h1 and heading in h1, f"{path}: heading {h1!r}"


def test_every_page_of_the_console_renders_without_a_browser_error(page, app, users, sandbox):
    details = _seed(app, users["admin"])
    sign_in(page, "admin@example.com", PASSWORD)
    page.wait_for_url("**/")
    menu = page.locator("header.topbar .nav-links a")
    labels = [label.strip() for label in menu.all_inner_texts()]
    assert labels == ["Dashboard", "Contacts", "Campaigns", "Calls", "OTP", "Inbox", "Settings", "Logs"]
    for label in labels:
        page.locator("header.topbar .nav-links").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("networkidle")
        assert page.locator("header.topbar [aria-current=page]").inner_text().strip() == label
        assert page.locator("main h1").first.inner_text().strip(), label
    visited = []
    for path in _parameterless_pages(app):
        _looks_rendered(page, path)
        visited.append(path)
    for path, heading in details.values():
        _looks_rendered(page, path, heading)
    # The tour really went everywhere a new operator would.
    for path in ("/", "/contacts/", "/contacts/lists", "/contacts/import", "/campaigns/", "/campaigns/new",
                 "/campaigns/new-ivr", "/campaigns/audio", "/calls/", "/otp/", "/inbox/", "/settings/",
                 "/settings/providers", "/settings/users/", "/settings/sender-ids"):
        assert path in visited, path
