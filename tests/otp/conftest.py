"""OTP test helpers: the CitCALL simulator, its frozen clock, and the codes it handed out."""
import time

import pytest

from webapp.models import Send


class FrozenClock:
    """Stands in for the simulator's monotonic clock; OTP codes expire only when a test moves it on."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture(autouse=True)
def callbacks_on_flush(sandbox):
    """Callbacks land only when a test calls sandbox.flush(), so every in-between state can be asserted."""
    sandbox.configure(SANDBOX_EVENT_DELAY=60)


@pytest.fixture(autouse=True)
def resends_at_machine_speed(app):
    """These tests resend codes within milliseconds: the per-number pause between sends (tested in
    tests/test_security.py) would refuse what a person does over minutes."""
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0


@pytest.fixture
def citcall_sim(sandbox):
    return sandbox.simulators["citcall"]


@pytest.fixture
def clock(citcall_sim):
    frozen = FrozenClock()
    citcall_sim.clock = frozen
    yield frozen
    citcall_sim.clock = time.monotonic


@pytest.fixture
def code_for(citcall_sim):
    """The code the person holds for a request's current send, as the simulator knows it: the miscall's
    last 4 caller digits, or the SMS code."""

    def read(otp, full=False):
        send = Send.get_by_id(otp.send_id)
        token = citcall_sim.sessions[send.provider_ref].token
        return token if full or send.kind == "otp.sms" else token[-4:]

    return read


def otp_requests_to(sandbox, path):
    return [r["json"] for r in sandbox.requests_to(f"/citcall/gateway/v3/{path}")]
