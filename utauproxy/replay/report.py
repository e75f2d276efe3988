"""The outcome of a replay: divergences, notes, timing, and the exit code (DESIGN.md §6). Pure.

Exit codes: 0 the peer behaved as recorded; 1 it diverged; 2 usage (the CLI's business);
3 the peer was unreachable or the connection was lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from utauproxy.records import Direction
from utauproxy.replay.compare import FieldDiff, preview
from utauproxy.replay.script import ScriptMessage

EXIT_IDENTICAL = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2
EXIT_PEER = 3


class DivergenceKind(StrEnum):
    MISMATCH = "mismatch"  # the expected message arrived with different content
    MISSING = "missing"  # a recorded message never arrived
    UNEXPECTED = "unexpected"  # a message arrived that the recording does not have (there)
    ORDER = "order"  # arrived in an order the protocol does not allow
    CONNECTION = "connection"  # a connection the recording does not have, or did not end so


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message in a report: where it is, what it is, and the start of its bytes."""

    conn: int
    index: int  # recorded: the script index; live: the arrival number on the connection
    label: str
    seconds: float  # since the connection's start (recorded or live)
    size: int
    preview: str
    direction: Direction

    @classmethod
    def recorded(cls, conn: int, message: ScriptMessage) -> MessageRef:
        return cls(conn, message.index, message.label, message.ts_ns / 1e9, len(message.raw),
                   preview(message.raw, 100), message.direction)

    def describe(self, recorded: bool) -> str:
        where = f"recorded #{self.index}" if recorded else f"arrival #{self.index}"
        return f"{self.label} ({where} at {self.seconds:.3f} s, {self.size} bytes)"


@dataclass(frozen=True, slots=True)
class Divergence:
    kind: DivergenceKind
    conn: int
    expected: MessageRef | None = None
    actual: MessageRef | None = None
    diffs: tuple[FieldDiff, ...] = ()
    note: str = ""

    @property
    def label(self) -> str:
        ref = self.expected or self.actual
        return ref.label if ref is not None else "(connection)"


@dataclass(frozen=True, slots=True)
class TimingStats:
    """How late messages went out against their schedule (seconds)."""

    count: int = 0
    p50: float = 0.0
    p99: float = 0.0
    worst: float = 0.0

    @classmethod
    def of(cls, errors: list[float]) -> TimingStats:
        if not errors:
            return cls()
        ordered = sorted(errors)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return cls(len(ordered), pick(0.5), pick(0.99), ordered[-1])


@dataclass(slots=True)
class ReplayReport:
    mode: str  # "plugin" or "openutau": whom we impersonated
    capture: str
    rules: list[str] = field(default_factory=list)
    connections: int = 0
    compared: int = 0  # recorded messages matched with an arrival
    expected: int = 0  # recorded messages the peer should have sent (pings excluded)
    sent: int = 0
    pings_received: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    allowed_reorders: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timing: TimingStats = field(default_factory=TimingStats)
    peer_error: str | None = None
    saved: str | None = None

    @property
    def exit_code(self) -> int:
        if self.peer_error is not None:
            return EXIT_PEER
        return EXIT_DIVERGED if self.divergences else EXIT_IDENTICAL

    @property
    def verdict(self) -> str:
        return {EXIT_IDENTICAL: "identical", EXIT_DIVERGED: "diverged", EXIT_PEER: "peer-error"}[self.exit_code]
