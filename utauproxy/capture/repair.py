"""Rebuild an interrupted or damaged capture: every readable record into a new file that has a
footer, and an account of what could not be read (docs/capture-format.md "Repairing a capture").

The source is never modified. A first pass only reads: it finds the damage and decides the
verdict, so that a clean capture costs no writing and the header of the new file can say what
was lost. A second pass writes the records to a hidden temporary file beside the destination,
which takes the destination's name only once it is complete (never replacing a file).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from utauproxy import __version__
from utauproxy.capture.chunk import META_MAX_BYTES
from utauproxy.capture.layout import (
    CHUNK_HEAD,
    CRC_END,
    FOOTER_HEAD,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    TRAILER_HEAD,
)
from utauproxy.capture.limits import DEFAULT_LIMITS
from utauproxy.capture.reader import CaptureReader, Damage
from utauproxy.capture.safecbor import load_item
from utauproxy.capture.writer import CaptureWriter
from utauproxy.errors import CaptureCorrupt, CaptureError, CaptureFormatTooNew
from utauproxy.records import CaptureHeader, MessageRecord, Record

Verdict = Literal["clean", "footer-rebuilt", "recovered-with-loss"]
TailKind = Literal["chunk", "footer", "trailer", "unknown"]
Progress = Callable[[int, int], None]
_PROGRESS_EVERY = 64  # records between progress calls
_TAIL_KINDS: tuple[tuple[bytes, TailKind], ...] = (
    (CHUNK_HEAD, "chunk"), (FOOTER_HEAD, "footer"), (TRAILER_HEAD, "trailer"))


@dataclass(frozen=True, slots=True)
class LostRegion:
    """A damaged region of the source (as CaptureReader reports it: offset, length, reason),
    and the time span its loss falls in: after the latest record salvaged before it, before
    the first record salvaged after it (None where there is no such record)."""

    offset: int
    length: int
    reason: str
    after_ts_ns: int | None
    before_ts_ns: int | None


@dataclass(frozen=True, slots=True)
class IncompleteTail:
    """The item the source ends inside: what a `kill -9` of the recorder leaves (the open
    chunk, about the last 200 ms) or a copy cut short. `records`, `first_ts_ns`, `last_ts_ns`
    come from a cut chunk's own metadata when that was written before the cut; unverified (its
    CRC covers bytes that are missing)."""

    offset: int
    length: int
    kind: TailKind  # "unknown": the file ends inside the item's tag
    records: int | None = None
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None

    @property
    def holds_records(self) -> bool:
        """False for a cut footer or trailer: those are rebuilt, not lost."""
        return self.kind in ("chunk", "unknown")


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What `repair_capture` found and did. `output` is None when nothing was written."""

    source: Path
    output: Path | None
    had_footer: bool
    records_salvaged: int
    messages_salvaged: int
    first_ts_ns: int | None
    last_ts_ns: int | None
    damage: tuple[LostRegion, ...] = ()
    tail: IncompleteTail | None = None
    # Records read but not carried over: kinds this reader does not know, or values the writer
    # cannot hold (only a hand-crafted file has them).
    records_dropped: int = 0
    footer_mismatch: str | None = None  # a valid footer that disagrees with the records

    @property
    def incomplete_tail_bytes(self) -> int:
        return self.tail.length if self.tail is not None else 0

    @property
    def lost_bytes(self) -> int:
        """Bytes of the source no record was salvaged from (each byte counted once): the
        damaged regions and a cut chunk; a cut footer or trailer is not a loss."""
        spans = [(d.offset, d.offset + d.length) for d in self.damage]
        if self.tail is not None and self.tail.holds_records:
            spans.append((self.tail.offset, self.tail.offset + self.tail.length))
        return _union_length(spans)

    @property
    def lost(self) -> bool:
        """True when anything that held records was not salvaged."""
        return self.lost_bytes > 0 or self.records_dropped > 0

    @property
    def verdict(self) -> Verdict:
        if self.lost:
            return "recovered-with-loss"
        if self.had_footer and self.tail is None and self.footer_mismatch is None:
            return "clean"
        return "footer-rebuilt"


def repair_capture(src: Path, dst: Path, *, progress: Progress | None = None) -> RepairReport:
    """Read every readable record of `src` and, unless it is clean, write them to `dst` (which
    must not exist) with a footer. `progress(done, total)` is called now and then with byte
    counts over both passes (total is twice the source's size; a clean source stops halfway).
    Raises CaptureError (or a subclass) for a file that cannot be read as a capture at all, a
    format newer than this utauproxy, an existing `dst`, or an I/O error."""
    src, dst = Path(src), Path(dst)
    with _open_reader(src) as (reader, file):
        _refuse_newer_minor(reader.header)
        if reader.footer is None:
            _refuse_existing(dst)  # certain to write: say so before the long read
        size = _file_size(file)
        survey = _survey(reader, _Tracker(file, progress, 0, size, 2 * size))
        report = survey.report(src, reader, file, size)
        if report.verdict == "clean":
            return report
        _refuse_existing(dst)
        if _file_size(file) != size:
            raise CaptureError(f"{src} is growing: stop the recorder before repairing it")
        rewrite = _Rewrite(reader, _repaired_header(reader.header, src, report), dst)
        footer_extra = dict(reader.footer.extra) if reader.footer is not None else {}
        rewrite.run(_Tracker(file, progress, size, size, 2 * size), survey, footer_extra)
    return replace(
        report,
        output=dst,
        records_salvaged=report.records_salvaged - rewrite.refused,
        messages_salvaged=report.messages_salvaged - rewrite.refused_messages,
        records_dropped=report.records_dropped + rewrite.refused,
    )


# --- pass 1: what is there and what is lost ---------------------------------------------------


@dataclass(slots=True)
class _Survey:
    records: int = 0
    messages: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    damage: list[Damage] = field(default_factory=list)
    spans: list[list[int | None]] = field(default_factory=list)  # [after, before] per damage

    def report(self, src: Path, reader: CaptureReader, file: BinaryIO, size: int) -> RepairReport:
        tail_offset = reader.incomplete_tail
        tail = _tail(file, tail_offset, size) if tail_offset is not None else None
        regions = []
        for damage, (after, before) in zip(self.damage, self.spans, strict=True):
            if tail_offset is not None and damage.offset + damage.length == size:
                if damage.offset >= tail_offset:
                    continue  # only the cut item: reported as the tail
                damage = Damage(damage.offset, tail_offset - damage.offset, damage.reason)
            regions.append(LostRegion(damage.offset, damage.length, damage.reason, after, before))
        footer = reader.footer
        mismatch = None  # worth saying only when no damage explains it
        intact = not regions and tail is None and not reader.skipped_unknown
        if footer is not None and intact and (footer.records, footer.messages) != (self.records, self.messages):
            mismatch = (f"the footer counts {footer.records} records ({footer.messages} messages), "
                        f"the file holds {self.records} ({self.messages})")
        return RepairReport(src, None, footer is not None, self.records, self.messages, self.first_ts,
                            self.last_ts, tuple(regions), tail, reader.skipped_unknown, mismatch)


def _survey(reader: CaptureReader, tracker: _Tracker) -> _Survey:
    survey = _Survey()
    for record in _noting_damage(reader, survey):
        survey.records += 1
        survey.messages += isinstance(record, MessageRecord)
        ts = record.ts_ns
        survey.first_ts = ts if survey.first_ts is None else min(survey.first_ts, ts)
        survey.last_ts = ts if survey.last_ts is None else max(survey.last_ts, ts)
        tracker.tick()
    tracker.done()
    return survey


def _noting_damage(reader: CaptureReader, survey: _Survey) -> Iterator[Record]:
    """The reader's records, noting for every damaged region the record times around it. The
    reader appends a region (or grows the last one when regions merge) before it yields the
    first record after it, so looking at its list before each record is enough."""
    last: Damage | None = None
    for record in reader.records():
        if reader.damage and reader.damage[-1] is not last:
            _note_damage(reader.damage, survey, record.ts_ns)
            last = reader.damage[-1]
        yield record
    if reader.damage and reader.damage[-1] is not last:
        _note_damage(reader.damage, survey, None)


def _note_damage(damage: list[Damage], survey: _Survey, next_ts: int | None) -> None:
    known = len(survey.damage)
    if known and damage[known - 1] is not survey.damage[-1]:
        survey.damage[-1] = damage[known - 1]  # grown by a merge: the loss now ends later
        survey.spans[-1][1] = next_ts
    for region in damage[known:]:
        survey.damage.append(region)
        survey.spans.append([survey.last_ts, next_ts])


def _tail(file: BinaryIO, offset: int, size: int) -> IncompleteTail:
    """What the item the file ends inside was, from its first bytes."""
    head = _read_at(file, offset, min(size - offset, CRC_END + META_MAX_BYTES))
    kind: TailKind = next((name for tag, name in _TAIL_KINDS if head.startswith(tag)), "unknown")
    meta = _cut_chunk_meta(head) if kind == "chunk" else None
    if meta is None:
        return IncompleteTail(offset, size - offset, kind)
    return IncompleteTail(offset, size - offset, kind, meta[3], meta[1], meta[2])


def _cut_chunk_meta(head: bytes) -> list[int] | None:
    """A cut chunk's metadata array [seq, first_ts, last_ts, count, ...], if it is all there."""
    try:
        value, _ = load_item(head, CRC_END, max_bytes=META_MAX_BYTES, max_depth=DEFAULT_LIMITS.max_depth)
    except CaptureCorrupt:
        return None
    if not isinstance(value, list) or len(value) < 6:
        return None
    fields = value[:6]
    return fields if all(isinstance(v, int) and not isinstance(v, bool) for v in fields) else None


# --- pass 2: the new file ---------------------------------------------------------------------


class _Rewrite:
    """Writes the records to a hidden temporary file beside `dst`; `dst` appears only when
    that file is complete, and is never replaced."""

    def __init__(self, reader: CaptureReader, header: CaptureHeader, dst: Path) -> None:
        self._reader = reader
        self._header = header
        self._dst = dst
        self._tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.partial")
        self.refused = 0
        self.refused_messages = 0

    def run(self, tracker: _Tracker, survey: _Survey, footer_extra: dict[str, Any]) -> None:
        try:
            writer = CaptureWriter.create(self._tmp, self._header)
        except (TypeError, ValueError) as exc:
            raise CaptureError(f"cannot write the header of {self._dst}: {exc}") from exc
        try:
            with writer:
                read = self._copy(writer, tracker)
                _close(writer, footer_extra)
            if read != survey.records or len(self._reader.damage) != len(survey.damage):
                raise CaptureError("the capture changed while it was being repaired; try again")
            _publish(self._tmp, self._dst)
        finally:
            _remove_quietly(self._tmp)

    def _copy(self, writer: CaptureWriter, tracker: _Tracker) -> int:
        read = 0
        for record in self._reader.records():
            read += 1
            try:
                writer.write(record)
            except (TypeError, ValueError):  # a value only a hand-crafted file holds
                self.refused += 1
                self.refused_messages += isinstance(record, MessageRecord)
            tracker.tick()
        tracker.done()
        return read


def _close(writer: CaptureWriter, footer_extra: dict[str, Any]) -> None:
    try:
        writer.close(footer_extra)
    except (TypeError, ValueError):  # the old footer's extra cannot be written back
        writer.close({})


def _publish(tmp: Path, dst: Path) -> None:
    """Give the complete file at `tmp` the name `dst`, failing if `dst` exists (a hard link
    does that atomically; where links are not supported, check then rename)."""
    try:
        os.link(tmp, dst)
        return
    except FileExistsError:
        raise CaptureError(_exists(dst)) from None
    except OSError:
        pass
    if os.path.lexists(dst):
        raise CaptureError(_exists(dst))
    try:
        os.rename(tmp, dst)
    except OSError as exc:
        raise CaptureError(f"cannot create {dst}: {exc}") from exc


def _repaired_header(header: CaptureHeader, src: Path, report: RepairReport) -> CaptureHeader:
    note: dict[str, Any] = {
        "source": src.name,
        "verdict": report.verdict,
        "records": report.records_salvaged,
        "lost_bytes": report.lost_bytes,
        "damaged_regions": len(report.damage),
        "incomplete_tail_bytes": report.incomplete_tail_bytes,
        "by": f"utauproxy {__version__}",
        "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    previous = header.extra.get("repaired")
    if isinstance(previous, dict):  # repaired before: keep the last one (not the whole chain)
        note["previous"] = {key: value for key, value in previous.items() if key != "previous"}
    return replace(header, extra={**header.extra, "repaired": note})


# --- files ------------------------------------------------------------------------------------


@contextmanager
def _open_reader(src: Path) -> Iterator[tuple[CaptureReader, BinaryIO]]:
    """A reader on a file we keep a handle to (for its size and the progress position)."""
    try:
        file = open(src, "rb")  # noqa: SIM115 - the reader owns it
    except OSError as exc:
        raise CaptureError(f"cannot open {os.fspath(src)!r}: {exc}") from exc
    try:
        reader = CaptureReader(file)
    except BaseException:
        file.close()
        raise
    with reader:
        yield reader, file


def _refuse_newer_minor(header: CaptureHeader) -> None:
    # Rewriting drops what this reader skips (record kinds, keys of a later minor).
    if (header.format_major, header.format_minor) > (FORMAT_MAJOR, FORMAT_MINOR):
        raise CaptureFormatTooNew(
            f"written by a newer utauproxy (format {header.format_major}.{header.format_minor}); "
            "repair it with that version or later, which knows everything in it"
        )


def _refuse_existing(dst: Path) -> None:
    if os.path.lexists(dst):
        raise CaptureError(_exists(dst))


def _exists(dst: Path) -> str:
    return f"refusing to overwrite {os.fspath(dst)!r}: it exists (choose another output with -o)"


def _file_size(file: BinaryIO) -> int:
    try:
        return os.fstat(file.fileno()).st_size
    except (OSError, ValueError) as exc:
        raise CaptureError(f"cannot read the capture: {exc}") from exc


def _read_at(file: BinaryIO, offset: int, size: int) -> bytes:
    try:
        file.seek(offset)
        return file.read(size)
    except (OSError, ValueError) as exc:
        raise CaptureError(f"cannot read the capture: {exc}") from exc


def _remove_quietly(path: Path) -> None:
    with suppress(OSError):  # gone already (published by rename), or a harmless hidden leftover
        os.unlink(path)


class _Tracker:
    """Calls `progress(done, total)` every few records with the position in the source."""

    def __init__(self, file: BinaryIO, progress: Progress | None, base: int, size: int, total: int) -> None:
        self._file = file
        self._progress = progress
        self._base = base
        self._size = size
        self._total = total
        self._count = 0

    def tick(self) -> None:
        self._count += 1
        if self._progress is None or self._count % _PROGRESS_EVERY:
            return
        try:
            position = min(self._file.tell(), self._size)
        except (OSError, ValueError):
            return
        self._progress(self._base + position, self._total)

    def done(self) -> None:
        if self._progress is not None:
            self._progress(self._base + self._size, self._total)


def _union_length(spans: list[tuple[int, int]]) -> int:
    total, reached = 0, 0
    for start, end in sorted(spans):
        start = max(start, reached)
        if end > start:
            total += end - start
            reached = end
    return total
