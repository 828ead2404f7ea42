"""MP3 bytes built frame by frame (header + silent payload), for uploads without a real recording."""
# MPEG version -> header bits, Layer III bitrate table name, samples per frame, sample rates.
VERSIONS = {"1": (0b11, 1152, (44100, 48000, 32000)), "2": (0b10, 576, (22050, 24000, 16000)),
            "2.5": (0b00, 576, (11025, 12000, 8000))}
BITRATES = {"1": (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            "2": (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}


def header(version="1", kbps=128, sample_rate=44100, mono=True, layer=0b01):
    bits, _, rates = VERSIONS[version]
    table = BITRATES["1" if version == "1" else "2"]
    b1 = 0xE0 | bits << 3 | layer << 1 | 1  # 1: no CRC
    b2 = (table.index(kbps) + 1) << 4 | rates.index(sample_rate) << 2
    return bytes([0xFF, b1, b2, 0xC0 if mono else 0x00])


def frame_length(version="1", kbps=128, sample_rate=44100):
    samples = VERSIONS[version][1]
    return samples // 8 * kbps * 1000 // sample_rate


def mp3(frames=100, version="1", kbps=128, sample_rate=44100, mono=True, xing=None, id3=b"", id3v1=False):
    """``frames`` audio frames; xing=N puts a Xing header frame claiming N frames first."""
    head = header(version, kbps, sample_rate, mono)
    size = frame_length(version, kbps, sample_rate)
    body = b""
    if xing is not None:
        side_info = (17 if mono else 32) if version == "1" else (9 if mono else 17)
        tag = bytes(side_info) + b"Xing" + (1).to_bytes(4, "big") + xing.to_bytes(4, "big")
        body += (head + tag).ljust(size, b"\0")
    body += (head + bytes(size - 4)) * frames
    if id3:
        # ID3v2.4 header with a syncsafe size, then the tag's bytes.
        n = len(id3)
        syncsafe = bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])
        body = b"ID3\x04\x00\x00" + syncsafe + id3 + body
    if id3v1:
        body += b"TAG" + bytes(125)
    return body
