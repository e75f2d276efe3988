"""Audio payloads and hashes (PROTOCOL.md §3.4, §5.1)."""

from __future__ import annotations

import base64
import gzip
import struct

import pytest
import zstandard
from proto_samples import TOY_B64, TOY_HASH, TOY_SAMPLES

from utauproxy.protocol import (
    DecodedAudio,
    decode_audio_payload,
    encode_audio_payload,
    hash_matches,
    signed_xxh32,
    unsigned_xxh32,
    xxh64,
)

SINE = struct.pack("<2000f", *[((i * 37) % 200 - 100) / 100.0 for i in range(2000)])


def test_the_worked_example_of_section_3_4_is_reproduced_exactly() -> None:
    assert unsigned_xxh32(TOY_SAMPLES) == 0xDA70ABD2 == 3664817106
    assert signed_xxh32(TOY_SAMPLES) == TOY_HASH
    assert encode_audio_payload(TOY_SAMPLES, "zstd") == TOY_B64
    assert decode_audio_payload(TOY_B64) == DecodedAudio("zstd", TOY_SAMPLES)


def test_hashes_match_the_published_xxhash_values_of_empty_input() -> None:
    assert unsigned_xxh32(b"") == 0x02CC5D05
    assert signed_xxh32(b"") == 0x02CC5D05  # positive: both readings agree
    assert xxh64(b"") == 0xEF46DB3751D8E999


@pytest.mark.parametrize("declared", [TOY_HASH, 3664817106, "-630150190", "3664817106"])
def test_hash_matches_accepts_signed_and_unsigned_readings(declared: int | str) -> None:
    assert hash_matches(declared, TOY_SAMPLES)


@pytest.mark.parametrize(
    "declared",
    [TOY_HASH + 1, 3664817106 + (1 << 32), -3664817106, "0x12", "", "abc", "-", "1.5", True],
)
def test_hash_matches_rejects_other_values(declared: int | str) -> None:
    assert not hash_matches(declared, TOY_SAMPLES)


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
@pytest.mark.parametrize("samples", [b"", TOY_SAMPLES, SINE])
def test_encode_then_decode_round_trips(codec: str, samples: bytes) -> None:
    text = encode_audio_payload(samples, codec)  # type: ignore[arg-type]
    assert text.isascii() and len(text) % 4 == 0
    assert decode_audio_payload(text) == DecodedAudio(codec, samples)  # type: ignore[arg-type]
    assert decode_audio_payload(text.encode()).samples == samples


def test_zstd_payloads_carry_their_content_size_because_the_plugin_needs_it() -> None:
    packed = base64.b64decode(encode_audio_payload(SINE, "zstd"))
    assert packed[:4] == bytes.fromhex("28b52ffd")
    assert zstandard.frame_content_size(packed) == len(SINE)
    assert zstandard.frame_content_size(base64.b64decode(encode_audio_payload(b"", "zstd"))) == 0


def test_gzip_payloads_look_like_dotnet_gzipstream_and_any_gunzip_reads_them() -> None:
    text = encode_audio_payload(SINE, "gzip")
    assert text.startswith("H4sI")
    packed = base64.b64decode(text)
    assert packed[:3] == bytes.fromhex("1f8b08")
    assert gzip.decompress(packed) == SINE
    assert encode_audio_payload(SINE, "gzip") == text  # no timestamp: deterministic


def test_unknown_codec_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_audio_payload(SINE, "flac")  # type: ignore[arg-type]


def test_decoded_audio_reports_its_length_in_floats_frames_and_seconds() -> None:
    one_second = b"\x00" * (44100 * 2 * 4)
    decoded = decode_audio_payload(encode_audio_payload(one_second, "zstd"))
    assert (decoded.float_count, decoded.frames, decoded.seconds) == (88200, 44100, 1.0)


def test_uncompressed_payloads_decode_as_raw() -> None:
    decoded = decode_audio_payload(base64.b64encode(TOY_SAMPLES))
    assert decoded == DecodedAudio("raw", TOY_SAMPLES)


def test_multi_member_gzip_is_read_whole() -> None:
    packed = gzip.compress(b"\x01" * 8, mtime=0) + gzip.compress(b"\x02" * 8, mtime=0)
    assert decode_audio_payload(base64.b64encode(packed)).samples == b"\x01" * 8 + b"\x02" * 8


@pytest.mark.parametrize("text", ["KLUv/SAY!!!", "KLUv/SAYwQ", "H4sI AAAA", "\u3042\u3042\u3042\u3042"])
def test_bad_base64_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_audio_payload(text)


@pytest.mark.parametrize(
    "packed",
    [
        bytes.fromhex("28b52ffd") + b"\xff" * 20,  # zstd magic, garbage frame
        bytes.fromhex("28b52ffd2018c10000") + b"\x00" * 4,  # zstd frame cut short
        gzip.compress(SINE)[:-12],  # gzip cut short
        bytes.fromhex("1f8b08") + b"\x00" * 20,  # gzip magic, garbage
    ],
)
def test_corrupt_payloads_are_value_errors(packed: bytes) -> None:
    with pytest.raises(ValueError):
        decode_audio_payload(base64.b64encode(packed))


BOMB_SIZE = 64 << 20


@pytest.mark.parametrize(
    "packed",
    [
        zstandard.ZstdCompressor().compress(b"\x00" * BOMB_SIZE),
        zstandard.ZstdCompressor(write_content_size=False).compress(b"\x00" * BOMB_SIZE),
        gzip.compress(b"\x00" * BOMB_SIZE),
        b"\x00" * (2 << 20),  # raw, still over the limit
    ],
    ids=["zstd with size", "zstd without size", "gzip", "raw"],
)
def test_decompression_bombs_stop_at_the_limit(packed: bytes) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        decode_audio_payload(base64.b64encode(packed), max_output=1 << 20)


def test_a_zstd_frame_without_content_size_still_decodes_under_the_limit() -> None:
    packed = zstandard.ZstdCompressor(write_content_size=False).compress(SINE)
    assert zstandard.frame_content_size(packed) == -1
    assert decode_audio_payload(base64.b64encode(packed)).samples == SINE
