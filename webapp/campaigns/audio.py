"""Audio for robocalls: MP3s checked by their content, measured, kept here and pushed to OCA.

No MP3 decoder is installed, so the check reads MPEG audio frame headers (ISO 11172-3, ISO 13818-3):

    AAAAAAAA AAABBCCD EEEEFFGH IIJJKLMM    A frame sync (11 bits set)   B version (11 = 1, 10 = 2, 00 = 2.5)
                                           C layer (01 = III)            E bitrate index   F sample-rate index
                                           G padding                     I channel mode (11 = mono)

An optional ID3v2 tag comes first and is skipped. The file counts as MP3 when Layer III frames follow one
another exactly where each header says the next begins. Duration comes from the frame count of a Xing/Info
header when the encoder wrote one (VBR files need it), otherwise from the size and the first frame's bitrate.
"""
import codecs
import os
import uuid
from dataclasses import dataclass

from flask import current_app

from webapp.models import AudioFile, Campaign
from webapp.providers import client_for
from webapp.providers.base import ProviderError

# MPEG version bits -> version ("01" is reserved).
VERSIONS = {0b11: "1", 0b10: "2", 0b00: "2.5"}
LAYER_III = 0b01
# Layer III bitrates in kbit/s for indexes 1-14 (0 is "free format", which has no length to follow; 15 is invalid).
BITRATES = {
    "1": (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "2": (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
SAMPLE_RATES = {"1": (44100, 48000, 32000), "2": (22050, 24000, 16000), "2.5": (11025, 12000, 8000)}
# Consecutive frames that must line up before bytes count as MPEG audio (fewer when the file ends first):
# a lone 0xFFE pattern turns up by chance in any binary file.
CHAIN = 3
# How far past the tag a first frame is looked for (some tools leave junk or padding there).
SCAN_LIMIT = 64 * 1024
ID3V1_SIZE = 128
# Other formats people rename to .mp3, by their leading bytes, for a message that says what the file is.
SIGNATURES = [
    (0, b"RIFF", "a WAV file"),
    (0, b"OggS", "an Ogg file"),
    (0, b"fLaC", "a FLAC file"),
    (4, b"ftyp", "an MP4/M4A file"),
    (0, b"#!AMR", "an AMR recording"),
]
# Campaign states that may still place calls with an audio's URL.
ACTIVE_STATES = ("scheduled", "running", "paused")


class AudioError(ValueError):
    """An upload or deletion refused, with a message for the page."""


@dataclass(frozen=True)
class Frame:
    version: str
    bitrate: int  # bit/s
    sample_rate: int
    padding: int
    mono: bool

    @property
    def samples(self):
        return 1152 if self.version == "1" else 576

    @property
    def length(self):
        return self.samples // 8 * self.bitrate // self.sample_rate + self.padding

    @property
    def side_info(self):
        """Bytes between the header and the place a Xing/Info header sits."""
        if self.version == "1":
            return 17 if self.mono else 32
        return 9 if self.mono else 17


@dataclass(frozen=True)
class Mp3Info:
    duration: float  # seconds
    bitrate_kbps: int  # the average, for VBR files
    sample_rate: int


def _header(data, pos):
    """The Layer III frame whose header starts at ``pos``, or None."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    version = VERSIONS.get((b1 >> 3) & 0b11)
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 0b11
    if version is None or (b1 >> 1) & 0b11 != LAYER_III or not 0 < bitrate_index < 15 or rate_index == 3:
        return None
    if b3 & 0b11 == 0b10:  # reserved emphasis value
        return None
    bitrate = BITRATES["1" if version == "1" else "2"][bitrate_index - 1] * 1000
    return Frame(version, bitrate, SAMPLE_RATES[version][rate_index], (b2 >> 1) & 1, b3 >> 6 == 0b11)


def _audio_start(data):
    """Offset after any ID3v2 tags (10-byte header, 28-bit "syncsafe" size, optional 10-byte footer)."""
    pos = 0
    while data[pos:pos + 3] == b"ID3" and len(data) >= pos + 10:
        size = 0
        for byte in data[pos + 6:pos + 10]:
            size = size << 7 | byte
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    return pos


def _lines_up(data, pos, frame, end):
    for _ in range(CHAIN - 1):
        following = pos + frame.length
        if following > end:
            return False  # a truncated frame
        if end - following < 4:
            return True  # the file ends with this frame
        after = _header(data, following)
        if after is None or (after.version, after.sample_rate) != (frame.version, frame.sample_rate):
            return False
        pos, frame = following, after
    return True


def _first_frame(data, start, end):
    pos = start
    limit = min(end, start + SCAN_LIMIT)
    while (pos := data.find(b"\xff", pos, limit)) != -1:
        frame = _header(data, pos)
        if frame and _lines_up(data, pos, frame, end):
            return pos, frame
        pos += 1
    return None


def _xing_frames(data, pos, frame):
    """The audio frame count of a Xing (VBR) or Info (CBR, written by LAME) header in the first frame."""
    tag = pos + 4 + frame.side_info
    if data[tag:tag + 4] not in (b"Xing", b"Info") or not int.from_bytes(data[tag + 4:tag + 8], "big") & 1:
        return None
    return int.from_bytes(data[tag + 8:tag + 12], "big") or None


def _not_mp3_reason(data):
    if not data:
        return "The file is empty."
    for offset, magic, kind in SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return f"This is {kind} renamed to .mp3, not an MP3. Convert it to MP3 and upload that."
    if data[:3] == b"ID3":
        return "The file has an MP3 tag (ID3) but no MPEG audio after it. Export the recording again as MP3."
    if _looks_like_text(data):
        return "This is a text file, not audio. Upload an MP3 recording."
    sync = data.find(b"\xff")
    if 0 <= sync < len(data) - 1 and data[sync + 1] & 0xE0 == 0xE0 and (data[sync + 1] >> 1) & 0b11 in (0b10, 0b11):
        return "This is MPEG Layer I/II audio (MP2), not MP3. Convert it to MP3 and upload that."
    return "No MPEG audio frames were found: this is not an MP3 file. Upload an MP3 recording."


def _looks_like_text(data):
    try:
        # Incremental: a multi-byte character cut at the sample's end is not an error.
        sample = codecs.getincrementaldecoder("utf-8")().decode(data[:4096], final=False)
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in sample)


def inspect_mp3(data):
    """Mp3Info for MP3 bytes, or AudioError saying what the file is instead."""
    start = _audio_start(data)
    end = len(data) - (ID3V1_SIZE if data[-ID3V1_SIZE:-ID3V1_SIZE + 3] == b"TAG" else 0)
    found = _first_frame(data, start, end) if start < end else None
    if found is None:
        raise AudioError(_not_mp3_reason(data))
    pos, frame = found
    frames = _xing_frames(data, pos, frame)
    if frames:
        duration = frames * frame.samples / frame.sample_rate
        audio_bytes = end - pos - frame.length  # the Xing/Info frame itself is silent
        bitrate = round(audio_bytes * 8 / duration / 1000)
    else:
        duration = (end - pos) * 8 / frame.bitrate
        bitrate = frame.bitrate // 1000
    return Mp3Info(round(duration, 3), bitrate, frame.sample_rate)


# --- storage ------------------------------------------------------------------------------------------------

def audio_dir():
    base = current_app.config.get("INSTANCE_UPLOADS") or os.path.join(current_app.instance_path, "uploads")
    path = os.path.join(base, "audio")
    os.makedirs(path, exist_ok=True)
    return path


def audio_path(audio):
    return os.path.join(audio_dir(), audio.stored_name)


def limit_mb():
    return int(current_app.config["UPLOAD_MAX_MB"])


def read_upload(stream):
    """The upload's bytes, refused past UPLOAD_MAX_MB (read one byte further to know)."""
    limit = limit_mb() * 1024 * 1024
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise AudioError(f"The file is larger than {limit_mb()} MB, the most an audio upload may be. "
                         "Shorten it, or export it at a lower bitrate (64 kbit/s mono is plenty for a phone call).")
    return data


def display_name(filename):
    """The name shown here and sent to OCA; always .mp3, since that is what the content is. Control and other
    unprintable characters (a NUL, which PostgreSQL refuses) are dropped: the name is only a label."""
    printable = "".join(ch for ch in (filename or "") if ch.isprintable())
    stem = os.path.splitext(os.path.basename(printable.replace("\\", "/")))[0].strip() or "audio"
    return f"{stem[:190]}.mp3"


def upload(filename, data, user_id=None):
    """Check, keep and push one MP3; returns the AudioFile. Nothing is kept when OCA refuses it."""
    info = inspect_mp3(data)
    name = display_name(filename)
    stored_name = f"audio-{uuid.uuid4().hex}.mp3"
    path = os.path.join(audio_dir(), stored_name)
    with open(path, "wb") as out:
        out.write(data)
    try:
        remote = client_for("oca").upload_audio(name, data)
    except BaseException as exc:
        os.remove(path)
        if isinstance(exc, ProviderError):
            raise AudioError(f"OCA did not accept the file: {exc.message}") from exc
        raise
    try:
        return AudioFile.create(name=name, stored_name=stored_name, size_bytes=len(data),
                                duration_seconds=info.duration, bitrate_kbps=info.bitrate_kbps,
                                sample_rate=info.sample_rate, oca_id=remote.id, oca_url=remote.url,
                                uploaded_by=user_id)
    except BaseException:
        # No row, so nothing here would ever point at these copies: remove both rather than leave orphans.
        os.remove(path)
        try:
            client_for("oca").delete_audio(remote.id)
        except ProviderError:
            current_app.logger.warning("audio %s stays at OCA after a failed save; delete it there", remote.id)
        raise


def campaigns_using(audio):
    """Campaigns that may still place calls playing this audio."""
    candidates = Campaign.select().where((Campaign.kind == "ivr") & Campaign.status.in_(ACTIVE_STATES))
    return [c for c in candidates
            if any(m.get("source") == "audio" and m.get("audio_id") == audio.id
                   for m in c.options.get("variables", {}).values())]


def delete(audio):
    """Remove the audio at OCA, then here. Refused while a campaign that may still call uses it."""
    users = campaigns_using(audio)
    if users:
        names = ", ".join(f"“{c.name}” ({c.status})" for c in users)
        raise AudioError(f"“{audio.name}” is played by {names}. Cancel the campaign, or wait until it has "
                         "finished, before deleting the audio.")
    try:
        confirmed = client_for("oca").delete_audio(audio.oca_id)
    except ProviderError as exc:
        # Already gone at OCA (deleted in its dashboard): only our copy is left to remove.
        if exc.code not in ("33", "not_found"):
            raise AudioError(f"OCA did not delete the file: {exc.message}. Nothing was deleted; try again.") from exc
        confirmed = True
    if not confirmed:
        raise AudioError("OCA answered that the file was not deleted. Nothing was deleted here; try again.")
    try:
        os.remove(audio_path(audio))
    except FileNotFoundError:
        pass
    audio.delete_instance()
