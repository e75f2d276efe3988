"""Audio payloads of `updateAudio` and their hashes (PROTOCOL.md §3.4, §5.1).

Samples are float32 little-endian, interleaved stereo, 44.1 kHz. On the line protocol each
part's samples travel as standard base64 of one zstd frame (P3+) or a gzip member (P2, R).
Decoding is bounded: a payload is data from a stranger's capture, so a decompression bomb
is a ValueError, never an unbounded allocation.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Literal, TypeAlias, TypeVar, cast

import pybase64
import xxhash
import zstandard

SAMPLE_RATE = 44100
CHANNELS = 2
BYTES_PER_FLOAT = 4
DEFAULT_MAX_OUTPUT = 1 << 30
# How every P2-P6 audio line starts (PROTOCOL.md §3): its payloads follow as JSON strings.
UPDATE_AUDIO_HEAD = b"notification:updateAudio "

Codec: TypeAlias = Literal["zstd", "gzip"]
B64Text = TypeVar("B64Text", bound=str | bytes | memoryview)
DecodedCodec: TypeAlias = Literal["zstd", "gzip", "raw"]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_LEVEL = 3  # libzstd's and ZstdSharp's default level (PROTOCOL.md §3.4)
_GZIP_LEVEL = 6  # zlib's default, which .NET's CompressionLevel.Optimal maps to
# The header zlib (which .NET's GZipStream wraps) writes: deflate, no flags, mtime 0, XFL 0;
# OS byte 10 is an unverified guess at Windows builds. Readers ignore mtime/XFL/OS; fixing
# them keeps our output identical on every platform (zlib's own OS byte varies by host).
_GZIP_HEADER = bytes.fromhex("1f8b08000000000000" "0a")
_READ_CHUNK = 1 << 20
# Base64 characters decoded at a time when only a digest is wanted (a multiple of 4): the
# samples of a 64 MiB line are never held whole.
_B64_PIECE = 4 << 20
# Samples hashed at a time. Big enough that a digest on a worker thread takes the GIL back
# rarely (each zstd and xxhash call lets go of it), which matters when the main thread is busy.
_SAMPLES_PIECE = 4 << 20
_UINT32 = 1 << 32
_INT32_MIN = -(1 << 31)
_per_thread = threading.local()


# -- hashes -----------------------------------------------------------------------------------


def unsigned_xxh32(data: bytes) -> int:
    """XXH32 with seed 0, as an unsigned 32-bit value (P2/P3 `uint` hashes)."""
    return xxhash.xxh32_intdigest(data)


def signed_xxh32(data: bytes) -> int:
    """XXH32 with seed 0 read as int32, like C#'s `unchecked((int)hash)` (P6, PROTOCOL.md §3.4)."""
    value = xxhash.xxh32_intdigest(data)
    return value - _UINT32 if value >= 1 << 31 else value


def xxh64(data: bytes) -> int:
    """XXH64 with seed 0, unsigned: the API v1.2 frame hash (PROTOCOL.md §5.1)."""
    return xxhash.xxh64_intdigest(data)


def _declared_int(declared: int | str) -> int | None:
    if isinstance(declared, bool):
        return None
    if isinstance(declared, int):
        return declared
    text = declared.strip()
    digits = text[1:] if text.startswith("-") else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        return None
    return int(text)


def hash_matches(declared: int | str, samples: bytes) -> bool:
    """Whether `declared` is the XXH32 of `samples`, read as uint32 (P2/P3) or int32 (P6).
    Accepts ints and decimal strings (updateAudio keys, string missingAudios)."""
    value = _declared_int(declared)
    if value is None or not _INT32_MIN <= value < _UINT32:
        return False
    return value % _UINT32 == unsigned_xxh32(samples)


# -- encoding ---------------------------------------------------------------------------------


def _gzip(samples: bytes) -> bytes:
    deflater = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(samples) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(samples), len(samples) % _UINT32)
    return _GZIP_HEADER + body + trailer


def encode_audio_payload(samples: bytes, codec: Codec) -> str:
    """Base64 text of compressed samples, as OpenUtau writes it into `updateAudio`.
    zstd: one frame with its content size, level 3 (the real plugin needs the size,
    PROTOCOL.md §3.4). gzip: one member like .NET GZipStream (`1f8b08`, base64 `H4sI`)."""
    if codec == "zstd":
        compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, write_content_size=True)
        packed = compressor.compress(samples)
    elif codec == "gzip":
        packed = _gzip(samples)
    else:
        raise ValueError(f"unknown audio codec {codec!r}")
    return base64.b64encode(packed).decode("ascii")


# -- decoding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """The samples of one audio payload and the codec they were wrapped in."""

    codec: DecodedCodec
    samples: bytes

    @property
    def float_count(self) -> int:
        return len(self.samples) // BYTES_PER_FLOAT

    @property
    def frames(self) -> int:
        """Stereo frames (one float per channel)."""
        return self.float_count // CHANNELS

    @property
    def seconds(self) -> float:
        return self.frames / SAMPLE_RATE


def strict_b64decode(b64: str | bytes | memoryview) -> bytes:
    """`base64.b64decode(b64, validate=True)`, fast: the same bytes for the same input, and
    the same exception with the same words when the input is not valid.

    pybase64 (SIMD; ~20-40x binascii on this machine, and it releases the GIL) accepts a
    subset of what strict binascii accepts and decodes it alike (held by
    tests/inspect/test_inspect_b64_strict.py). What it rejects, including what Python 3.11's
    strict mode still lets through (excess padding after a full quad, `AAAA=`), is decoded
    again by the standard library, whose verdict and error text stand."""
    try:
        return pybase64.b64decode(b64, validate=True)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        return base64.b64decode(b64, validate=True)


def _b64decode(b64: str | bytes | memoryview) -> bytes:
    try:
        return strict_b64decode(b64)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def _too_big(max_output: int) -> ValueError:
    return ValueError(f"decompressed audio exceeds {max_output} bytes (decompression bomb?)")


def _unzstd(packed: bytes, max_output: int) -> bytes:
    try:
        declared = zstandard.frame_content_size(packed)
        if declared > max_output:
            raise _too_big(max_output)
        if declared >= 0:
            return zstandard.ZstdDecompressor().decompress(packed)
        # No content size: stream with a cap instead of trusting the frame.
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(packed))
        return _read_capped(reader.read, max_output)
    except zstandard.ZstdError as exc:
        raise ValueError(f"invalid zstd data: {exc}") from None


def _read_capped(read: Callable[[int], bytes], max_output: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while chunk := read(min(_READ_CHUNK, max_output - total + 1)):
        total += len(chunk)
        if total > max_output:
            raise _too_big(max_output)
        parts.append(chunk)
    return b"".join(parts)


def _gunzip(packed: bytes, max_output: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    rest = packed
    while rest:  # a gzip file may hold several members; read them all
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        while pending and not inflater.eof:
            chunk = inflater.decompress(pending, max_output - total + 1)
            pending = inflater.unconsumed_tail
            total += len(chunk)
            if total > max_output:
                raise _too_big(max_output)
            parts.append(chunk)
        if not inflater.eof:
            raise ValueError("gzip data is truncated")
        rest = inflater.unused_data
    return b"".join(parts)


def decode_audio_payload(b64: str | bytes | memoryview, *, max_output: int = DEFAULT_MAX_OUTPUT) -> DecodedAudio:
    """Decode an `updateAudio` value. The codec comes from the magic bytes (base64 `KLUv` zstd,
    `H4sI` gzip); anything else is taken as raw samples. Raises ValueError on bad base64,
    corrupt data, or output larger than `max_output` bytes."""
    packed = _b64decode(b64)
    if packed.startswith(_ZSTD_MAGIC):
        return DecodedAudio("zstd", _unzstd(packed, max_output))
    if packed.startswith(_GZIP_MAGIC):
        try:
            return DecodedAudio("gzip", _gunzip(packed, max_output))
        except zlib.error as exc:
            raise ValueError(f"invalid gzip data: {exc}") from None
    if len(packed) > max_output:
        raise _too_big(max_output)
    return DecodedAudio("raw", packed)


# -- digests ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioDigest:
    """What readers of a capture need to know about one audio payload without its samples:
    the codec, how many bytes of samples it holds, their unsigned XXH32 (the hash peers name
    audio by) and their XXH3-64 (a cheap identity for comparing payloads)."""

    codec: DecodedCodec
    samples_len: int
    xxh32: int
    xxh3_64: int


def digest_audio_payload(b64: str | bytes | memoryview, *, max_output: int = DEFAULT_MAX_OUTPUT) -> AudioDigest:
    """`decode_audio_payload` reduced to a digest, with the same results and the same
    ValueErrors. A zstd frame that declares its content size (what real peers send,
    PROTOCOL.md §3.4) is decoded in pieces straight into the hash; anything unusual is
    decoded whole, so errors read exactly as `decode_audio_payload` words them."""
    streamed = _digest_in_pieces(b64, max_output)
    if streamed is not None:
        return streamed
    decoded = decode_audio_payload(b64, max_output=max_output)
    samples = decoded.samples
    return AudioDigest(decoded.codec, len(samples), unsigned_xxh32(samples), xxhash.xxh3_64_intdigest(samples))


def xxh32_matches(declared: int | str, actual_xxh32: int) -> bool:
    """`hash_matches` for samples whose unsigned XXH32 is already known."""
    value = _declared_int(declared)
    if value is None or not _INT32_MIN <= value < _UINT32:
        return False
    return value % _UINT32 == actual_xxh32


def strict_b64_pieces(b64: B64Text) -> Iterator[tuple[B64Text, bytes]]:
    """Strictly decoded pieces of `b64`, a few MiB of text at a time, each with the text it
    is decoded from (one empty piece for empty text); raises ValueError (binascii.Error,
    UnicodeError) on anything a whole strict decode might word differently, padding inside
    included."""
    last = len(b64) - _B64_PIECE
    for start in range(0, max(len(b64), 1), _B64_PIECE):
        text = cast(B64Text, b64[start : start + _B64_PIECE])  # a slice is of the same type
        piece = _strict_piece(text)
        # A strictly valid piece is base64 characters and `=`; each `=` makes its output
        # shorter than 3 bytes per 4 characters, which is how padding inside shows.
        if start < last and len(piece) != _B64_PIECE // 4 * 3:
            raise ValueError("padding before the end")
        yield text, piece


def _b64_pieces(b64: str | bytes | memoryview) -> Iterator[bytes]:
    return (piece for _, piece in strict_b64_pieces(b64))


def _strict_piece(piece: str | bytes | memoryview) -> bytes:
    try:
        return pybase64.b64decode(piece, validate=True)
    except ValueError:  # the standard library has the last word (see strict_b64decode)
        encoded = piece.encode("ascii") if isinstance(piece, str) else piece
        return binascii.a2b_base64(encoded, strict_mode=True)


def _samples_buffer() -> bytearray:
    """This thread's buffer for samples on their way to the hashes: one per thread and reused,
    so the kernel zeroes its pages once, not once per payload."""
    buffer: bytearray | None = getattr(_per_thread, "samples", None)
    if buffer is None:
        buffer = _per_thread.samples = bytearray(_SAMPLES_PIECE)
    return buffer


class _DecodedText:
    """Base64 text as a file for zstd's stream reader: each read hands over the next strictly
    decoded piece (b"" at the end)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces

    def read(self, size: int = -1) -> bytes:
        return next(self._pieces, b"")


def _digest_in_pieces(b64: str | bytes | memoryview, max_output: int) -> AudioDigest | None:
    """The digest of a well-formed zstd payload with a content size, or None: not that kind
    of payload, or something is off (the caller then decodes it whole).

    The samples are decompressed into one small reused buffer and hashed from there, so
    nothing of their size is ever allocated (a pure tone packs ~1 GB of samples into a few
    MB of text). Like the whole decode (`ZstdDecompressor.decompress`), this reads the first
    frame only; the text after it must still be valid base64."""
    try:
        pieces = _b64_pieces(b64)
        first = next(pieces)
        if not first.startswith(_ZSTD_MAGIC):
            return None
        declared = zstandard.frame_content_size(first)
        if declared < 0 or declared > max_output:
            return None
        text = _DecodedText(itertools.chain((first,), pieces))
        source = cast(IO[bytes], text)  # zstd only calls read()
        reader = zstandard.ZstdDecompressor().stream_reader(source, read_size=_B64_PIECE)
        buffer = _samples_buffer()
        view = memoryview(buffer)
        hasher, identity = xxhash.xxh32(), xxhash.xxh3_64()
        total = 0
        while size := reader.readinto(buffer):
            total += size
            if total > declared:
                return None
            samples = view[:size]
            hasher.update(samples)
            identity.update(samples)
        if total != declared:
            return None
        while text.read():  # the rest of the text is checked as the whole decode would
            pass
    except (ValueError, zstandard.ZstdError):  # binascii.Error and UnicodeError included
        return None
    return AudioDigest("zstd", total, hasher.intdigest(), identity.intdigest())
