import pytest


@pytest.fixture
def sandbox(sandbox):
    """Call progress held until flush(), so calls stay active while the dispatcher runs; the OCA simulator's
    limits are put back afterwards (the sandbox server lives for the whole session)."""
    sandbox.configure(SANDBOX_EVENT_DELAY=60, SANDBOX_OCA_MAX_CONCURRENT=5, SANDBOX_OCA_RATE_LIMIT=25)
    yield sandbox
    sandbox.configure(SANDBOX_OCA_MAX_CONCURRENT=5, SANDBOX_OCA_RATE_LIMIT=25)
