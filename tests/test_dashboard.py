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
    # Completed campaigns leave the active list (the callbacks feed still names it).
    html = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert campaign.name not in html.split("<h2>Latest provider callbacks</h2>")[0]


def test_masking_balance_is_read_again_after_sends(client, auth, users, sandbox, app):
    from webapp.campaigns import service, sms
    from webapp.models import ProviderStatus

    with app.app_context():
        sms.poll_masking_balance(app)
        assert ProviderStatus.get().balance == 150_000
        launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000", "+6281234561000"]).id]))
        drain(app)
        assert sms.refresh_masking_balance(app)  # a masking campaign is sending
        assert ProviderStatus.get().balance == 150_000 - 2 * 350
        service.tick()
        assert sms.refresh_masking_balance(app)  # once more after it completed...
        assert not sms.refresh_masking_balance(app)  # ...then quiet until the next campaign
        read_at = ProviderStatus.get().checked_at
    auth.login("agent")
    html = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "balance 149,300" in html and f'data-balance-read="{read_at.isoformat()}"' in html
    assert "read at" in html


def test_callbacks_feed_groups_identical_lines_and_names_the_campaign(client, auth, users, sandbox, app):
    with app.app_context():
        numbers = [f"+62812345{i:02d}0000" for i in range(10)]
        promo = launch(sms_campaign(users["admin"], [make_list("L", numbers).id], name="Promo Natal"))
        drain(app)
        sandbox.flush()
        single = launch(sms_campaign(users["admin"], [make_list("M", ["+6281234560052"]).id], name="Satu"))
        drain(app)
        sandbox.flush()
    auth.login("supervisor")
    html = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    feed = html.split('class="plain-list callback-feed">')[1].split("</ul>")[0]
    lines = feed.split("<li ")[1:]
    assert len(lines) == 2
    assert 'data-count="1"' in lines[0] and "Satu" in lines[0] and "+62 812-3456-0052" in lines[0]
    assert 'data-count="10"' in lines[1] and "×10" in lines[1] and "Promo Natal" in lines[1]
    assert "10 numbers" in lines[1]
    assert f'/campaigns/{promo.id}"' in lines[1] and f'/campaigns/{single.id}"' in lines[0]
