"""/api/v1/contacts and /api/v1/lists: success and error paths, paging, roles."""
import pytest

from tests.api.conftest import error_of
from webapp.contacts.service import create_contact, create_list
from webapp.models import Contact


def test_add_read_change_and_delete_a_contact(api, app):
    agent = api("agent")
    created = agent.post("/api/v1/contacts", json={"name": "Budi", "phone": "0812-0000-0001",
                                                   "email": "budi@example.com", "fields": {"City": "Bandung"}})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["phone"] == "+6281200000001" and body["fields"] == {"city": "Bandung"}
    assert body["created_at"].endswith("+00:00") and body["opted_out"] is False
    contact_id = body["id"]
    assert agent.get(f"/api/v1/contacts/{contact_id}").get_json()["name"] == "Budi"
    changed = agent.patch(f"/api/v1/contacts/{contact_id}", json={"name": "Budi S."})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Budi S."
    assert changed.get_json()["email"] == "budi@example.com"
    assert agent.delete(f"/api/v1/contacts/{contact_id}").status_code == 403
    deleted = api("supervisor").delete(f"/api/v1/contacts/{contact_id}")
    assert deleted.status_code == 204 and deleted.data == b""
    assert error_of(agent.get(f"/api/v1/contacts/{contact_id}"))["code"] == "not_found"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"name": "X"}, 422, "phone"),
    ({"phone": 812}, 422, "phone"),
    ({"phone": "+62812", "surprise": 1}, 422, "surprise"),
    ({"phone": "+6281200000002", "email": "not-an-email"}, 422, None),
    ({"phone": "12"}, 422, None),
    ({"phone": "+6281200000002", "fields": {"phone": "x"}}, 422, "fields"),
])
def test_invalid_contacts_are_refused_with_fields(api, body, status, field):
    response = api("agent").post("/api/v1/contacts", json=body)
    assert response.status_code == status
    error = error_of(response)
    if field:
        assert field in error["fields"]


def test_a_taken_number_is_a_conflict(api, ctx):
    create_contact("A", "+6281200000003")
    response = api("agent").post("/api/v1/contacts", json={"phone": "081200000003"})
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"


def test_malformed_json_and_nul_bytes_are_400(api):
    agent = api("agent")
    bad = agent.client.post("/api/v1/contacts", data="{", content_type="application/json",
                            headers=agent._headers({}))
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_json"
    assert agent.post("/api/v1/contacts", json=["a"]).status_code == 400
    assert agent.post("/api/v1/contacts", json={"phone": "+62812\x00"}).status_code == 400
    assert agent.get("/api/v1/contacts?q=a%00b").status_code == 400


def test_unknown_urls_and_methods_answer_json(api):
    assert error_of(api().get("/api/v1/nothing-here"))["code"] == "not_found"
    wrong = api().client.put("/api/v1/contacts", headers=api()._headers({}))
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


def test_contacts_page_with_an_opaque_cursor(api, ctx):
    for i in range(5):
        create_contact(f"P{i}", f"+62812000001{i:02d}")
    agent = api("agent")
    first = agent.get("/api/v1/contacts?limit=2").get_json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    seen = [c["id"] for c in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = agent.get(f"/api/v1/contacts?limit=2&cursor={cursor}").get_json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
    assert seen == sorted(c.id for c in Contact.select())
    assert error_of(agent.get("/api/v1/contacts?cursor=garbage!"))["code"] == "bad_cursor"
    assert agent.get("/api/v1/contacts?limit=0").status_code == 422
    assert agent.get("/api/v1/contacts?q=P3").get_json()["data"][0]["name"] == "P3"


def test_lists_and_list_membership(api, ctx):
    created = api("supervisor").post("/api/v1/lists", json={"name": "VIP"})
    assert created.status_code == 201 and created.get_json()["size"] == 0
    list_id = created.get_json()["id"]
    assert api("supervisor").post("/api/v1/lists", json={"name": "VIP"}).status_code == 409
    assert api("agent").post("/api/v1/lists", json={"name": "Other"}).status_code == 403
    assert api("agent").post("/api/v1/contacts", json={"phone": "+6281200000201", "list_ids": [list_id]}
                             ).status_code == 403
    member = api("supervisor").post("/api/v1/contacts", json={"phone": "+6281200000201", "list_ids": [list_id]})
    assert member.status_code == 201 and member.get_json()["list_ids"] == [list_id]
    assert api("supervisor").post("/api/v1/contacts", json={"phone": "+6281200000202", "list_ids": [999]}
                                  ).status_code == 422
    lists = api("agent").get("/api/v1/lists").get_json()["data"]
    assert lists == [{"id": list_id, "name": "VIP", "description": "", "size": 1}]
    create_list("Second")
    assert api("agent").get(f"/api/v1/contacts?list_id={list_id}").get_json()["data"][0]["id"] == \
        member.get_json()["id"]


def test_idempotent_create_answers_the_same_and_refuses_another_body(api, ctx):
    agent = api("agent")
    headers = {"Idempotency-Key": "contact-1"}
    first = agent.post("/api/v1/contacts", json={"phone": "+6281200000301"}, headers=headers)
    again = agent.post("/api/v1/contacts", json={"phone": "+6281200000301"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other = agent.post("/api/v1/contacts", json={"phone": "+6281200000302"}, headers=headers)
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_key_reused"
    # Keys belong to a user: another user's identical key is another request.
    assert api("supervisor").post("/api/v1/contacts", json={"phone": "+6281200000303"}, headers=headers
                                  ).status_code == 201
    assert Contact.select().count() == 2
    assert agent.post("/api/v1/contacts", json={"phone": "+6281200000304"},
                      headers={"Idempotency-Key": "é"}).status_code == 400


def test_idempotency_keys_are_forgotten_after_a_day(api, ctx):
    from datetime import timedelta

    from webapp.api import idempotency
    from webapp.models import ApiIdempotency, utcnow

    headers = {"Idempotency-Key": "old"}
    assert api("agent").post("/api/v1/contacts", json={"phone": "+6281200000401"}, headers=headers).status_code == 201
    assert idempotency.prune() == 0
    assert idempotency.prune(utcnow() + timedelta(hours=25)) == 1
    assert ApiIdempotency.select().count() == 0


def test_a_body_over_the_upload_limit_is_413_json(api, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = api("agent").post("/api/v1/contacts", json={"phone": "+6281200000501", "name": "x" * 2000})
    assert response.status_code == 413 and error_of(response)["code"] == "request_entity_too_large"


def test_a_key_still_being_handled_answers_409(api, ctx, users):
    """Two retries arriving together: the one that finds the other's claim waits its turn with a 409."""
    import hashlib

    from webapp.models import ApiIdempotency

    body = b'{"phone": "+6281200000601"}'
    digest = hashlib.sha256()
    for part in (b"POST", b"/api/v1/contacts", body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    ApiIdempotency.create(user_id=users["agent"].id, key="busy", request_hash=digest.hexdigest(), status=0)
    agent = api("agent")
    response = agent.client.post("/api/v1/contacts", data=body, content_type="application/json",
                                 headers=agent._headers({"Idempotency-Key": "busy"}))
    assert response.status_code == 409 and error_of(response)["code"] == "idempotency_key_in_use"
    assert Contact.select().count() == 0
