"""One harness for every provider's tables.

An OutCase calls one client method against the simulator over loopback HTTP, then checks the exact request
the simulator recorded and either the parsed result or the ProviderError. A CallbackCase sends a callback
body to the app's webhook URL and checks our HTTP answer.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from webapp.providers import module
from webapp.providers.base import ProviderError


@dataclass
class OutCase:
    id: str
    call: Callable[[Any], Any]                 # lambda client: client.method(...)
    method: str = "POST"
    path: str = ""                             # exact path the simulator must have seen
    request: dict = field(default_factory=dict)  # subset of the recorded request: json/form/args/headers
    result: Callable[[Any], None] | None = None  # assertions on the parsed result
    error: str | None = None                   # expected ProviderError.code
    retryable: bool | None = None
    setup: Callable[[Any], None] | None = None  # e.g. lambda sandbox: sandbox.configure(...)


def params(cases):
    return [pytest.param(case, id=case.id) for case in cases]


class ListSink(list):
    """Collects Exchange objects instead of writing ChannelLog rows."""

    def __call__(self, exchange):
        self.append(exchange)


def make_client(name, app, sink=None, **overrides):
    config = dict(app.config)
    config.update(overrides)
    return module(name).Client.from_config(config, log_sink=sink if sink is not None else ListSink())


def _subset(expected, actual, where):
    for key, value in expected.items():
        assert isinstance(actual, dict) and key in actual, f"{where}: missing {key!r} in {actual!r}"
        if isinstance(value, dict):
            _subset(value, actual[key], f"{where}.{key}")
        else:
            assert actual[key] == value, f"{where}.{key}: {actual[key]!r} != {value!r}"


def run_out_case(case, client, sandbox, prefix):
    if case.setup:
        case.setup(sandbox)
    before = len(sandbox.requests_to(prefix))
    if case.error:
        with pytest.raises(ProviderError) as info:
            case.call(client)
        assert info.value.code == case.error, f"error {info.value.code!r} != {case.error!r}: {info.value.message}"
        if case.retryable is not None:
            assert info.value.retryable is case.retryable
        outcome = info.value
    else:
        outcome = case.call(client)
        if case.result:
            case.result(outcome)
    recorded = sandbox.requests_to(prefix)[before:]
    if case.path:
        assert recorded, "the simulator saw no request"
        seen = recorded[-1]
        assert seen["method"] == case.method
        assert seen["path"] == prefix + case.path, seen["path"]
        _subset(case.request, seen, "request")
    return outcome


def assert_no_secrets(exchanges, secrets):
    """No credential value appears anywhere in what was logged."""
    assert exchanges, "nothing was logged"
    for exchange in exchanges:
        text = repr(exchange.as_dict())
        for secret in secrets:
            assert secret not in text, f"secret leaked in {exchange.operation} log"
