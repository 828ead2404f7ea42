"""The browser fixture's error watch: what makes any browser test fail."""
import pytest

from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser


def test_page_and_console_errors_of_every_tab_are_caught_and_refused_input_is_not(browser):
    context = browser.new_context()
    errors = BrowserErrors(context)
    first, second = context.new_page(), context.new_page()
    with first.expect_event("pageerror"):
        first.evaluate("setTimeout(() => { throw new Error('boom') })")
    with second.expect_event("console"):
        second.evaluate("console.error('htmx:targetError')")
    with second.expect_event("console"):
        second.evaluate("console.error('Failed to load resource: the server responded with a status of 422 (x)')")
    with second.expect_event("console"):
        second.evaluate("console.warn('only a warning')")
    context.close()
    assert [e.split(": ", 1)[1] for e in errors.seen] == ["boom", "htmx:targetError"]
