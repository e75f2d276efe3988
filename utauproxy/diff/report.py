"""The result of a diff: counts first, then protocol changes, grouped differences and the
messages only one side has. Rendered as text for people and as JSON for tools. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from utauproxy.diff.audio import AudioVerdict
from utauproxy.diff.findings import Finding
from utauproxy.diff.profile import ProtocolChange
from utauproxy.records import Direction


@dataclass(frozen=True, slots=True)
class Where:
    """One place a difference was seen: the aligned messages (record indexes and times since
    their connection opened); a side is None when the difference concerns one side only."""

    label: str
    direction: Direction
    conn_a: int | None
    conn_b: int | None
    index_a: int | None
    index_b: int | None
    ts_a: float | None
    ts_b: float | None

    def render(self) -> str:
        conn = self.conn_a if self.conn_a == self.conn_b else f"{self.conn_a}/{self.conn_b}"
        return (f"conn {conn} {self.direction.label} {self.label}, "
                f"A{_at(self.index_a, self.ts_a)} / B{_at(self.index_b, self.ts_b)}")

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "direction": self.direction.label, "conn_a": self.conn_a,
                "conn_b": self.conn_b, "index_a": self.index_a, "index_b": self.index_b,
                "ts_a": self.ts_a, "ts_b": self.ts_b}


def _at(index: int | None, ts: float | None) -> str:
    if index is None:
        return " (none)"
    return f"#{index}" + (f" ({ts:.3f} s)" if ts is not None else "")


@dataclass(slots=True)
class Difference:
    """One finding, with every place it was seen."""

    subject: str
    a: str
    b: str
    note: str
    rule: str | None
    path: str
    count: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    examples: list[Where] = field(default_factory=list)
    audio: AudioVerdict | None = None

    def headline(self) -> str:
        values = f": {self.a} → {self.b}" if (self.a or self.b) else ""
        verdict = self.audio.text if self.audio is not None else self.note
        rule = f" [strict {self.rule}]" if self.rule else ""
        return f"{self.subject}{values}{f' ({verdict})' if verdict else ''}{rule}"

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "a": self.a, "b": self.b, "note": self.note,
                "rule": self.rule, "path": self.path, "count": self.count,
                "seen_in": dict(self.labels), "examples": [w.as_dict() for w in self.examples],
                "audio": self.audio.as_dict() if self.audio is not None else None}


@dataclass(slots=True)
class OneSided:
    """Messages of one kind that only one capture has, on one connection and direction."""

    side: str  # "A" or "B"
    conn: int | None
    direction: Direction
    label: str
    count: int = 0
    examples: list[tuple[int, float]] = field(default_factory=list)  # (record index, seconds)

    def render(self) -> str:
        shown = ", ".join(f"#{index} ({ts:.3f} s)" for index, ts in self.examples)
        more = ", …" if self.count > len(self.examples) else ""
        return f"conn {self.conn} {self.direction.label} {self.label} ×{self.count}: {shown}{more}"

    def as_dict(self) -> dict[str, Any]:
        return {"side": self.side, "conn": self.conn, "direction": self.direction.label,
                "label": self.label, "count": self.count,
                "examples": [{"index": i, "ts": t} for i, t in self.examples]}


@dataclass(frozen=True, slots=True)
class Side:
    """What the report says about one capture."""

    name: str
    messages: int
    connections: int
    version: str
    damaged_bytes: int = 0

    def render(self) -> str:
        conns = f"{self.connections} connection" + ("" if self.connections == 1 else "s")
        damage = f", {self.damaged_bytes} damaged bytes skipped" if self.damaged_bytes else ""
        return f"{self.name}: {self.messages} messages on {conns}, protocol {self.version}{damage}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "messages": self.messages, "connections": self.connections,
                "version": self.version, "damaged_bytes": self.damaged_bytes}


@dataclass(slots=True)
class DiffReport:
    a: Side
    b: Side
    identical: int = 0
    changed: int = 0
    only_a: int = 0
    only_b: int = 0
    protocol: list[ProtocolChange] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    one_sided: list[OneSided] = field(default_factory=list)
    noise: Counter[str] = field(default_factory=Counter)
    strict: tuple[str, ...] = ()
    ignored_paths: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        return not (self.changed or self.only_a or self.only_b or self.protocol or self.differences)

    def summary_line(self) -> str:
        text = (f"{self.identical} identical, {self.changed} changed, {self.only_a} only in A, "
                f"{self.only_b} only in B")
        if self.a.version != self.b.version:
            text += f"; protocol {self.a.version} → {self.b.version}"
        if self.protocol:
            text += f" ({len(self.protocol)} protocol change{'' if len(self.protocol) == 1 else 's'})"
        return text

    def render(self) -> str:
        lines = [f"A  {self.a.render()}", f"B  {self.b.render()}",
                 f"Summary: {self.summary_line()}",
                 f"Verdict: {'equivalent' if self.equivalent else 'different'}"]
        if self.noise:
            ignored = ", ".join(f"{rule} ×{n}" for rule, n in sorted(self.noise.items()))
            lines.append(f"Noise ignored: {ignored}")
        if self.protocol:
            lines += ["", f"Protocol changes ({self.a.version} → {self.b.version}):"]
            lines += [f"  {change.render()}" for change in self.protocol]
        if self.differences:
            lines += ["", f"Differences ({len(self.differences)}):"]
            for difference in self.differences:
                lines.append(f"  {difference.headline()}")
                seen = ", ".join(f"{label} ×{n}" for label, n in difference.labels.most_common())
                lines.append(f"      seen {difference.count}× in {seen}; path {difference.path}")
                if difference.examples:
                    lines.append(f"      first: {difference.examples[0].render()}")
        for side in ("A", "B"):
            entries = [o for o in self.one_sided if o.side == side]
            if entries:
                lines += ["", f"Only in {side} ({sum(o.count for o in entries)}):"]
                lines += [f"  {entry.render()}" for entry in entries]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "equivalent": self.equivalent,
            "a": self.a.as_dict(), "b": self.b.as_dict(),
            "summary": {"identical": self.identical, "changed": self.changed,
                        "only_a": self.only_a, "only_b": self.only_b},
            "protocol": {"a": self.a.version, "b": self.b.version,
                         "changes": [change.as_dict() for change in self.protocol]},
            "differences": [d.as_dict() for d in self.differences],
            "only": [o.as_dict() for o in self.one_sided],
            "noise_ignored": dict(self.noise),
            "strict": list(self.strict),
            "ignored_paths": list(self.ignored_paths),
        }


def group_key(finding: Finding, label: str) -> tuple[Any, ...]:
    """Findings with the same key are one Difference: the same change wherever it was seen.
    Audio differences are one per pair of hashes; strict-noise findings one per kind of
    message (their values differ every time: ids, times)."""
    if finding.audio is not None:
        return ("audio", finding.audio)
    if finding.rule is not None:
        return ("noise", finding.rule, finding.subject, label)
    return ("value", finding.subject, finding.a, finding.b, finding.note)
