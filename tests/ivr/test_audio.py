"""The audio library: MP3s checked by content and measured, kept here, pushed to OCA, deleted from both."""
import io
import os
import random

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.ivr.mp3 import header, mp3
from webapp.campaigns import audio
from webapp.models import AudioFile

UPLOAD = "/oca/api/v1/upload-audio"


def files_kept(app):
    folder = os.path.join(app.config["INSTANCE_UPLOADS"], "audio")
    return os.listdir(folder) if os.path.isdir(folder) else []


# (case, bytes, duration in seconds, average kbit/s, sample rate)
GOOD = [
    ("cbr_128k", mp3(100), 100 * 417 * 8 / 128000, 128, 44100),
    ("id3v2_tag_skipped", mp3(100, id3=b"TIT2" + bytes(500)), 100 * 417 * 8 / 128000, 128, 44100),
    ("id3v1_tag_left_out", mp3(100, id3v1=True), 100 * 417 * 8 / 128000, 128, 44100),
    ("xing_vbr_frame_count", mp3(50, kbps=64, xing=50), 50 * 1152 / 44100, 64, 44100),
    ("mpeg2_22khz", mp3(40, version="2", kbps=32, sample_rate=22050), 40 * 104 * 8 / 32000, 32, 22050),
    ("mpeg25_8khz_stereo", mp3(30, version="2.5", kbps=8, sample_rate=8000, mono=False), 30 * 72 * 8 / 8000, 8,
     8000),
    ("single_frame", mp3(1), 417 * 8 / 128000, 128, 44100),
]


@pytest.mark.parametrize(("data", "duration", "kbps", "rate"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_mp3_is_measured(data, duration, kbps, rate):
    info = audio.inspect_mp3(data)
    assert info.duration == pytest.approx(duration, abs=0.01)
    assert (info.bitrate_kbps, info.sample_rate) == (kbps, rate)


def _wav():
    return b"RIFF" + (36 + 8000).to_bytes(4, "little") + b"WAVEfmt " + bytes(16) + b"data" + bytes(8000)


# (case, file name, bytes, part of the message)
BAD = [
    ("renamed_wav", "promo.mp3", _wav(), "This is a WAV file renamed to .mp3, not an MP3"),
    ("empty", "promo.mp3", b"", "The file is empty."),
    ("random_bytes", "promo.mp3", random.Random(6).randbytes(200_000), "No MPEG audio frames were found"),
    ("text_named_mp3", "lagu.mp3", b"Halo, ini bukan suara.\nTerima kasih!\n" * 50,
     "This is a text file, not audio."),
    ("id3_tag_without_audio", "promo.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16),
     "has an MP3 tag (ID3) but no MPEG audio"),
    ("mp2_layer_ii", "promo.mp3", (header(layer=0b10) + bytes(413)) * 5, "MPEG Layer I/II audio (MP2), not MP3"),
    ("ogg", "promo.mp3", b"OggS" + bytes(2000), "This is an Ogg file renamed"),
    ("truncated_frame", "promo.mp3", mp3(1)[:200], "No MPEG audio frames were found"),
]


@pytest.mark.parametrize(("filename", "data", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_uploads_are_refused_with_a_clear_message(filename, data, message, app, auth, sandbox):
    auth.login("supervisor")
    response = auth.post("/campaigns/audio", data={"audio": (io.BytesIO(data), filename)},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert AudioFile.select().count() == 0
    assert files_kept(app) == [] and sandbox.requests_to(UPLOAD) == []


def test_oversized_upload_is_refused_before_it_is_read_whole(app, auth, sandbox):
    app.config["UPLOAD_MAX_MB"] = 1
    auth.login("supervisor")
    # Encoded here in memory: the test client would spool a body this large to an unclosed temporary file.
    boundary, body = encode_multipart({"audio": FileStorage(io.BytesIO(mp3(2600)), "long.mp3")})  # 1.03 MB
    response = auth.post("/campaigns/audio", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 422
    assert "The file is larger than 1 MB, the most an audio upload may be." in response.get_data(as_text=True)
    assert sandbox.requests_to(UPLOAD) == [] and files_kept(app) == []


def test_upload_is_kept_pushed_to_oca_and_playable(app, auth, sandbox, client):
    auth.login("supervisor")
    data = mp3(200, id3=b"TIT2" + bytes(30))
    response = auth.post("/campaigns/audio", data={"audio": (io.BytesIO(data), "Promo Desember.MP3")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    sent = sandbox.last_request(UPLOAD)
    assert sent["files"]["audio"] == {"filename": "Promo Desember.mp3", "size": len(data),
                                      "content_type": "audio/mpeg"}
    with app.app_context():
        item = AudioFile.get()
        assert (item.name, item.size_bytes, item.bitrate_kbps) == ("Promo Desember.mp3", len(data), 128)
        assert item.duration_seconds == pytest.approx(5.21, abs=0.01)
        assert item.oca_url.endswith(".mp3") and len(item.oca_id) == 24
    assert files_kept(app) == [item.stored_name]
    page = client.get("/campaigns/audio").get_data(as_text=True)
    assert "“Promo Desember.mp3” uploaded (5.2 s) and stored at OCA." in page
    assert f'<audio controls preload="none" src="/campaigns/audio/{item.id}.mp3">' in page
    assert "0:05" in page and item.oca_url in page
    played = client.get(f"/campaigns/audio/{item.id}.mp3", buffered=True)
    assert (played.status_code, played.mimetype, played.data) == (200, "audio/mpeg", data)


def test_oca_refusal_keeps_nothing(app, auth, sandbox):
    sandbox.simulators["oca"].fail_next(55)
    auth.login("supervisor")
    response = auth.post("/campaigns/audio", data={"audio": (io.BytesIO(mp3(10)), "a.mp3")},
                         content_type="multipart/form-data")
    assert response.status_code == 422
    assert "OCA did not accept the file: The OCA account&#39;s quota has run out" in response.get_data(as_text=True)
    with app.app_context():
        assert AudioFile.select().count() == 0
    assert files_kept(app) == []


def test_delete_removes_it_at_oca_and_here(ctx, sandbox):
    item = audio.upload("promo.mp3", mp3(10))
    audio.delete(item)
    seen = sandbox.last_request("/oca/api/v1/delete-audio")
    assert (seen["method"], seen["path"]) == ("DELETE", f"/oca/api/v1/delete-audio/{item.oca_id}")
    assert AudioFile.select().count() == 0 and files_kept(ctx) == []
    assert sandbox.simulators["oca"].audio == {}


def test_delete_of_audio_oca_already_lost(ctx, sandbox):
    item = audio.upload("promo.mp3", mp3(10))
    sandbox.simulators["oca"].reset()  # deleted in OCA's dashboard meanwhile
    audio.delete(item)
    assert AudioFile.select().count() == 0


def test_delete_refused_when_oca_fails(ctx, sandbox):
    item = audio.upload("promo.mp3", mp3(10))
    sandbox.simulators["oca"].fail_next(17)
    with pytest.raises(audio.AudioError, match="OCA did not delete the file: OCA refused the username or password"):
        audio.delete(item)
    assert AudioFile.select().count() == 1 and files_kept(ctx) == [item.stored_name]


def test_delete_asks_for_confirmation_and_reports(app, auth, sandbox, client):
    with app.app_context():
        item = audio.upload("promo.mp3", mp3(10))
    auth.login("supervisor")
    page = client.get("/campaigns/audio").get_data(as_text=True)
    assert 'data-confirm="Delete “promo.mp3” here and at OCA?' in page
    response = auth.post(f"/campaigns/audio/{item.id}/delete", follow_redirects=True)
    assert "“promo.mp3” deleted here and at OCA." in response.get_data(as_text=True)
    assert "No audio uploaded yet." in response.get_data(as_text=True)


def test_library_is_for_supervisors(auth, client):
    auth.login("agent")
    assert client.get("/campaigns/audio").status_code == 403
    assert auth.post("/campaigns/audio", data={}).status_code == 403
