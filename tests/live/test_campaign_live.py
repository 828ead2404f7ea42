"""The campaign page's one live fragment (webapp/live.py): everything that moves, polling only while it can."""
from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.campaigns import service
from webapp.dispatch.dispatcher import drain
from webapp.live import STOP_POLLING


def _fragment(auth, path):
    response = auth.htmx("GET", path)
    return response, response.get_data(as_text=True)


def test_running_campaign_fragment_carries_status_actions_progress_and_recipients(auth, users, sandbox, app):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000", "+6281234560020"]).id]))
    auth.login("supervisor")
    response, html = _fragment(auth, f"/campaigns/{campaign.id}?page=1&state=queued")
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.startswith('<div id="campaign-live"') and "<html" not in html
    assert f'hx-get="/campaigns/{campaign.id}?state=queued" hx-trigger="every 2s"' in html
    assert 'hx-swap="morph"' in html and 'hx-disinherit="*"' in html
    for part in ('data-campaign-status>running<', ">Pause</button>", 'id="campaign-progress"', 'id="recipients"'):
        assert part in html
    page = auth.client.get(f"/campaigns/{campaign.id}")
    assert "HX-Request" in page.headers["Vary"] and "<html" in page.get_data(as_text=True)


def test_finished_campaign_fragment_stops_polling(auth, users, sandbox, app):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560000"]).id]))
        drain(app)
        sandbox.flush()
        service.tick()
    auth.login("supervisor")
    response, html = _fragment(auth, f"/campaigns/{campaign.id}")
    assert response.status_code == STOP_POLLING
    assert "data-campaign-status>completed<" in html and "hx-trigger" not in html.split(">", 1)[0]
    assert ">Pause</button>" not in html and ">Cancel</button>" not in html
    assert "data-live" not in auth.client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)


def test_a_paused_campaign_keeps_polling_while_a_report_is_owed(auth, users, sandbox, app):
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", ["+6281234560020"]).id]))
        drain(app)  # 0020: submitted, the report never comes
        service.pause(campaign)
    auth.login("supervisor")
    response, html = _fragment(auth, f"/campaigns/{campaign.id}")
    assert response.status_code == 200 and 'hx-trigger="every 2s"' in html and ">Resume</button>" in html


def test_the_last_recipient_is_on_page_two(auth, users, sandbox, app):
    numbers = [f"+62812345{i:02d}0000" for i in range(51)]
    with app.app_context():
        campaign = launch(sms_campaign(users["admin"], [make_list("L", numbers).id]))
    auth.login("supervisor")
    first = auth.client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    second = auth.client.get(f"/campaigns/{campaign.id}?page=2").get_data(as_text=True)
    assert first.count('<tr id="send-') == 50 and ">Next →</a>" in first
    assert second.count('<tr id="send-') == 1 and "+62 812-3455-0000" in second and ">Next →</a>" not in second
