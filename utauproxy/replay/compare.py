"""Structural comparison of a recorded message with the one that arrived (DESIGN.md §6). Pure.

JSON is compared as values (key order, whitespace and number formatting are noise: `1500.0`
equals `1500`; `true` never equals `1`), USTX strings as YAML documents, `updateAudio` values and
v1.2 frames as decoded samples. Each difference carries the path of the field that differs,
e.g. `tracks[0].volume`, `data.missingAudios[1]`, `ustx:voice_parts[0].notes[3].lyric`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from utauproxy.protocol.audio import decode_audio_payload, unsigned_xxh32
from utauproxy.protocol.lenient_json import loads
from utauproxy.redact.compare import tokens_match_unknown
from utauproxy.replay.rules import HASH_FIELDS, RuleSet

MAX_DIFFS = 12
_PREVIEW = 80
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One differing field: `path` names it; `expected`/`actual` are short renderings."""

    path: str
    expected: str
    actual: str


@dataclass(slots=True)
class _Walk:
    rules: RuleSet
    diffs: list[FieldDiff] = field(default_factory=list)
    truncated: bool = False

    def add(self, path: str, expected: str, actual: str) -> None:
        path = path.removesuffix(":")  # a whole USTX document differs (e.g. one side empty)
        if self.rules.ignores_path(path or "(payload)"):
            return
        if len(self.diffs) >= MAX_DIFFS:
            self.truncated = True
            return
        self.diffs.append(FieldDiff(path or "(payload)", expected, actual))


def compare_payloads(expected: bytes, actual: bytes, rules: RuleSet, *, frame: bool = False) -> list[FieldDiff]:
    """The differences between two payloads (the text after the header, or a frame's bytes)."""
    walk = _Walk(rules)
    if frame:
        if not rules.ignores("audio") and expected != actual:
            walk.add("(frame payload)", _describe_samples(expected), _describe_samples(actual))
    elif expected != actual:
        try:
            left, right = loads(expected), loads(actual)
        except ValueError:
            walk.add("(payload)", preview(expected), preview(actual))
        else:
            _compare(left, right, "", walk)
    if walk.truncated:
        walk.diffs.append(FieldDiff("…", f"more than {MAX_DIFFS} differences", ""))
    return walk.diffs


def preview(value: bytes | str | Any, limit: int = _PREVIEW) -> str:
    """A short, single-line rendering of a value for reports."""
    if isinstance(value, bytes):
        text = value[: limit * 4].decode("utf-8", "replace")
    elif isinstance(value, str):
        text = json.dumps(value[: limit * 4], ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(path: str, key: str) -> str:
    if not _SIMPLE_KEY.match(key):
        key = f"[{json.dumps(key, ensure_ascii=False)}]"
        return path + key
    if not path or path.endswith(":"):
        return path + key
    return f"{path}.{key}"


def _compare(left: Any, right: Any, path: str, walk: _Walk) -> None:
    if walk.rules.ignores_path(path):
        return
    if isinstance(left, dict) and isinstance(right, dict):
        _compare_objects(left, right, path, walk)
    elif isinstance(left, list) and isinstance(right, list):
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            _compare(a, b, f"{path}[{index}]", walk)
        for index in range(len(right), len(left)):
            walk.add(f"{path}[{index}]", preview(left[index]), "(absent)")
        for index in range(len(left), len(right)):
            walk.add(f"{path}[{index}]", "(absent)", preview(right[index]))
    elif not _same_scalar(left, right, walk.rules):
        walk.add(path, preview(left), preview(right))


def _same_scalar(left: Any, right: Any, rules: RuleSet) -> bool:
    if rules.redacted_tokens and isinstance(left, str) and isinstance(right, str):
        return tokens_match_unknown(left, right)
    if _is_number(left) and _is_number(right):
        return bool(left == right)  # 1500.0 == 1500: number formatting is noise
    return type(left) is type(right) and bool(left == right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare_objects(left: dict[str, Any], right: dict[str, Any], path: str, walk: _Walk) -> None:
    for key, value in left.items():
        child = _join(path, key)
        if key in HASH_FIELDS and walk.rules.ignores("hashes"):
            continue
        if key not in right:
            walk.add(child, preview(value), "(absent)")
        elif key == "ustx" and isinstance(value, str) and isinstance(right[key], str):
            _compare_ustx(value, right[key], child, walk)
        elif key == "audios" and isinstance(value, dict) and isinstance(right[key], dict):
            _compare_audios(value, right[key], child, walk)
        else:
            _compare(value, right[key], child, walk)
    for key, value in right.items():
        if key not in left and not (key in HASH_FIELDS and walk.rules.ignores("hashes")):
            walk.add(_join(path, key), "(absent)", preview(value))


# -- USTX -------------------------------------------------------------------------------------


def _compare_ustx(left: str, right: str, path: str, walk: _Walk) -> None:
    if left == right or walk.rules.ignores("ustx"):
        return
    left_doc, right_doc = _load_yaml(left), _load_yaml(right)
    if left_doc is _UNPARSEABLE or right_doc is _UNPARSEABLE:
        _compare_lines(left, right, path, walk)
    else:
        _compare(left_doc, right_doc, path + ":", walk)


_UNPARSEABLE = object()


def _load_yaml(text: str) -> Any:
    # USTX is YAML from YamlDotNet (PROTOCOL.md §3.5); the real-wire sample starts with a BOM.
    try:
        return yaml.load(text.lstrip("\ufeff"), Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return _UNPARSEABLE


def _compare_lines(left: str, right: str, path: str, walk: _Walk) -> None:
    left_lines, right_lines = left.splitlines(), right.splitlines()
    for number, (a, b) in enumerate(zip(left_lines, right_lines, strict=False), start=1):
        if a != b:
            walk.add(f"{path}:line {number}", preview(a), preview(b))
            return
    walk.add(f"{path}:lines", str(len(left_lines)), str(len(right_lines)))


# -- audio ------------------------------------------------------------------------------------


def _compare_audios(left: dict[str, Any], right: dict[str, Any], path: str, walk: _Walk) -> None:
    if walk.rules.ignores("hashes"):
        # Keys are hashes: pair the buffers by position instead.
        pairs = list(zip(left.values(), right.values(), strict=False))
        if len(left) != len(right):
            walk.add(f"{path}(count)", str(len(left)), str(len(right)))
        for index, (a, b) in enumerate(pairs):
            _compare_audio_value(a, b, f"{path}[#{index}]", walk)
        return
    for key, value in left.items():
        child = _join(path, key)
        if key not in right:
            walk.add(child, "present", "(absent)")
        else:
            _compare_audio_value(value, right[key], child, walk)
    for key in right:
        if key not in left:
            walk.add(_join(path, key), "(absent)", "present")


def _compare_audio_value(left: Any, right: Any, path: str, walk: _Walk) -> None:
    if left == right or walk.rules.ignores("audio"):
        return
    if not (isinstance(left, str) and isinstance(right, str)):
        _compare(left, right, path, walk)
        return
    try:
        left_audio, right_audio = decode_audio_payload(left), decode_audio_payload(right)
    except ValueError:
        walk.add(path, preview(left), preview(right))
        return
    # Compressed bytes differ between encoder versions; the samples must not (DESIGN.md §6).
    if left_audio.samples != right_audio.samples:
        walk.add(path, _describe_samples(left_audio.samples), _describe_samples(right_audio.samples))


def _describe_samples(samples: bytes) -> str:
    return f"{len(samples) // 4} floats, xxh32 {unsigned_xxh32(samples):08x}"
