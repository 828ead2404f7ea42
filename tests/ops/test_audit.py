from datetime import datetime

import pytest

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.models import AuditLog
from webapp.ops import audit_trail


def _actions():
    return [(a.action, a.target) for a in AuditLog.select().order_by(AuditLog.id)]


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_audit_trail_is_for_admins_only(client, auth, role):
    auth.login(role)
    assert client.get("/ops/audit").status_code == 403
    assert client.get("/ops/audit.csv").status_code == 403


def test_failed_and_successful_sign_ins_are_recorded(client, users):
    from tests.conftest import PASSWORD, csrf_token

    token = csrf_token(client, "/login")
    client.post("/login", data={"email": "Admin@example.com", "password": "wrong", "csrf_token": token})
    client.post("/login", data={"email": "nobody@example.com", "password": "wrong", "csrf_token": token})
    client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token})
    assert _actions() == [("login.failed", "admin@example.com"), ("login.failed", "nobody@example.com"),
                          ("login", "admin@example.com")]
    failed = AuditLog.get(AuditLog.action == "login.failed")
    assert failed.user_id is None and failed.remote_addr == "127.0.0.1"


def test_campaign_controls_are_recorded_with_who_did_them(app, client, auth, users):
    admin = auth.login("admin")
    with app.app_context():
        campaign = launch(sms_campaign(users["supervisor"], [make_list("L", ["+6281200000020"]).id]),
                          start_at=datetime(2099, 1, 1))
    auth.post(f"/campaigns/{campaign.id}/cancel")
    client.get(f"/campaigns/{campaign.id}/export.csv").get_data()
    rows = list(AuditLog.select().where(AuditLog.action.startswith("campaign.")).order_by(AuditLog.id))
    assert [r.action for r in rows] == ["campaign.cancel", "campaign.export"]
    assert {r.target for r in rows} == {f"campaign:{campaign.id}"}
    assert {r.user_id for r in rows} == {admin.id}


def test_opt_outs_sender_ids_and_role_changes_are_recorded(client, auth, users):
    auth.login("admin")
    auth.post("/contacts/do-not-contact", data={"phone": "+6281299990000", "reason": "asked"})
    auth.post("/settings/sender-ids", data={"provider": "citcall", "value": "TOKO", "note": ""})
    auth.post(f"/settings/users/{users['agent'].id}",
              data={"role": "supervisor", "name": "Agent", "timezone": "Asia/Jakarta"})
    assert [a for a, _ in _actions()][1:] == ["contacts.opt_out", "settings.sender_id_add", "user.role"]
    assert AuditLog.get(AuditLog.action == "user.role").detail == "role agent > supervisor"


def test_filters_by_actor_action_and_day(ctx, users):
    admin, agent = users["admin"], users["agent"]
    AuditLog.create(user_id=admin.id, action="campaign.pause", target="campaign:1", created_at=datetime(2026, 3, 1, 8))
    AuditLog.create(user_id=agent.id, action="contacts.export", created_at=datetime(2026, 3, 2, 23, 59))
    AuditLog.create(user_id=admin.id, action="campaign.cancel", created_at=datetime(2026, 3, 3, 0, 0))

    def found(**args):
        return [r.action for r in audit_trail.entries(audit_trail.AuditFilters.from_args(args))]

    assert found() == ["campaign.cancel", "contacts.export", "campaign.pause"]
    assert found(actor=str(admin.id)) == ["campaign.cancel", "campaign.pause"]
    assert found(action="campaign.") == ["campaign.cancel", "campaign.pause"]
    assert found(**{"from": "2026-03-02", "to": "2026-03-02"}) == ["contacts.export"]
    assert found(actor="x", **{"from": "not a day"}) == found()


def test_page_lists_newest_first_pages_and_exports_csv(client, auth, users):
    auth.login("admin")
    for i in range(audit_trail.PER_PAGE + 1):
        AuditLog.create(user_id=users["agent"].id, action="contacts.delete", target=f"=cmd{i}")
    html = client.get("/ops/audit?action=contacts.").get_data(as_text=True)
    assert html.index("=cmd50") < html.index("=cmd49") and "=cmd0<" not in html and "Older" in html
    assert "=cmd0<" in client.get("/ops/audit?action=contacts.&page=2").get_data(as_text=True)
    body = client.get("/ops/audit.csv?action=contacts.").get_data(as_text=True)
    lines = body.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("time_utc,actor,action") and len(lines) == 52
    assert ",agent@example.com,contacts.delete,'=cmd50," in lines[1]
    assert AuditLog.select().where(AuditLog.action == "audit.export").count() == 1
