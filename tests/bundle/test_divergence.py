"""`--until-divergence`: the first divergence of a real replay report, located in the capture."""

from __future__ import annotations

import pytest

from utauproxy.bundle.divergence import (
    MARGIN_S,
    DivergencePoint,
    first_divergence,
    locate,
    until_ns,
)
from utauproxy.bundle.trim import NS
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    MessageFlags,
    MessageRecord,
    Record,
)
from utauproxy.replay.compare import FieldDiff
from utauproxy.replay.render import to_json
from utauproxy.replay.report import Divergence, DivergenceKind, MessageRef, ReplayReport

OU, PLUGIN = Direction.OU_TO_PLUGIN, Direction.PLUGIN_TO_OU


def records() -> list[Record]:
    return [
        ConnectionRecord(1 * NS, 1, ConnEvent.OPEN),
        MessageRecord(2 * NS, 1, OU, b"request:a:init {}"),  # script index 0
        ConnectionRecord(3 * NS, 2, ConnEvent.OPEN),
        MessageRecord(4 * NS, 2, OU, b"request:b:init {}"),
        MessageRecord(5 * NS, 1, PLUGIN, b"response:a {", MessageFlags.CONTINUED),
        MessageRecord(6 * NS, 1, PLUGIN, b"}"),  # index 1: pieces count once, at the last piece
        MessageRecord(7 * NS, 1, OU, b"notification:updateUstx {}"),  # index 2
    ]


def report(divergences: list[Divergence]) -> dict[str, object]:
    return to_json(ReplayReport("openutau", "x.utpcap", divergences=divergences))


def ref(index: int, seconds: float) -> MessageRef:
    return MessageRef(1, index, "notification:updateUstx", seconds, 10, "…", OU)


def test_the_first_divergence_is_found_by_its_recorded_index() -> None:
    diverged = report([Divergence(DivergenceKind.MISMATCH, 1, expected=ref(2, 99.0), actual=ref(5, 1.0),
                                  diffs=(FieldDiff("ustx", "a", "b"),)),
                       Divergence(DivergenceKind.MISSING, 1, expected=ref(1, 0.5))])
    point = first_divergence(diverged)
    assert point == DivergencePoint(1, "mismatch", "notification:updateUstx", 2, 99.0)
    assert locate(records(), point) == 7 * NS
    assert locate(records(), DivergencePoint(1, "missing", "response:init", 1, None)) == 6 * NS
    assert until_ns(records(), point) == 7 * NS + round(MARGIN_S * NS)


def test_an_unexpected_arrival_is_placed_by_its_time_after_the_connection_start() -> None:
    point = first_divergence(report([Divergence(DivergenceKind.UNEXPECTED, 2, actual=ref(3, 0.5))]))
    assert point.index is None
    assert locate(records(), point) == 3 * NS + NS // 2


def test_reports_without_a_divergence_or_of_another_capture_are_refused() -> None:
    with pytest.raises(ValueError, match="no divergence"):
        first_divergence(report([]))
    with pytest.raises(ValueError, match="not a `utauproxy replay --json` report"):
        first_divergence({"verdict": "identical"})
    with pytest.raises(ValueError, match="no connection #9"):
        locate(records(), DivergencePoint(9, "missing", "x", 0, None))
