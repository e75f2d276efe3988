"""A ReplayReport as text for people, as JSON, and as JUnit XML for CI. Pure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from typing import Any

from utauproxy.replay.report import Divergence, DivergenceKind, ReplayReport

_SHOWN_REORDERS = 5
_ROLE = {"plugin": "OpenUtau", "openutau": "the plugin"}


def render_human(report: ReplayReport) -> str:
    """The report as a person reads it: verdict first, then each divergence with the recorded
    message it concerns, what arrived, and the differing fields."""
    peer = _ROLE.get(report.mode, "the peer")
    lines = [f"replay of {report.capture} as {report.mode}: {report.verdict.upper()}",
             f"  {report.connections} connection(s); {report.compared}/{report.expected} recorded "
             f"messages from {peer} arrived; {report.sent} sent; {report.pings_received} ping(s) ignored"]
    if report.rules:
        lines.append(f"  ignoring: {', '.join(report.rules)}")
    lines.append(f"  timing: {report.timing.count} sends, late by p50 {report.timing.p50 * 1e3:.1f} ms, "
                 f"p99 {report.timing.p99 * 1e3:.1f} ms, worst {report.timing.worst * 1e3:.1f} ms")
    if report.peer_error:
        lines.append(f"  PEER ERROR: {report.peer_error}")
    for number, divergence in enumerate(report.divergences, start=1):
        lines.extend(_divergence_lines(number, divergence))
    if report.allowed_reorders:
        lines.append(f"  {len(report.allowed_reorders)} reorder(s) the protocol allows, e.g.:")
        lines.extend(f"    {text}" for text in report.allowed_reorders[:_SHOWN_REORDERS])
    lines.extend(f"  note: {note}" for note in report.notes)
    if report.saved:
        lines.append(f"  replay session saved to {report.saved}")
    return "\n".join(lines)


def _divergence_lines(number: int, divergence: Divergence) -> list[str]:
    head = f"  [{number}] conn {divergence.conn}: {divergence.kind.value.upper()} {divergence.label}"
    lines = [head]
    if divergence.expected is not None:
        lines.append(f"      expected {divergence.expected.describe(recorded=True)}")
        if divergence.kind is not DivergenceKind.MISMATCH:
            lines.append(f"        {divergence.expected.preview}")
    if divergence.actual is not None:
        recorded = divergence.kind is DivergenceKind.ORDER
        word = "before it" if recorded else "got"
        lines.append(f"      {word} {divergence.actual.describe(recorded=recorded)}")
        if divergence.kind is DivergenceKind.UNEXPECTED:
            lines.append(f"        {divergence.actual.preview}")
    for diff in divergence.diffs:
        lines.append(f"      field {diff.path}: expected {diff.expected}, got {diff.actual}")
    if divergence.note:
        lines.append(f"      ({divergence.note})")
    return lines


def to_json(report: ReplayReport) -> dict[str, Any]:
    """The report as plain JSON data (stable keys; see docs in the replay package)."""
    data = asdict(report)
    data["verdict"] = report.verdict
    data["exit_code"] = report.exit_code
    for divergence in data["divergences"]:
        for ref in ("expected", "actual"):
            if divergence[ref] is not None:
                divergence[ref]["direction"] = divergence[ref]["direction"].label
    return data


def render_json(report: ReplayReport) -> str:
    return json.dumps(to_json(report), ensure_ascii=False, indent=2, default=str)


def render_junit(report: ReplayReport) -> str:
    """JUnit XML: one test case per connection and message kind, failing with its divergences;
    plus one for the link itself (peer errors)."""
    cases: dict[tuple[int, str], list[Divergence]] = {}
    for divergence in report.divergences:
        cases.setdefault((divergence.conn, divergence.label), []).append(divergence)
    suite = ET.Element("testsuite", name=f"utauproxy replay --as {report.mode}",
                       tests=str(len(cases) + 1 + (1 if not cases else 0)),
                       failures=str(len(cases)), errors="1" if report.peer_error else "0")
    link = ET.SubElement(suite, "testcase", classname=report.capture, name="link")
    if report.peer_error:
        ET.SubElement(link, "error", message=report.peer_error)
    if not cases:
        ET.SubElement(suite, "testcase", classname=report.capture,
                      name=f"{report.compared} recorded messages identical")
    for (conn, label), divergences in sorted(cases.items()):
        case = ET.SubElement(suite, "testcase", classname=report.capture, name=f"conn {conn} {label}")
        failure = ET.SubElement(case, "failure", message=f"{len(divergences)} divergence(s)")
        failure.text = "\n".join(line for number, d in enumerate(divergences, 1)
                                 for line in _divergence_lines(number, d))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
