"""A project full of secrets, its messages in each peer's JSON style, and search helpers."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import yaml

from utauproxy.peers.project import Project, generate_project
from utauproxy.peers.ustx import to_ustx
from utauproxy.records import Direction, MessageRecord
from utauproxy.redact import RedactionOptions, Redactor
from utauproxy.redact.tokens import CATEGORIES, Pseudonyms
from utauproxy.redact.yamlline import STRUCTURAL_LYRICS

KEY = bytes(range(32))
USER = "alice"
HOME = "/home/alice"
OUTPUT_DIR = "/home/alice/Music/utau/export"
CACHE_DIR = "C:\\Users\\alice\\AppData\\Local\\OpenUtau\\Cache"
COMMENT = "Alice's demo for Nico, v3 (do not share)"


def secret_project(seed: int = 11) -> Project:
    """generate_project plus a comment, a POSIX path under the fake home and a Windows path."""
    project = generate_project(seed)
    parts = list(project.voice_parts)
    parts[0] = dataclasses.replace(parts[0], comment="part note: ハモリ要確認")
    return dataclasses.replace(project, comment=COMMENT, output_dir=OUTPUT_DIR,
                               cache_dir=CACHE_DIR, voice_parts=tuple(parts))


def secrets_of(project: Project) -> set[str]:
    """Every user string of the project: lyrics, names, singers, comments, paths, user."""
    values = {project.name, project.comment, project.output_dir, project.cache_dir, USER, HOME}
    for track in project.tracks:
        values.add(track.track_name)
        if track.singer:
            values.add(track.singer)
    for part in project.voice_parts:
        values.update({part.name, part.comment})
        values.update(note.lyric for note in part.notes)
    return {value for value in values if value and value not in STRUCTURAL_LYRICS}


def redactor(keep: frozenset[str] = frozenset()) -> Redactor:
    return Redactor(RedactionOptions(key=KEY, keep=keep), user=USER, home=HOME)


def ou_json(obj: Any) -> bytes:
    """Newtonsoft style (OpenUtau, PROTOCOL.md §3.3): compact, raw UTF-8."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def choc_json(obj: Any) -> bytes:
    """choc style (the plugin, §1.2): `, ` and `: `, non-ASCII as lowercase \\uxxxx."""
    return json.dumps(obj, ensure_ascii=True, separators=(", ", ": ")).encode("ascii")


def message(raw: bytes, direction: Direction = Direction.OU_TO_PLUGIN, ts: int = 0) -> MessageRecord:
    return MessageRecord(ts_ns=ts, conn=1, direction=direction, raw=raw)


def update_ustx(project: Project) -> bytes:
    return b"notification:updateUstx " + ou_json({"ustx": to_ustx(project)})


def init_response(project: Project) -> bytes:
    body = {"success": True, "data": {"ustx": to_ustx(project)}}
    return b"response:6f1c2d3e-0a4b-4c5d-9e8f-001122334455 " + choc_json(body)


def update_tracks(project: Project) -> bytes:
    tracks = [{"name": t.track_name, "volume": float(t.volume), "pan": float(t.pan)}
              for t in project.tracks]
    return b"notification:updateTracks " + ou_json({"tracks": tracks})


def _forms(value: str) -> set[bytes]:
    escaped = json.dumps(value)[1:-1]
    forms = {value.encode("utf-8"), escaped.encode("ascii"),
             re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), escaped).encode()}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8"))
    return forms


def surviving(data: bytes, secrets: set[str]) -> set[str]:
    """The secrets found in `data` in any form: raw UTF-8, JSON-escaped (\\uxxxx in lower or
    upper case, doubled backslashes). Short ASCII values count only as whole words (the lyric
    "so" is not found in "resolution")."""
    found = set()
    for value in secrets:
        for form in _forms(value):
            if value.isascii() and len(value) < 5:
                if re.search(rb"(?<![A-Za-z0-9_])" + re.escape(form) + rb"(?![A-Za-z0-9_])", data):
                    found.add(value)
            elif form in data:
                found.add(value)
    return found


def inverse_tokens(strings: set[str]) -> dict[str, str]:
    """token -> value for every string under every category (to undo a redaction in tests)."""
    names = Pseudonyms(KEY)
    return {names.token(category, value): value for value in strings for category in CATEGORIES}


def all_strings(node: Any) -> set[str]:
    """Every string scalar of a parsed YAML/JSON document."""
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*(all_strings(v) for v in node.values()), set())
    if isinstance(node, list):
        return set().union(*(all_strings(v) for v in node), set())
    return set()


def shape(node: Any) -> Any:
    """A document with every string replaced by "S": what must survive redaction."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    if isinstance(node, str):
        return "S"
    return node


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - the safe loader
