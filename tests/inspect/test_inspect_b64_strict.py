"""pybase64 is only a faster road to the standard library's answers: the same bytes for valid
base64, the same exception with the same words for invalid, and the same audio digests and
errors whatever form (str, bytes, memoryview) and however many pieces a payload comes in."""

from __future__ import annotations

import base64
import binascii
import os

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from utauproxy.inspect import bigline
from utauproxy.inspect.audio import audio_digest, check_audio_value
from utauproxy.protocol import audio
from utauproxy.protocol.audio import (
    AudioDigest,
    decode_audio_payload,
    digest_audio_payload,
    encode_audio_payload,
    strict_b64decode,
    unsigned_xxh32,
)

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Mostly base64, with the characters that make strict decoding interesting.
_TEXT = st.text(alphabet=st.sampled_from(list("AQgw+/9z") + ["=", "=", "\n", " ", "-", "_", "é", "\x00"]),
                max_size=24)


def _outcome(decode: object, value: str | bytes) -> tuple[str, object]:
    try:
        return "ok", decode(value)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
        return "error", (type(exc), str(exc))


def _reference(value: str | bytes) -> bytes:
    return base64.b64decode(value, validate=True)


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_strict_decode_is_the_standard_librarys(text: str) -> None:
    assert _outcome(strict_b64decode, text) == _outcome(_reference, text)
    if text.isascii():
        assert _outcome(strict_b64decode, text.encode()) == _outcome(_reference, text.encode())


@pytest.mark.parametrize("text", ["AAAA=", "AAAA==", "AA==AA==", "QUJD\nRA==", "QUJDRA=", "QUJDRA", "",
                                  "QUJD RA==", "QUJDRA===", "Q===", "é", "\udc80AAA"])
def test_strict_decode_edge_cases(text: str) -> None:
    # `AAAA=` is accepted by Python 3.11's strict mode and refused by pybase64: the standard
    # library's verdict must win.
    assert _outcome(strict_b64decode, text) == _outcome(_reference, text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=4))
def test_only_base64_is_the_byte_by_byte_check(data: bytes, piece_shift: int) -> None:
    original = bigline._CHECK_PIECE
    bigline._CHECK_PIECE = 4 << piece_shift  # pieces of 4..64 bytes: every boundary case
    try:
        for text in (data, base64.b64encode(data), base64.b64encode(data) + data[:3],
                     base64.b64encode(data)[:-1], b"=" + base64.b64encode(data)):
            expected = text.translate(bigline._BASE64_MASK).find(0) < 0
            assert bigline._only_base64(memoryview(text)) is expected
    finally:
        bigline._CHECK_PIECE = original


# -- digests -----------------------------------------------------------------------------------

_SAMPLES = os.urandom(3000) * 40  # compresses a little, like real audio does not
_FRAME = zstandard.ZstdCompressor(level=3, write_content_size=True).compress(_SAMPLES)
_EMPTY = zstandard.ZstdCompressor(level=3, write_content_size=True).compress(b"")
_NO_SIZE = zstandard.ZstdCompressor(level=3, write_content_size=False).compress(_SAMPLES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_GOOD = _b64(_FRAME)
# Each a way a payload can be odd; the digest must say what decoding it whole says.
_PAYLOADS = {
    "zstd": _GOOD,
    "zstd, empty": _b64(_EMPTY),
    "zstd without a content size": _b64(_NO_SIZE),
    "gzip": encode_audio_payload(_SAMPLES, "gzip"),
    "raw samples": _b64(_SAMPLES[:4000]),
    "a second frame after the first": _b64(_FRAME + _FRAME),
    "garbage after the frame": _b64(_FRAME + b"garbage"),
    "frame cut short": _b64(_FRAME[:-100]),
    "corrupt frame": _b64(_FRAME[:40] + bytes(200) + _FRAME[240:]),
    "a bad character at the end": _GOOD[:-8] + "!!!!" + _GOOD[-4:],
    "a bad character in the middle": _GOOD[:4000] + "*" + _GOOD[4001:],
    "padding in the middle": _GOOD[:4000] + "==" + _GOOD[4002:],
    "excess padding Python accepts": _b64(_FRAME + bytes(-len(_FRAME) % 3)) + "=",
    "missing padding": _GOOD.rstrip("="),
    "whitespace": _GOOD[:100] + "\n" + _GOOD[100:],
    "non-ASCII": _GOOD[:100] + "é" + _GOOD[101:],
    "empty": "",
}


def _whole(value: str | bytes) -> AudioDigest | str:
    """The digest the slow way: decode everything, then hash (what the streamed path replaces)."""
    try:
        decoded = decode_audio_payload(value)
    except ValueError as exc:
        return str(exc)
    import xxhash

    samples = decoded.samples
    return AudioDigest(decoded.codec, len(samples), unsigned_xxh32(samples), xxhash.xxh3_64_intdigest(samples))


def _digest(value: str | bytes | memoryview) -> AudioDigest | str:
    try:
        return digest_audio_payload(value)
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize("piece", [4 << 20, 64, 1024])
@pytest.mark.parametrize("name", sorted(_PAYLOADS))
def test_digest_is_the_whole_decode_in_every_form_and_piece_size(
        name: str, piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio, "_B64_PIECE", piece)
    monkeypatch.setattr(audio, "_SAMPLES_PIECE", 4096)
    monkeypatch.setattr(audio, "_per_thread", type(audio._per_thread)())
    value = _PAYLOADS[name]
    expected = _whole(value)
    assert _digest(value) == expected
    if value.isascii():
        as_bytes = value.encode("ascii")
        # Errors from bytes may be worded differently only where str input cannot be ASCII.
        assert _digest(as_bytes) == _whole(as_bytes) == expected
        assert _digest(memoryview(as_bytes)) == expected


def test_error_words_are_the_standard_librarys() -> None:
    value = _PAYLOADS["a bad character at the end"]
    with pytest.raises(binascii.Error) as reference:
        base64.b64decode(value, validate=True)
    check = check_audio_value("1", value)
    assert check.error == f"invalid base64: {reference.value}"
    assert audio_digest(value) == check.error
