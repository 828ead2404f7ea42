"""/api/v1/campaigns and /api/v1/audio: compose checks shared with the page, lifecycle, sends, roles."""
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import error_of
from tests.campaigns.helpers import make_list
from tests.ivr.mp3 import mp3
from webapp.dispatch import dispatcher
from webapp.models import AudioFile, AuditLog, Campaign, Send


@pytest.fixture
def audience(ctx):
    return make_list("Customers", ["+6281200000000", "+6281200000001", "+6281200000002"]).id


def sms(list_id, **extra):
    return {"kind": "sms", "name": "Promo", "provider": "masking", "message": "Halo {{name}}", "list_ids": [list_id],
            **extra}


def test_launch_a_blast_and_follow_it(api, app, audience):
    boss = api("supervisor")
    created = boss.post("/api/v1/campaigns", json=sms(audience))
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert campaign["status"] == "draft" and campaign["counts"]["queued"] == 0
    started = boss.post(f"/api/v1/campaigns/{campaign['id']}/start")
    assert started.status_code == 200 and started.get_json()["status"] == "running"
    assert started.get_json()["recipients"] == 3 and started.get_json()["counts"]["queued"] == 3
    assert error_of(boss.post(f"/api/v1/campaigns/{campaign['id']}/start"))["code"] == "conflict"
    dispatcher.drain(app)
    followed = boss.get(f"/api/v1/campaigns/{campaign['id']}").get_json()
    assert followed["counts"]["queued"] == 0
    sends = boss.get(f"/api/v1/campaigns/{campaign['id']}/sends?limit=2").get_json()
    assert len(sends["data"]) == 2 and sends["next_cursor"]
    rest = boss.get(f"/api/v1/campaigns/{campaign['id']}/sends?cursor={sends['next_cursor']}").get_json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    assert {s["to_number"] for s in sends["data"] + rest["data"]} == {
        "+6281200000000", "+6281200000001", "+6281200000002"}
    listed = boss.get("/api/v1/campaigns").get_json()["data"]
    assert [c["id"] for c in listed] == [campaign["id"]]


def test_pause_resume_cancel(api, app, audience, users):
    boss = api("supervisor")
    campaign_id = boss.post("/api/v1/campaigns", json=sms(audience)).get_json()["id"]
    assert boss.post(f"/api/v1/campaigns/{campaign_id}/pause").status_code == 409
    assert boss.post(f"/api/v1/campaigns/{campaign_id}/start").status_code == 200
    assert boss.post(f"/api/v1/campaigns/{campaign_id}/pause").get_json()["status"] == "paused"
    assert boss.post(f"/api/v1/campaigns/{campaign_id}/resume").get_json()["status"] == "running"
    cancelled = boss.post(f"/api/v1/campaigns/{campaign_id}/cancel").get_json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 3
    assert boss.post(f"/api/v1/campaigns/{campaign_id}/resume").status_code == 409
    assert boss.post("/api/v1/campaigns/999/pause").status_code == 404
    with app.app_context():
        trail = AuditLog.select().where(AuditLog.action.startswith("campaign.")).order_by(AuditLog.id)
        assert [(a.action, a.user_id) for a in trail] == [
            (f"campaign.{action}", users["supervisor"].id) for action in ("launch", "pause", "resume", "cancel")]
    assert boss.get("/api/v1/campaigns/999/sends").status_code == 404


@pytest.mark.parametrize(("extra", "field"), [
    ({"name": ""}, "name"),
    ({"provider": "pigeon"}, "provider"),
    ({"message": ""}, "message"),
    ({"list_ids": []}, "audience"),
    ({"sender_id": "NOTLISTED"}, "sender_id"),
    ({"window_start": "25:00", "window_end": "08:00"}, "window"),
    ({"scheduled_at": "2020-01-01T09:00:00+07:00"}, "scheduled_at"),
    ({"kind": "email"}, "kind"),
])
def test_compose_errors_are_the_pages_own(api, audience, extra, field):
    response = api("supervisor").post("/api/v1/campaigns", json=sms(audience, **extra))
    assert response.status_code == 422 and field in error_of(response)["fields"], response.get_json()
    assert Campaign.select().count() == 0


def test_a_scheduled_campaign_starts_at_its_time(api, audience):
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0, second=0)
    boss = api("supervisor")
    created = boss.post("/api/v1/campaigns", json=sms(audience, scheduled_at=when.isoformat())).get_json()
    assert created["scheduled_at"] == when.isoformat()
    started = boss.post(f"/api/v1/campaigns/{created['id']}/start").get_json()
    assert started["status"] == "scheduled"


def test_an_empty_audience_cannot_start(api, ctx):
    empty = make_list("Empty", []).id
    boss = api("supervisor")
    campaign_id = boss.post("/api/v1/campaigns", json=sms(empty)).get_json()["id"]
    refused = boss.post(f"/api/v1/campaigns/{campaign_id}/start")
    assert refused.status_code == 422 and "audience is empty" in error_of(refused)["message"]


def test_start_retried_with_its_key_launches_once(api, app, audience):
    boss = api("supervisor")
    campaign_id = boss.post("/api/v1/campaigns", json=sms(audience)).get_json()["id"]
    answers = [boss.post(f"/api/v1/campaigns/{campaign_id}/start", headers={"Idempotency-Key": "launch-1"})
               for _ in range(10)]
    assert {a.status_code for a in answers} == {200}
    assert Send.select().where(Send.campaign_id == campaign_id).count() == 3


def test_audio_upload_and_list(api, app):
    boss = api("supervisor")
    uploaded = boss.post("/api/v1/audio", data={"file": (io.BytesIO(mp3()), "promo.mp3")},
                         content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json()["name"] == "promo.mp3" and uploaded.get_json()["oca_url"]
    listed = boss.get("/api/v1/audio").get_json()["data"]
    assert [a["id"] for a in listed] == [uploaded.get_json()["id"]]
    not_mp3 = boss.post("/api/v1/audio", data={"file": (io.BytesIO(b"hello"), "a.mp3")},
                        content_type="multipart/form-data")
    assert not_mp3.status_code == 422 and "file" in error_of(not_mp3)["fields"]
    assert boss.post("/api/v1/audio").status_code == 422
    assert api("agent").get("/api/v1/audio").status_code == 403
    assert AudioFile.select().count() == 1


def test_a_multipart_part_with_an_unreadable_name_is_refused_not_a_500(api):
    """Found by Schemathesis: werkzeug names such a part None, which the NUL guard at the door tripped on."""
    body = (b'--b\r\nContent-Disposition: form-data; name="a\nb"\r\n\r\nnull\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.mp3"\r\n\r\nnot mp3\r\n--b--\r\n')
    response = api("supervisor").post("/api/v1/audio", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 422
