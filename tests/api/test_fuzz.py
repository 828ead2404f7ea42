"""Schemathesis against /api/openapi.json: every operation, a few generated requests each (valid and
invalid), with an admin's token and with an agent's. No answer may be a 5xx, and every answer's status,
content type, headers and body must be the ones the document declares."""
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.calls.helpers import PHONES, customer, new_key
from tests.campaigns.helpers import make_list, sms_campaign
from webapp.models import Call, Campaign, Contact, ContactList, OtpRequest, User
from webapp.otp import service as otp_service

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES_PER_OPERATION = 15
# The whole run stays far inside the suite's budget even on a loaded two-core machine.
BUDGET_SECONDS = 100


@pytest.fixture
def fuzzing(app, users, api_tokens):
    """Objects with id 1 of every kind, so generated requests also reach the paths past "not found":
    changing a contact, starting a campaign, verifying a code, reading a call."""
    app.config["API_RATE_LIMIT"] = 100_000
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0
    with app.app_context():
        User.update(phone=PHONES["admin"]).where(User.id == users["admin"].id).execute()
        audience = make_list("Fuzz", ["+6281200000000", "+6281200000001"])
        sms_campaign(users["admin"], [audience.id])
        otp_service.start("+6281200000000", "miscall", user_id=users["admin"].id)
        Call.create(agent=users["admin"].id, created_by=users["admin"].id, agent_number=PHONES["admin"],
                    customer_number=customer("0000"), idempotency_key=new_key(), state="ended")
        assert {Contact.get_by_id(1).id, Campaign.get_by_id(1).id, OtpRequest.get_by_id(1).id,
                Call.get_by_id(1).id, ContactList.get_by_id(1).id} == {1}
    return api_tokens


# The admin may call everything; an agent's token meets the role refusals (403), which must conform too.
@pytest.mark.parametrize(("role", "examples"), [("admin", EXAMPLES_PER_OPERATION), ("agent", 4)])
def test_schemathesis_finds_nothing(app, fuzzing, role, examples):
    headers = {"Authorization": f"Bearer {fuzzing[role]}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), existing=st.booleans())
        def run(case, existing):
            if existing and case.path_parameters:
                # Half the requests name the objects the fixture made, past "not found".
                case.path_parameters = dict.fromkeys(case.path_parameters, 1)
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
    assert time.monotonic() - started < BUDGET_SECONDS
