"""Trimming a capture to the part that shows the bug: a time window (`--last`, `--from/--to`,
`--until-divergence`) and a set of connections (`--connection`). Pure: records in, records out.

Two passes over the records: `plan_trim` finds which connections have records in the window and
where their openings are; `TrimFilter` then streams the records through and counts what it
drops. A kept connection keeps its opening (the `open` record and the init request with its
response) even when that lies before the window, so a trimmed capture still replays: the
replayer needs the init exchange to start a connection (PROTOCOL.md §3.2, §6.5).
Discovery records, marks and notices are kept when they fall in the window, whatever the
connection filter. A line split into CONTINUED pieces is kept or dropped whole, by the time of
its first piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from utauproxy.bundle.durations import format_seconds
from utauproxy.protocol.header import HeaderType, parse_header, split_line
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    GapRecord,
    MessageFlags,
    MessageRecord,
    Record,
)

NS = 1_000_000_000


def to_ns(seconds: float) -> int:
    return round(seconds * NS)


@dataclass(frozen=True, slots=True)
class Window:
    """Capture-relative times [lo_ns, hi_ns] (hi_ns None: to the end)."""

    lo_ns: int = 0
    hi_ns: int | None = None

    def contains(self, ts_ns: int) -> bool:
        return ts_ns >= self.lo_ns and (self.hi_ns is None or ts_ns <= self.hi_ns)


@dataclass(frozen=True, slots=True)
class TrimSpec:
    """What to keep. Times are seconds from the capture start; `last_s` counts back from the
    capture's last record; `until_ns` (from `--until-divergence`) is another upper bound; an
    empty `connections` keeps every connection. Every bound given applies (intersection)."""

    last_s: float | None = None
    start_s: float | None = None
    end_s: float | None = None
    connections: frozenset[int] = frozenset()
    until_ns: int | None = None

    @property
    def trims(self) -> bool:
        return any(v is not None for v in (self.last_s, self.start_s, self.end_s, self.until_ns)) \
            or bool(self.connections)

    def window(self, capture_end_ns: int) -> Window:
        """The time window for a capture whose last record is at `capture_end_ns`."""
        lo = to_ns(self.start_s) if self.start_s is not None else 0
        if self.last_s is not None:
            lo = max(lo, capture_end_ns - to_ns(self.last_s))
        highs = [v for v in (to_ns(self.end_s) if self.end_s is not None else None, self.until_ns)
                 if v is not None]
        return Window(max(0, lo), min(highs) if highs else None)

    def selects(self, conn: int) -> bool:
        return not self.connections or conn in self.connections


@dataclass(frozen=True, slots=True)
class TrimPlan:
    """The outcome of the first pass. `openings` are the record indices kept although outside
    the window (opening records and the first pieces of opening lines)."""

    window: Window
    spec: TrimSpec
    kept_connections: frozenset[int]
    openings: frozenset[int]


@dataclass(slots=True)
class _Opening:
    indices: list[int] = field(default_factory=list)
    init_id: str | None = None
    done: bool = False


class _Lines:
    """Groups CONTINUED pieces into lines: the index and time of each piece's first piece."""

    def __init__(self) -> None:
        self._open: dict[tuple[int, Direction], tuple[int, int]] = {}

    def first_of(self, index: int, record: MessageRecord) -> tuple[int, int, bool]:
        """(first index, first ts, complete) of the line `record` belongs to."""
        side = (record.conn, record.direction)
        first = self._open.get(side, (index, record.ts_ns))
        complete = not record.flags & MessageFlags.CONTINUED
        if complete:
            self._open.pop(side, None)
        else:
            self._open[side] = first
        return first[0], first[1], complete


def needs_plan(spec: TrimSpec, capture_end_ns: int) -> bool:
    """False when the window starts at the capture's start and every connection is kept: no
    opening can lie before the window, so `keep_all_plan` does and the first pass is saved."""
    return spec.window(capture_end_ns).lo_ns > 0 or bool(spec.connections)


def keep_all_plan(spec: TrimSpec, capture_end_ns: int) -> TrimPlan:
    """The plan of a spec for which `needs_plan` is False."""
    return TrimPlan(spec.window(capture_end_ns), spec, frozenset(), frozenset())


def plan_trim(records: Iterable[Record], spec: TrimSpec, capture_end_ns: int) -> TrimPlan:
    """First pass: the connections with records in the window, and their openings."""
    window = spec.window(capture_end_ns)
    lines = _Lines()
    heads: dict[int, bytes] = {}  # first index of an open line -> its first piece's head
    openings: dict[int, _Opening] = {}
    kept: set[int] = set()
    for index, record in enumerate(records):
        if isinstance(record, ConnectionRecord | GapRecord):
            if spec.selects(record.conn) and window.contains(record.ts_ns):
                kept.add(record.conn)
            if isinstance(record, ConnectionRecord) and record.event is ConnEvent.OPEN:
                openings.setdefault(record.conn, _Opening()).indices.append(index)
            continue
        if not isinstance(record, MessageRecord):
            continue
        first, first_ts, complete = lines.first_of(index, record)
        if first == index:
            heads[first] = record.raw[:600]
        if spec.selects(record.conn) and window.contains(first_ts):
            kept.add(record.conn)
        if complete:
            _note_opening(openings.setdefault(record.conn, _Opening()), first, record.direction,
                          heads.pop(first, b""))
    chosen = {i for conn in kept for i in openings.get(conn, _Opening()).indices}
    return TrimPlan(window, spec, frozenset(kept), frozenset(chosen))


def _note_opening(opening: _Opening, first: int, direction: Direction, head: bytes) -> None:
    """The init exchange: OpenUtau's first line if it is an init request, and the plugin's
    response with the same id."""
    if opening.done:
        return
    header = parse_header(split_line(head)[0])
    if opening.init_id is None:
        if direction is not Direction.OU_TO_PLUGIN:
            return  # an early ping (PROTOCOL.md §2.2) does not end the opening
        if header.type is HeaderType.REQUEST and header.kind == "init" and header.id:
            opening.init_id = header.id
            opening.indices.append(first)
        else:
            opening.done = True
        return
    if direction is Direction.PLUGIN_TO_OU and header.type is HeaderType.RESPONSE \
            and header.id == opening.init_id:
        opening.indices.append(first)
        opening.done = True


@dataclass(frozen=True, slots=True)
class TrimResult:
    """What trimming kept and dropped. `dropped_spans` are capture-relative time ranges
    (ns) that lost records; messages count lines (a line's CONTINUED pieces count once)."""

    window: Window
    records_kept: int
    records_dropped: int
    messages_kept: int
    messages_dropped: int
    bytes_dropped: int
    opening_records: int
    dropped_spans: tuple[tuple[int, int], ...]
    connections_dropped: tuple[int, ...]
    first_kept_ns: int | None
    last_kept_ns: int | None

    @property
    def dropped_anything(self) -> bool:
        return self.records_dropped > 0

    def describe(self) -> list[str]:
        """Human lines saying what was dropped (empty when nothing was)."""
        if not self.dropped_anything:
            return []
        lines = [(f"{self.records_dropped} records dropped ({self.messages_dropped} messages, "
                  f"{self.bytes_dropped} wire bytes); {self.records_kept} records kept")]
        for start, end in self.dropped_spans:
            lines.append(f"records between {format_seconds(start / NS)} and "
                         f"{format_seconds(end / NS)} (capture time) dropped")
        if self.connections_dropped:
            listed = ", ".join(f"#{c}" for c in self.connections_dropped)
            lines.append(f"connections dropped entirely: {listed}")
        if self.opening_records:
            lines.append(f"{self.opening_records} records kept from before the window: the "
                         "opening (open, init request and response) of each kept connection")
        return lines


class TrimFilter:
    """Second pass: `apply` streams the kept records; `result()` says what was dropped."""

    def __init__(self, plan: TrimPlan) -> None:
        self._plan = plan
        self._lines = _Lines()
        self._kept = [0, 0, 0]  # records, messages, opening records
        self._dropped = [0, 0, 0]  # records, messages, bytes
        self._before: list[int] = []  # min, max ts of records dropped before the window
        self._after: list[int] = []
        self._conns_seen: set[int] = set()
        self._conns_kept: set[int] = set()
        self._first: int | None = None
        self._last: int | None = None

    def apply(self, records: Iterable[Record]) -> Iterator[Record]:
        for index, record in enumerate(records):
            if self._keeps(index, record):
                self._count_kept(index, record)
                yield record
            else:
                self._count_dropped(record)

    def _keeps(self, index: int, record: Record) -> bool:
        plan = self._plan
        if isinstance(record, MessageRecord):
            self._conns_seen.add(record.conn)
            first, first_ts, _ = self._lines.first_of(index, record)
            return (plan.spec.selects(record.conn) and plan.window.contains(first_ts)) \
                or first in plan.openings
        if isinstance(record, ConnectionRecord | GapRecord):
            self._conns_seen.add(record.conn)
            return (plan.spec.selects(record.conn) and plan.window.contains(record.ts_ns)) \
                or index in plan.openings
        return plan.window.contains(record.ts_ns)  # discovery, marks, notices

    def _count_kept(self, index: int, record: Record) -> None:
        self._kept[0] += 1
        if isinstance(record, MessageRecord) and not record.flags & MessageFlags.CONTINUED:
            self._kept[1] += 1
        if isinstance(record, MessageRecord | ConnectionRecord | GapRecord):
            self._conns_kept.add(record.conn)
        if not self._plan.window.contains(record.ts_ns):
            self._kept[2] += 1
        self._first = record.ts_ns if self._first is None else min(self._first, record.ts_ns)
        self._last = record.ts_ns if self._last is None else max(self._last, record.ts_ns)

    def _count_dropped(self, record: Record) -> None:
        self._dropped[0] += 1
        if isinstance(record, MessageRecord):
            self._dropped[2] += record.wire_len
            if not record.flags & MessageFlags.CONTINUED:
                self._dropped[1] += 1
        window, ts = self._plan.window, record.ts_ns
        side = self._before if ts < window.lo_ns else self._after if not window.contains(ts) else None
        if side is not None:
            side[:] = [min(side[0], ts), max(side[1], ts)] if side else [ts, ts]

    def result(self) -> TrimResult:
        spans = tuple((side[0], side[1]) for side in (self._before, self._after) if side)
        return TrimResult(
            window=self._plan.window,
            records_kept=self._kept[0], records_dropped=self._dropped[0],
            messages_kept=self._kept[1], messages_dropped=self._dropped[1],
            bytes_dropped=self._dropped[2], opening_records=self._kept[2],
            dropped_spans=spans,
            connections_dropped=tuple(sorted(self._conns_seen - self._conns_kept)),
            first_kept_ns=self._first, last_kept_ns=self._last)


def trim_records(records: Iterable[Record], plan: TrimPlan) -> tuple[list[Record], TrimResult]:
    """Both passes' second half at once, for small in-memory captures and tests."""
    trim = TrimFilter(plan)
    kept = list(trim.apply(records))
    return kept, trim.result()
