"""Rule "audio": silence of the same length in the same codec, statistics in the manifest."""

from __future__ import annotations

import json
import math
import struct

from utauproxy.protocol.audio import decode_audio_payload, encode_audio_payload, xxh64
from utauproxy.records import MessageFlags, MessageRecord

from .helpers import message, redactor

_TONE = b"".join(struct.pack("<ff", 0.5 * math.sin(i / 10), 0.5 * math.sin(i / 10))
                 for i in range(4410))  # 0.1 s stereo, peak ~0.5 (-6 dBFS)


def _update_audio(codec: str, key: str = "-630150190") -> bytes:
    payload = encode_audio_payload(_TONE, codec)  # type: ignore[arg-type]
    return b"notification:updateAudio " + json.dumps(
        {"audios": {key: payload}}, separators=(",", ":")).encode()


def _audio_value(raw: bytes) -> tuple[str, str]:
    audios = json.loads(raw.split(b" ", 1)[1])["audios"]
    ((key, value),) = audios.items()
    return key, value


def test_audio_becomes_silence_of_the_same_length_and_codec() -> None:
    for codec, prefix in (("zstd", "KLUv"), ("gzip", "H4sI")):
        red = redactor()
        raw = _update_audio(codec)
        key, value = _audio_value(red.record(message(raw)).raw)
        assert key == "-630150190"
        assert value.startswith(prefix)
        decoded = decode_audio_payload(value)
        assert decoded.codec == codec
        assert decoded.samples == bytes(len(_TONE))
        assert len(value) < len(_audio_value(raw)[1])


def test_manifest_has_audio_statistics_and_no_samples() -> None:
    red = redactor()
    red.record(message(_update_audio("zstd")))
    manifest = red.manifest()
    assert manifest["rules"]["audio"] == {"applied": True, "changed": 1}
    (item,) = manifest["audio"]["items"]
    assert item["hash"] == "-630150190"
    assert item["decoded_bytes"] == len(_TONE)
    assert item["frames"] == 4410
    assert -6.1 < item["peak_dbfs"] < -6.0
    assert -9.2 < item["rms_dbfs"] < -8.9  # a sine's RMS is 3 dB under its peak


def test_keep_audio_leaves_it_alone() -> None:
    red = redactor(frozenset({"audio"}))
    raw = _update_audio("zstd")
    assert red.record(message(raw)).raw == raw
    assert red.manifest()["rules"]["audio"] == {"applied": False, "changed": 0}


def test_invalid_audio_value_carries_no_original_bytes() -> None:
    raw = b'notification:updateAudio {"audios":{"12":"KLUv/not base64 at all"}}'
    out = redactor().record(message(raw)).raw
    key, value = _audio_value(out)
    assert key == "12" and value == "A" * len("KLUv/not base64 at all")


def test_v12_frame_payload_is_zeroed_with_header_kept() -> None:
    header = f"audio {xxh64(_TONE)} {len(_TONE)}\n".encode()
    record = MessageRecord(0, 1, 0, header + _TONE, MessageFlags.FRAME)  # type: ignore[arg-type]
    red = redactor()
    out = red.record(record)
    assert isinstance(out, MessageRecord)
    assert out.raw == header + bytes(len(_TONE))
    assert out.flags == MessageFlags.FRAME
    assert red.manifest()["audio"]["items"][0]["hash"] == str(xxh64(_TONE))
