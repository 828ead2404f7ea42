"""/api/v1/otp, /api/v1/calls and /api/v1/providers against the simulators over loopback."""
import pytest

from tests.api.conftest import error_of
from tests.calls.helpers import PHONES, customer
from webapp.models import Call, OtpRequest, ProviderStatus, Send, User

OK = "+6281200000000"


@pytest.fixture(autouse=True)
def quick_otp_limits(app):
    app.config["OTP_MIN_INTERVAL_SECONDS"] = 0


def citcall_requests(sandbox, path):
    return sandbox.requests_to(f"/citcall/gateway/v3/{path}")


def test_send_and_verify_an_otp(api, app, sandbox):
    agent = api("agent")
    created = agent.post("/api/v1/otp", json={"phone": "0812-0000-0000", "method": "miscall"})
    assert created.status_code == 201, created.get_json()
    otp = created.get_json()
    assert otp["phone"] == OK and otp["status"] == "pending" and otp["delivery"] != "queued"
    with app.app_context():
        send = Send.get_by_id(OtpRequest.get_by_id(otp["id"]).send_id)
        code = sandbox.simulators["citcall"].sessions[send.provider_ref].token[-4:]
    wrong = agent.post(f"/api/v1/otp/{otp['id']}/verify", json={"token": str((int(code) + 1) % 10000).zfill(4)})
    assert wrong.status_code == 200 and wrong.get_json()["valid"] is False
    assert wrong.get_json()["outcome"] == "wrong"
    right = agent.post(f"/api/v1/otp/{otp['id']}/verify", json={"token": code})
    assert right.status_code == 200 and right.get_json()["valid"] is True
    assert right.get_json()["otp"]["status"] == "verified" and right.get_json()["otp"]["verified_at"]
    again = agent.post(f"/api/v1/otp/{otp['id']}/verify", json={"token": code})
    assert again.status_code == 409
    assert agent.get(f"/api/v1/otp/{otp['id']}").get_json()["status"] == "verified"


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "12"}, "phone"),
    ({"phone": OK, "method": "fax"}, "method"),
    ({"phone": OK, "valid_time": 0}, "valid_time"),
    ({"phone": OK, "method": "sms", "sms_text": "no placeholder"}, "sms_text"),
    ({}, "phone"),
])
def test_invalid_otp_requests_name_their_field(api, sandbox, body, field):
    response = api("agent").post("/api/v1/otp", json=body)
    assert response.status_code == 422 and field in error_of(response)["fields"]
    assert citcall_requests(sandbox, "") == []


def test_an_otp_post_retried_ten_times_sends_once(api, app, sandbox):
    agent = api("agent")
    headers = {"Idempotency-Key": "order-4711-otp"}
    answers = [agent.post("/api/v1/otp", json={"phone": OK}, headers=headers) for _ in range(10)]
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_data() for a in answers}) == 1
    assert len(citcall_requests(sandbox, "asynccall")) == 1
    with app.app_context():
        assert OtpRequest.select().count() == 1 and Send.select().count() == 1


def test_otp_rate_limits_answer_429(api, app, sandbox):
    app.config["OTP_MAX_PER_NUMBER"] = 1
    assert api("agent").post("/api/v1/otp", json={"phone": OK}).status_code == 201
    limited = api("agent").post("/api/v1/otp", json={"phone": OK})
    assert limited.status_code == 429 and error_of(limited)["code"] == "rate_limited"


def test_verify_unknown_or_private_otps_is_404(api, app, users):
    with app.app_context():
        login_code = OtpRequest.create(purpose="login", phone=OK, user_id=users["agent"].id, method="miscall",
                                       valid_time=300, limit_try=5)
    assert api("admin").post(f"/api/v1/otp/{login_code.id}/verify", json={"token": "1234"}).status_code == 404
    assert api("admin").post("/api/v1/otp/999/verify", json={"token": "1234"}).status_code == 404


@pytest.fixture
def phones(app, users):
    with app.app_context():
        for role, phone in PHONES.items():
            User.update(phone=phone).where(User.id == users[role].id).execute()


def test_place_a_call_once_per_key_and_follow_it(api, app, phones):
    agent = api("agent")
    headers = {"Idempotency-Key": "ticket-88"}
    first = agent.post("/api/v1/calls", json={"phone": customer("0000")}, headers=headers)
    assert first.status_code == 201, first.get_json()
    call = first.get_json()
    assert call["customer_number"] == customer("0000") and call["state"] == "queued"
    for _ in range(3):
        assert agent.post("/api/v1/calls", json={"phone": customer("0000")}, headers=headers).get_json() == call
    with app.app_context():
        assert Call.select().count() == 1 and Send.select().where(Send.kind == "c2c.airtel").count() == 1
    assert agent.get(f"/api/v1/calls/{call['id']}").get_json()["id"] == call["id"]
    assert api("supervisor").get(f"/api/v1/calls/{call['id']}").status_code == 200


def test_calls_refused_in_words(api, app, phones, users):
    agent = api("agent")
    busy = agent.post("/api/v1/calls", json={"phone": customer("0000")})
    assert busy.status_code == 201
    again = agent.post("/api/v1/calls", json={"phone": customer("0486")})
    assert again.status_code == 422 and "already on a call" in error_of(again)["message"]
    assert agent.post("/api/v1/calls", json={}).status_code == 422
    other = agent.post("/api/v1/calls", json={"phone": customer("0001"), "agent_id": users["supervisor"].id})
    assert other.status_code == 422 and "Only supervisors" in error_of(other)["message"]
    with app.app_context():
        call = Call.get()
    # An agent sees only their own calls.
    assert api("agent").get("/api/v1/calls/999").status_code == 404
    assert api("supervisor").get(f"/api/v1/calls/{call.id}").status_code == 200


def test_providers_health_and_balance(api, app):
    with app.app_context():
        ProviderStatus.create(provider="masking", ok=True, balance=12500.0, message="")
    rows = {p["name"]: p for p in api("supervisor").get("/api/v1/providers").get_json()}
    assert set(rows) == {"citcall", "masking", "airtel", "oca"}
    assert rows["masking"]["balance"] == 12500.0 and rows["citcall"]["ok"] is None


def test_a_rate_limited_request_retried_with_its_key_sends_later(api, app, sandbox):
    app.config["OTP_MAX_PER_NUMBER"] = 1
    agent = api("agent")
    assert agent.post("/api/v1/otp", json={"phone": OK}).status_code == 201
    headers = {"Idempotency-Key": "retry-after-limit"}
    assert agent.post("/api/v1/otp", json={"phone": OK}, headers=headers).status_code == 429
    app.config["OTP_MAX_PER_NUMBER"] = 5
    assert agent.post("/api/v1/otp", json={"phone": OK}, headers=headers).status_code == 201
    assert len(citcall_requests(sandbox, "asynccall")) == 2
