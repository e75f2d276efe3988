"""Manifest counts, `--keep` semantics, header and record types other than messages."""

from __future__ import annotations

import json
import re

from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    DiscoveryEvent,
    DiscoveryRecord,
    MarkRecord,
    MessageRecord,
    NoticeRecord,
)
from utauproxy.redact import MANIFEST_KEY, manifest_of, with_manifest

from .helpers import HOME, USER, message, ou_json, redactor

USTX = ("name: Night Song\ncomment: for Bob\noutput_dir: /home/alice/out\ncache_dir: UCache\n"
        "voice_parts:\n- name: Verse\n  notes:\n  - lyric: あ\n  - lyric: +\n  - lyric: あ\n"
        "  - lyric: い\n")
TRACKS = {"tracks": [{"name": "lead", "volume": 0.0, "pan": 0.0}]}


def _run(keep: frozenset[str] = frozenset()) -> tuple[dict, list[bytes]]:  # type: ignore[type-arg]
    red = redactor(keep)
    outs = []
    for _ in range(2):  # the resend is counted again (counts are changes made, not values)
        outs.append(red.record(message(b"notification:updateUstx " + ou_json({"ustx": USTX}))).raw)
    outs.append(red.record(message(b"notification:updateTracks " + ou_json(TRACKS))).raw)
    outs.append(red.record(message(b"notification:ping {}")).raw)
    return red.manifest(), outs


def test_counts_are_exact() -> None:
    manifest, _ = _run()
    rules = manifest["rules"]
    assert rules["lyrics"] == {"applied": True, "changed": 2 * 3}  # あ, あ, い per send
    assert rules["names"] == {"applied": True, "changed": 2 * 2 + 1}  # project, part; track
    assert rules["paths"] == {"applied": True, "changed": 2 * 2}  # output_dir, cache_dir
    assert rules["text"] == {"applied": True, "changed": 2 * 1}  # comment
    assert rules["audio"] == {"applied": True, "changed": 0}
    assert manifest["format"] == 1 and re.fullmatch(r"[0-9a-f]{16}", manifest["key_id"])


def test_kept_rule_changes_nothing_and_says_so() -> None:
    manifest, outs = _run(frozenset({"lyrics", "names"}))
    assert manifest["rules"]["lyrics"] == {"applied": False, "changed": 0}
    assert manifest["rules"]["names"] == {"applied": False, "changed": 0}
    assert manifest["rules"]["paths"]["changed"] == 4
    ustx = json.loads(outs[0].split(b" ", 1)[1])["ustx"]
    assert "lyric: あ" in ustx and "name: Night Song" in ustx and "/home/alice" not in ustx
    assert outs[2] == b"notification:updateTracks " + ou_json(TRACKS)


def test_manifest_never_contains_a_value() -> None:
    manifest, _ = _run()
    text = json.dumps(manifest, ensure_ascii=False)
    for value in ("Night Song", "Bob", "alice", "Verse", "あ", "い", "lead", "UCache", "/home"):
        assert value not in text


def test_header_and_other_records() -> None:
    red = redactor()
    red.record(message(b"notification:updateTracks " + ou_json(TRACKS)))
    entry = {"file": "My Plugin.json", "name": "Vocal あ", "port": 5,
             "text": '{"port": 5, "name": "Vocal \\u3042"}', "path": f"{HOME}/x"}
    header = CaptureHeader(1, 0, "utauproxy 0.1.0", "2026-01-01T00:00:00Z", "Linux", "auto",
                           discovery=[entry], note=f"recorded by {USER} in {HOME}/tmp",
                           extra={"discovery_dir": f"{HOME}/tmp/OpenUtau/PluginServers", "n": 3})
    out = red.header(header)
    blob = repr(out)
    for value in ("Vocal", "\\u3042", "あ", USER, "My Plugin"):
        assert value not in blob, value
    assert out.discovery[0]["port"] == 5 and out.extra["n"] == 3
    assert json.loads(out.discovery[0]["text"])["name"] == out.discovery[0]["name"]
    records = [DiscoveryRecord(1, DiscoveryEvent.FOUND, dict(entry)),
               ConnectionRecord(2, 1, ConnEvent.OPEN, detail={"entry_name": "Vocal あ",
                                                              "entry_file": "x.json"}),
               MarkRecord(3, "the lead track glitched"),
               NoticeRecord(4, "warning", f"cannot write {HOME}/capture.utpcap")]
    redacted = list(red.records(records))
    assert redacted[0].entry["name"] == out.discovery[0]["name"]  # type: ignore[union-attr]
    assert redacted[1].detail["entry_name"] == out.discovery[0]["name"]  # type: ignore[union-attr]
    assert "lead" not in redacted[2].text  # type: ignore[union-attr]
    assert HOME not in redacted[3].text and redacted[3].text.endswith(".utpcap")  # type: ignore[union-attr]
    manifest = red.manifest()
    assert manifest["rules"]["discovery"]["changed"] >= 3
    marked = with_manifest(out, manifest)
    assert manifest_of(marked) == manifest and marked.extra[MANIFEST_KEY] == manifest
    assert manifest_of(header) is None


def test_keep_discovery_leaves_entries() -> None:
    red = redactor(frozenset({"discovery"}))
    record = DiscoveryRecord(1, DiscoveryEvent.FOUND, {"name": "Vocal", "file": "a.json"})
    assert red.record(record) == record
    assert isinstance(red.record(message(b"notification:ping {}")), MessageRecord)
