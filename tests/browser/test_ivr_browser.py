import pytest

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.ivr.mp3 import mp3

pytestmark = pytest.mark.browser


def test_upload_audio_compose_and_launch_a_robocall_campaign(page, app, users, sandbox, worker):
    from tests.campaigns.helpers import make_list

    with app.app_context():
        make_list("Pelanggan Survey", ["+6281234560000", "+6281234560002", "+6281234560486"])
    sign_in(page, "supervisor@example.com", PASSWORD)
    page.goto("/campaigns/audio")
    page.get_by_text("No audio uploaded yet.").wait_for()
    page.set_input_files("input[name=audio]", files=[{"name": "survey.mp3", "mimeType": "audio/mpeg",
                                                      "buffer": mp3(400)}])
    page.click("button:has-text('Upload')")
    page.get_by_text("“survey.mp3” uploaded (10.4 s) and stored at OCA.").wait_for()
    player = page.locator("audio[controls]").first
    played = page.request.get(player.get_attribute("src"))
    assert (played.status, played.headers["content-type"]) == (200, "audio/mpeg")
    # The IVR list was fetched from OCA on the first visit.
    assert "Survey Kepuasan" in page.locator("section[aria-labelledby=catalog-title]").inner_text()

    page.click("text=New robocall campaign")
    page.wait_for_url("**/campaigns/new-ivr")
    page.fill("input[name=name]", "Survey Browser")
    page.select_option("select[name=ivr_id]", label="Survey Kepuasan")
    # Choosing the IVR brings its variables; the audio variable defaults to the uploaded file.
    page.locator("select[name=map_audio_1]").wait_for()
    page.select_option("select[name=map_audio_1]", label="survey.mp3")
    page.check("text=Pelanggan Survey")
    request = page.locator("[data-preview=request]")
    request.filter(has_text='"to_number": "081234560000"').wait_for()
    assert '"name": "Person 0"' in request.inner_text() and "/audio/play/" in request.inner_text()
    assert "3 recipients" in " ".join(page.locator("#preview").inner_text().split())
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Launch')")
    page.wait_for_url("**/campaigns/*")
    page.get_by_text("Campaign launched: 3 recipients.").wait_for()
    assert "IVR “Survey Kepuasan” from 02180602000" in page.content()
    # The worker places the calls and polls their status; the progress panel refreshes itself.
    page.locator("[data-stat=answer-rate]").filter(has_text="66.7%").wait_for(timeout=30000)
    page.locator("[data-keypress='1']").filter(has_text="1 (50.0%)").wait_for()
    page.click("text=Call results")
    page.get_by_text("USER_BUSY").first.wait_for()
