import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling hosts this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# Form pages answer refused input with these statuses on purpose; Chromium logs them as console errors.
EXPECTED_STATUSES = ("status of 401", "status of 409", "status of 422", "status of 429")


def _expected(text):
    return text.startswith("Failed to load resource") and any(s in text for s in EXPECTED_STATUSES)


class BrowserErrors:
    """Every uncaught page error and console error of a browser context, pop-ups and extra tabs included (a
    CSP violation, an htmx targetError or a 500 from a fragment all show up here); refused form input
    (EXPECTED_STATUSES) is not an error."""

    def __init__(self, context):
        self.seen = []
        context.on("weberror", lambda error: self.seen.append(f"{error.page.url if error.page else ''}: {error.error}"))
        context.on("console", self._console)

    def _console(self, message):
        if message.type == "error" and not _expected(message.text):
            self.seen.append(f"{message.page.url if message.page else ''}: {message.text}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_url):
    """Every browser test's page: the test fails on any page or console error seen while it ran."""
    context = browser.new_context(base_url=live_url)
    errors = BrowserErrors(context)
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()
    assert not errors.seen, f"browser errors: {errors.seen}"


@pytest.fixture
def worker(app):
    """The product's worker (dispatcher and scheduled jobs) running beside the served app, as in the demo."""
    from webapp.worker import start_in_thread

    thread, stop = start_in_thread(app)
    yield
    stop.set()
    thread.join(10)


def sign_in(page, email, password):
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
