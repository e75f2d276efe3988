"""The passes `build` makes over a capture's records: find the capture's end, check the
original (trimmed) records, and write the redacted ones while keeping the last minutes of
the timeline. Each takes a record iterator and does one job; build.py wires them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.check import CheckOptions, CheckReport, check_records
from utauproxy.check.context import DEFAULT_PING_INTERVAL_S
from utauproxy.inspect.decode import decode_records, dialect_of
from utauproxy.inspect.fmt import plain
from utauproxy.inspect.timeline import Timeline, TimelineLine
from utauproxy.records import CaptureHeader, Record

Progress = Callable[[str], None]
PROGRESS_EVERY = 5000


def counted(records: Iterable[Record], progress: Progress | None, phase: str) -> Iterator[Record]:
    """`records`, reporting `phase: N records` every PROGRESS_EVERY records."""
    if progress is None:
        yield from records
        return
    for number, record in enumerate(records, start=1):
        if number % PROGRESS_EVERY == 0:
            progress(f"{phase}: {number} records")
        yield record


def capture_end_ns(reader: CaptureReader) -> int:
    """The time of the capture's last record: from the footer, else by a scan."""
    footer = reader.footer
    if footer is not None and footer.last_ts_ns is not None:
        return footer.last_ts_ns
    return max((record.ts_ns for record in reader.records()), default=0)


def check_options(header: CaptureHeader) -> CheckOptions:
    """The options `utauproxy check` would use on this capture: a simulated session that runs
    faster than real time declares its ping interval in the header."""
    value = header.extra.get("ping_interval_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return CheckOptions(ping_interval_s=float(value))
    return CheckOptions(ping_interval_s=DEFAULT_PING_INTERVAL_S)


def run_check(records: Iterable[Record], header: CaptureHeader) -> CheckReport:
    return check_records(records, check_options(header), header)


@dataclass(frozen=True, slots=True)
class TimelineTail:
    lines: tuple[str, ...]
    from_ns: int
    clipped: int  # lines of the span left out at the start (over the cap)


def write_with_timeline(records: Iterable[Record], writer: CaptureWriter, header: CaptureHeader,
                        from_ns: int, max_lines: int) -> TimelineTail:
    """Write every record, and render the `show` timeline of those at or after `from_ns` (at
    most the last `max_lines` lines). Payloads are validated only for the lines rendered."""
    def written() -> Iterator[Record]:
        for record in records:
            writer.write(record)
            yield record

    dialect = dialect_of(header)
    timeline = Timeline(dialect, plain)
    tail: deque[TimelineLine] = deque(maxlen=max_lines)
    in_span = 0
    for line in timeline.lines(decode_records(written(), dialect, lazy_above=0)):
        if line.ts_ns >= from_ns:
            in_span += 1
            tail.append(line)
    return TimelineTail(tuple(timeline.render(line) for line in tail), from_ns,
                        in_span - len(tail))


def copy_capture(src: Path, dst: Path, header: CaptureHeader, footer_extra: dict[str, object]) -> None:
    """Every record of `src` into a new capture `dst` with `header` (the complete one)."""
    with CaptureReader.open(src) as reader, CaptureWriter.create(dst, header) as writer:
        for record in reader.records():
            writer.write(record)
        writer.close(footer_extra)
