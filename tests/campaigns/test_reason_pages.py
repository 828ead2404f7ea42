"""Campaign pages and exports show failures in words fitting the channel, with the raw code kept beside them."""
import csv
import io

from tests.campaigns.helpers import launch, make_list, sms_campaign
from webapp.campaigns import service
from webapp.dispatch.dispatcher import drain


def test_sms_failures_read_in_words_with_their_codes(app, auth, client, users, sandbox):
    with app.app_context():
        numbers = ["+6281234560000", "+6281234560050", "+6281234560052"]
        campaign = launch(sms_campaign(users["admin"], [make_list("L", numbers).id]))
        drain(app)
        sandbox.flush()
    auth.login("supervisor")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Balance ran out (50)" in page and "Wrong number format; not charged (52)" in page
    assert "50 Failed" not in page and "52 No Charge" not in page
    progress = page.split('id="campaign-progress"')[1].split("</section>")[0]
    assert "<td>Balance ran out</td>" in progress and "<code>50</code>" in progress
    rows = list(csv.DictReader(io.StringIO(client.get(f"/campaigns/{campaign.id}/export.csv")
                                           .get_data(as_text=True))))
    failed = {row["phone"]: (row["error_code"], row["reason"]) for row in rows if row["error_code"]}
    assert set(failed.values()) == {("50", "Balance ran out"), ("52", "Wrong number format; not charged")}


def test_robocall_pages_count_answered_and_busy(app, auth, client, users, sandbox):
    from tests.ivr.helpers import ivr_campaign, settle

    sandbox.configure(SANDBOX_EVENT_DELAY=60)
    with app.app_context():
        campaign = ivr_campaign(users["admin"], [make_list("L", ["+6281234560000", "+6281234560486"]).id])
        service.launch(campaign)
        settle(app, sandbox)
    auth.login("supervisor")
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'answered: <span data-state="delivered">1</span>' in page
    assert 'not answered: <span data-state="failed">1</span>' in page
    assert "Busy (USER_BUSY)" in page and "USER_BUSY USER_BUSY" not in page
    calls = client.get(f"/campaigns/{campaign.id}/calls").get_data(as_text=True)
    assert ">busy</span>" in calls and ">answered</span>" in calls
