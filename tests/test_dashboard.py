from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.dispatch.dispatcher import drain


def test_dashboard_shows_live_status_and_refreshes_as_a_fragment(client, auth, users, sandbox, app):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000"]).id]))
        drain(app)
        sandbox.flush()
    auth.login("agent")
    page = client.get("/").get_data(as_text=True)
    assert "Last 24 hours" in page and "<html" in page
    fragment = client.get("/", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'id="live-status"' in html
    assert '<span class="badge badge-delivered">1</span>' in html
    assert "masking" in html and "applied" in html
    assert "HX-Request" in fragment.headers["Vary"]
    assert campaign.name in html
    with app.app_context():
        from webapp.campaigns import service

        service.tick()
    # Completed campaigns leave the active list.
    assert campaign.name not in client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
