"""Payload facts worked out once and reused (facts.py) and big lines parsed only when their
payload is new: a diff must come out exactly as if every message were summarised afresh."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utauproxy.diff import diff_captures, summarize_capture
from utauproxy.diff.facts import FactsCache, PayloadFacts
from utauproxy.diff.summary import LAZY_ABOVE
from utauproxy.peers.edits import SetLyric, apply_edit
from utauproxy.peers.project import Project, ProjectSpec, generate_project
from utauproxy.protocol.header import HeaderType
from utauproxy.records import ConnectionRecord, ConnEvent, Direction, MessageRecord, Record

from .sessions import synthetic_capture, write_capture

SPEC = ProjectSpec(notes=12, tracks=2, parts_per_track=1, part_seconds=1.0, curve_points=4)
OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU
MS = 1_000_000


@pytest.fixture(scope="module")
def projects() -> list[Project]:
    project = generate_project(11, SPEC)
    first = apply_edit(project, SetLyric(1, 0, "ら"))
    return [project, first, apply_edit(first, SetLyric(1, 1, "り")), project]  # the last: a resend


class _Forgetful(FactsCache):
    """Never finds anything: every payload is parsed and summarised afresh."""

    def get(self, key: object) -> None:  # type: ignore[override]
        return None


def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("utauproxy.diff.engine.FactsCache", _Forgetful)
    monkeypatch.setattr("utauproxy.diff.summary.FactsCache", _Forgetful)


def test_shared_facts_give_the_summaries_fresh_ones_give(tmp_path: Path, projects: list[Project]) -> None:
    a = synthetic_capture(tmp_path / "a.utpcap", projects, seed=1)
    b = synthetic_capture(tmp_path / "b.utpcap", projects[1:], seed=2)
    shared = FactsCache()
    summary_a, _ = summarize_capture(a, shared)
    summary_b, _ = summarize_capture(b, shared)
    assert summary_a == summarize_capture(a, _Forgetful())[0]
    assert summary_b == summarize_capture(b, _Forgetful())[0]
    assert summary_a.audio and summary_a.slots and summary_a.profile.seen


@pytest.mark.parametrize("drop", [0, 1])
def test_a_diff_reads_the_same_with_and_without_facts(tmp_path: Path, projects: list[Project], drop: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    a = synthetic_capture(tmp_path / "a.utpcap", projects, seed=1)
    b = synthetic_capture(tmp_path / "b.utpcap", projects[drop:], seed=2)
    with_facts = diff_captures(a, b).as_dict()
    _fresh(monkeypatch)
    assert diff_captures(a, b).as_dict() == with_facts


def _big_payload(tag: str) -> bytes:
    """Valid JSON bigger than LAZY_ABOVE (so it is parsed only when new)."""
    return json.dumps({"ustx": tag * (LAZY_ABOVE // len(tag) + 10)}).encode()


def _lines(raws: list[bytes]) -> list[Record]:
    records: list[Record] = [ConnectionRecord(0, 1, ConnEvent.OPEN)]
    records += [MessageRecord((n + 1) * MS, 1, OU, raw) for n, raw in enumerate(raws)]
    return records


def test_a_known_payload_under_a_header_the_framer_rejects_is_malformed(tmp_path: Path) -> None:
    payload = _big_payload("name: x\n")
    broken = b"not json at all, " * (LAZY_ABOVE // 10)
    raws = [
        b"notification:updateUstx " + payload,
        b"request:1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed " + payload,  # a request without its kind
        b"notification:updateUstx " + payload,
        b"notification:updateUstx " + broken,
        b"notification:updateUstx " + broken,
        b"request:" + b"\xff" * 8 + b":updateUstx " + payload,  # a header that is not UTF-8
    ]
    path = write_capture(tmp_path / "c.utpcap", _lines(raws))
    summary, _ = summarize_capture(path, FactsCache())
    assert summary == summarize_capture(path, _Forgetful())[0]
    labels = [m.label for c in summary.connections for m in c.messages]
    assert labels[1].startswith("malformed") and labels[3].startswith("malformed")
    assert labels[4].startswith("malformed") and labels[5].startswith("malformed")
    assert not labels[0].startswith("malformed") and not labels[2].startswith("malformed")


def test_the_same_bytes_under_other_kinds_are_other_facts(tmp_path: Path) -> None:
    layout = json.dumps({"parts": [{"trackNo": 0, "startMs": 0, "endMs": 10, "audioHash": 5}],
                         "pad": "x" * LAZY_ABOVE}).encode()
    raws = [b"notification:updateTracks " + layout, b"request:1:updatePartLayout " + layout]
    path = write_capture(tmp_path / "c.utpcap", _lines(raws))
    summary, _ = summarize_capture(path, FactsCache())
    assert summary == summarize_capture(path, _Forgetful())[0]
    assert summary.slots  # filed by the layout request, although its bytes were seen before


def test_facts_are_bounded() -> None:
    cache = FactsCache(size=3)
    keys = [FactsCache.key(bytes([n]), HeaderType.NOTIFICATION, "updateUstx", OU) for n in range(5)]
    facts = PayloadFacts(1, b"", (), False, 0, 0, (), (), ())
    for key in keys:
        cache.put(key, facts)
    assert [cache.get(key) is not None for key in keys] == [False, False, True, True, True]
