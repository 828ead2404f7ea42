"""Schemathesis against /api/openapi.json: every operation, a few generated requests each (valid and
invalid), as an admin whose token may call everything. No answer may be a 5xx, and every answer's status,
content type and body must be the ones the document declares."""
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.calls.helpers import PHONES
from webapp.models import User

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 6
# The whole run stays far inside the suite's budget even on a loaded two-core machine.
BUDGET_SECONDS = 100


@pytest.fixture
def fuzzing(app, users, api_tokens):
    app.config["API_RATE_LIMIT"] = 100_000
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0
    with app.app_context():
        User.update(phone=PHONES["admin"]).where(User.id == users["admin"].id).execute()
    return {"Authorization": f"Bearer {api_tokens['admin']}"}


def test_schemathesis_finds_nothing(app, fuzzing):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=fuzzing, checks=CHECKS)

        run()
    assert time.monotonic() - started < BUDGET_SECONDS
