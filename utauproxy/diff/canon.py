"""Fingerprints of message payloads with the noise taken out. Pure.

A fingerprint is a 64-bit digest of the payload's JSON value in a canonical form: keys sorted,
numbers by value (`1500.0` == `1500`, but `true` != `1`), audio hashes replaced by a
placeholder (they are kept aside as references, see `HashRef`), each `ustx` string by the
digest of its text and each `updateAudio` value by a placeholder (the samples are indexed by
hash, see summary.py). Two messages with equal fingerprints and equivalent references are the
same message as far as the default noise rules are concerned.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import xxhash

from utauproxy.replay.rules import HASH_FIELDS

_HASH = "\x00hash"
_AUDIO = "\x00audio"
_UINT32 = 1 << 32
_INT32_MIN = -(1 << 31)
_MAX_DIGITS = 20


@dataclass(frozen=True, slots=True)
class HashRef:
    """An audio hash found in a payload. `path` is where (`parts[1].audioHash`,
    `data.missingAudios[0]`, `audios` for the keys of an updateAudio); `value` is normalised
    (see `normalize_hash`); `text` is how it was written (`"3664817106"`, `-630150190`)."""

    path: str
    value: int | None
    text: str


def normalize_hash(value: Any) -> int | None:
    """An audio hash as a comparable number: 32-bit hashes modulo 2**32, so P3's unsigned
    `3664817106` equals P6's signed `-630150190` (the same XXH32, PROTOCOL.md §4, §6.9);
    64-bit ones (v1.2 XXH64, P4) as they are. None when it is not a decimal integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_DIGITS:
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    if _INT32_MIN <= value < _UINT32:
        return value % _UINT32
    return value


def canonical_number(value: float) -> int | float | str:
    """Numbers by value: integral floats become ints; NaN and infinities a tag."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"\x00{value!r}"
        if value.is_integer():
            return int(value)
    return value


class Canonicalizer:
    """Builds the canonical form of one payload, collecting its hash references and the
    digests of the USTX texts it carries."""

    def __init__(self) -> None:
        self.refs: list[HashRef] = []
        self.ustx: list[tuple[str, int]] = []  # (path, xxh3 of the text)
        self.audio_keys: list[tuple[str, str]] = []  # updateAudio (key, base64) in order

    def digest(self, value: Any) -> int:
        """The fingerprint of `value` (a parsed payload)."""
        form = self._canon(value, "")
        text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))

    def _canon(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {key: self._member(key, item, path) for key, item in value.items()}
        if isinstance(value, list):
            return [self._canon(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return canonical_number(value)
        return repr(value)

    def _member(self, key: str, value: Any, path: str) -> Any:
        child = join_path(path, key)
        if key in HASH_FIELDS:
            return self._hashes(value, child)
        if key == "ustx" and isinstance(value, str):
            digest = text_digest(value)
            self.ustx.append((child, digest))
            return f"\x00ustx:{digest:016x}"
        if key == "audios" and isinstance(value, dict):
            for audio_key, b64 in value.items():
                self.refs.append(HashRef(child, normalize_hash(audio_key), audio_key))
                if isinstance(b64, str):
                    self.audio_keys.append((audio_key, b64))
            return [_AUDIO] * len(value)
        return self._canon(value, child)

    def _hashes(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [self._hashes(item, f"{path}[{index}]") for index, item in enumerate(value)]
        number = normalize_hash(value)
        if number is None:
            return self._canon(value, path)  # not a hash after all: compared as a value
        self.refs.append(HashRef(path, number, json.dumps(value)))
        return _HASH


def text_digest(text: str) -> int:
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def join_path(path: str, key: str) -> str:
    """`path.key`, with keys that are not identifiers bracketed like replay's paths."""
    if not _SIMPLE_KEY.match(key):
        return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
    if not path or path.endswith(":"):
        return path + key
    return f"{path}.{key}"


# The text of a JSON payload with the values taken out: key order, whitespace and the shape
# of each number stay. Two payloads with the same value and different skeletons differ only
# in formatting (the `json-format` noise rule).
_TOKEN = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"(\s*:)?|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?', re.DOTALL)
# _TOKEN's parts, for `_skeleton_by_strings`.
_NUMBER = re.compile(rb"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_KEY_COLON = re.compile(rb"\s*:")
_BACKSLASH = 0x5C
# Payloads from this size have their strings found by `_skeleton_by_strings`: a USTX text is
# one string of ~150 KB with an escape on every line, which _TOKEN walks escape by escape.
_BIG_FORMAT = 16 << 10


def format_digest(payload: bytes | memoryview) -> int:
    """A digest of the payload's formatting alone (see `_TOKEN`)."""
    if len(payload) >= _BIG_FORMAT:
        return xxhash.xxh3_64_intdigest(_skeleton_by_strings(bytes(payload)))
    return xxhash.xxh3_64_intdigest(_TOKEN.sub(_shape, payload))


def _shape(match: re.Match[bytes]) -> bytes:
    if match.group(0).startswith(b'"'):
        return match.group(0) if match.group(1) is not None else b'"'
    return b"0" + (b".0" if match.group(2) else b"") + (b"e" if match.group(3) else b"")


def _number_shape(match: re.Match[bytes]) -> bytes:
    return b"0" + (b".0" if match.group(1) else b"") + (b"e" if match.group(2) else b"")


def _skeleton_by_strings(payload: bytes) -> bytes:
    """`_TOKEN.sub(_shape, payload)`, byte for byte, with each string's end found by memchr
    (bytes.find) instead. Between two strings only numbers can match; a string that does not
    end (no closing quote) leaves the rest of the payload to _TOKEN itself."""
    pieces: list[bytes] = []
    pos = 0
    while (opening := payload.find(b'"', pos)) >= 0:
        closing = _closing_quote(payload, opening)
        if closing < 0:
            break
        pieces.append(_NUMBER.sub(_number_shape, payload[pos:opening]))
        key = _KEY_COLON.match(payload, closing + 1)
        if key is not None:  # a key: kept whole, with what is between it and its colon
            pieces.append(payload[opening : key.end()])
            pos = key.end()
        else:
            pieces.append(b'"')
            pos = closing + 1
    pieces.append(_TOKEN.sub(_shape, payload[pos:]))
    return b"".join(pieces)


def _closing_quote(payload: bytes, opening: int) -> int:
    """Where the string opened at `opening` ends as _TOKEN sees it: the first quote after it
    preceded by an even run of backslashes (pairs of them are escapes, an odd one out escapes
    the quote); -1 when there is none."""
    quote = opening
    while (quote := payload.find(b'"', quote + 1)) >= 0:
        before = quote - 1
        while before > opening and payload[before] == _BACKSLASH:
            before -= 1
        if (quote - 1 - before) % 2 == 0:
            return quote
    return -1


# -- components: what two messages of one kind have in common ----------------------------------

_MAX_COMPONENTS = 64
# Where YamlDotNet starts a top-level key or a top-level list item (a track, a voice part).
_USTX_CUT = re.compile(r"\n(?=[^ \n])")


def components(value: Any) -> bytes:
    """Digests of the pieces of a payload (each member; each element of a list member; each
    top-level section and each track and voice part of a USTX text), packed as uint64. Two
    messages of one kind that share most pieces are probably the same message, changed: the
    alignment pairs them (align.py). Folded to at most 64 pieces."""
    digests: list[int] = []
    _pieces(value, "", digests, depth=2)
    if len(digests) > _MAX_COMPONENTS:
        folded = [0] * _MAX_COMPONENTS
        for index, digest in enumerate(digests):
            folded[index % _MAX_COMPONENTS] ^= digest
        digests = folded
    return b"".join(digest.to_bytes(8, "little") for digest in digests)


def _pieces(value: Any, path: str, out: list[int], depth: int) -> None:
    if isinstance(value, dict) and path.endswith("audios"):
        out.extend(text_digest(f"{path}[{key}]") for key in value)  # not the tens of MB of base64
    elif isinstance(value, dict) and depth > 0:
        for key, item in value.items():
            _pieces(item, join_path(path, str(key)), out, depth - 1)
    elif isinstance(value, list) and depth > 0:
        for index, item in enumerate(value):
            out.append(_digest(f"{path}[{index}]", item))
    elif isinstance(value, str) and path.endswith("ustx"):
        out.extend(text_digest(f"{path}:{piece}") for piece in _USTX_CUT.split(value))
    else:
        out.append(_digest(path, value))


def _digest(path: str, value: Any) -> int:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return text_digest(f"{path}={text}")


def pieces(packed: bytes) -> frozenset[bytes]:
    """The pieces of a packed component list, as a set."""
    return frozenset(packed[i : i + 8] for i in range(0, len(packed), 8))


def similarity(a: frozenset[bytes], b: frozenset[bytes]) -> float:
    """How alike two messages are by their pieces: 1 / (1 + pieces that differ), so one piece
    apart (the note just edited) scores far above two apart (a resend from one edit later)."""
    if not a or not b:
        return 0.0
    return 1.0 / (1 + max(len(a), len(b)) - len(a & b))
