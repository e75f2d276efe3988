"""repair_capture: what survives is exactly the intact chunks' records, the new file has a
footer that matches them, and what was lost is reported where it was."""

from __future__ import annotations

import hashlib
import io
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from capture_helpers import craft_header, header, load_golden_script, read_bytes

from utauproxy.capture import CaptureReader, CaptureWriter
from utauproxy.capture.footer import parse_trailer
from utauproxy.capture.layout import FORMAT_MINOR, TRAILER_SIZE
from utauproxy.capture.repair import RepairReport, repair_capture
from utauproxy.errors import CaptureCorrupt, CaptureError, CaptureFormatTooNew
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    Direction,
    MarkRecord,
    MessageRecord,
    Record,
)

MS = 1_000_000
_PROJECT = random.Random(5).randbytes(1500)


def sample_records() -> list[Record]:
    """Two connections, each with a project resent on every step (keys, deltas, base copies
    across chunks) and a small message; times only grow, so spans can be checked exactly."""
    records: list[Record] = [ConnectionRecord(1, 1, ConnEvent.OPEN), ConnectionRecord(2, 2, ConnEvent.OPEN)]
    for step in range(12):
        ts = 10 * MS + step * 60 * MS
        for conn in (1, 2):
            edited = bytearray(_PROJECT)
            edited[step * 11 + conn] ^= 0xFF
            raw = b"notification:updateUstx " + bytes(edited)
            records.append(MessageRecord(ts + conn, conn, Direction.OU_TO_PLUGIN, raw))
            records.append(MessageRecord(ts + conn + 5, conn, Direction.PLUGIN_TO_OU, b"notification:ping {}"))
        if step == 6:
            records.append(MarkRecord(ts + 20, "the bug"))
    last = records[-1].ts_ns
    records += [ConnectionRecord(last + 1, 1, ConnEvent.CLOSED), ConnectionRecord(last + 2, 2, ConnEvent.CLOSED)]
    return records


RECORDS = sample_records()


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    first: int  # index into RECORDS of its first record
    count: int


def write_sample(path: Path, extra: dict[str, object] | None = None) -> bytes:
    with CaptureWriter.create(path, header(note="repair sample"), chunk_max_age_ns=100 * MS) as writer:
        for record in RECORDS:
            writer.write(record)
        writer.close(extra)
    return path.read_bytes()


def chunks_of(data: bytes) -> tuple[list[Chunk], int]:
    """Every chunk (from the footer's index) and the footer's offset."""
    reader = CaptureReader(io.BytesIO(data))
    assert reader.footer is not None
    footer_offset = parse_trailer(data[-TRAILER_SIZE:])
    entries = reader.footer.chunks
    ends = [entry.offset for entry in entries[1:]] + [footer_offset]
    chunks, first = [], 0
    for entry, end in zip(entries, ends, strict=True):
        chunks.append(Chunk(entry.offset, end, first, entry.count))
        first += entry.count
    return chunks, footer_offset


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.utpcap")


def survivors(chunks: list[Chunk], lost: set[int]) -> list[Record]:
    return [r for i, c in enumerate(chunks) if i not in lost for r in RECORDS[c.first : c.first + c.count]]


def repair_bytes(tmp_path: Path, data: bytes, name: str = "in.utpcap") -> tuple[RepairReport, Path]:
    src = tmp_path / name
    src.write_bytes(data)
    dst = tmp_path / f"{name}.out"
    return repair_capture(src, dst), dst


def assert_repaired(dst: Path, expected: list[Record], report: RepairReport) -> None:
    """The new file reads back whole, with a footer that counts exactly its records."""
    with CaptureReader.open(dst) as reader:
        records = list(reader.records())
        assert reader.damage == [] and reader.footer is not None
        assert (reader.footer.records, reader.footer.messages) == (
            len(records), sum(isinstance(r, MessageRecord) for r in records))
        repaired = reader.header.extra["repaired"]
        footer_extra = reader.footer.extra
    assert records == expected
    assert report.records_salvaged == len(expected)
    assert report.messages_salvaged == sum(isinstance(r, MessageRecord) for r in expected)
    assert repaired["lost_bytes"] == report.lost_bytes and repaired["verdict"] == report.verdict
    assert repaired["damaged_regions"] == len(report.damage) and repaired["source"] == report.source.name
    assert isinstance(footer_extra, dict)


def test_the_sample_has_what_the_tests_need(sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    assert len(chunks) >= 6
    assert sum(c.count for c in chunks) == len(RECORDS)
    layout = load_golden_script().record_type_layout(sample)  # record type codes per chunk
    # Keys in the first chunk, their copies in the second, deltas against them everywhere.
    assert 6 in layout[0] and 8 in layout[1] and all(7 in types for types in layout[1:]), layout


def test_a_clean_capture_is_left_alone(tmp_path: Path, sample: bytes) -> None:
    report, dst = repair_bytes(tmp_path, sample)
    assert report.verdict == "clean" and not report.lost and report.output is None
    assert report.records_salvaged == len(RECORDS) and report.had_footer
    assert not dst.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.utpcap"]  # no temporary left


def test_cut_at_every_chunk_boundary_loses_nothing(tmp_path: Path, sample: bytes) -> None:
    chunks, footer_offset = chunks_of(sample)
    for n, cut in enumerate([c.start for c in chunks] + [footer_offset]):
        report, dst = repair_bytes(tmp_path, sample[:cut], f"b{n}.utpcap")
        assert report.verdict == "footer-rebuilt", cut
        assert not report.had_footer and report.tail is None and report.damage == ()
        assert_repaired(dst, RECORDS[: sum(c.count for c in chunks[:n])], report)


def _inside_offsets(chunk: Chunk) -> list[int]:
    """Cuts inside a chunk: in its tag, CRC, metadata, data and at its last byte."""
    size = chunk.end - chunk.start
    near = [1, 2, 4, 5, 6, 7, 10, 11, 12, 15, 20, 30]
    spread = [size * k // 7 for k in range(1, 7)]
    return sorted({chunk.start + d for d in [*near, *spread, size - 1] if 0 < d < size})


def test_cut_inside_any_chunk_loses_exactly_that_chunk(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    for chunk in chunks:
        for cut in _inside_offsets(chunk):
            report, dst = repair_bytes(tmp_path, sample[:cut], f"c{cut}.utpcap")
            assert report.verdict == "recovered-with-loss" and report.lost, cut
            assert report.damage == (), cut
            tail = report.tail
            assert tail is not None and (tail.offset, tail.length) == (chunk.start, cut - chunk.start)
            assert tail.kind == ("chunk" if cut - chunk.start >= 5 else "unknown")
            assert report.incomplete_tail_bytes == report.lost_bytes == cut - chunk.start
            assert_repaired(dst, RECORDS[: chunk.first], report)
            if tail.records is not None:  # the cut chunk's metadata was there before the cut
                assert tail.records == chunk.count and tail.first_ts_ns == RECORDS[chunk.first].ts_ns


def test_a_cut_footer_or_trailer_costs_no_record(tmp_path: Path, sample: bytes) -> None:
    _, footer_offset = chunks_of(sample)
    trailer = len(sample) - TRAILER_SIZE
    for cut in [footer_offset + 5, footer_offset + 40, trailer, trailer + 5, trailer + 20, len(sample) - 1]:
        report, dst = repair_bytes(tmp_path, sample[:cut], f"f{cut}.utpcap")
        assert report.verdict == "footer-rebuilt" and not report.lost, cut
        if cut == trailer:
            assert report.tail is None  # the footer is whole; only the trailer is missing
        else:
            assert report.tail is not None and report.tail.kind == ("footer" if cut < trailer else "trailer")
        assert_repaired(dst, RECORDS, report)


@pytest.mark.parametrize("how", ["flip", "zeros"])
@pytest.mark.parametrize("damaged", [(0,), (3,), (1, 4), (-1,)])
def test_damaged_chunks_cost_exactly_their_records(tmp_path: Path, sample: bytes, how: str,
                                                   damaged: tuple[int, ...]) -> None:
    chunks, _ = chunks_of(sample)
    lost = {i % len(chunks) for i in damaged}
    data = bytearray(sample)
    for i in lost:
        chunk = chunks[i]
        if how == "flip":
            data[(chunk.start + chunk.end) // 2] ^= 0x20
        else:
            data[chunk.start : chunk.end] = bytes(chunk.end - chunk.start)
    before = hashlib.sha256(data).digest()
    report, dst = repair_bytes(tmp_path, bytes(data))
    assert hashlib.sha256((tmp_path / "in.utpcap").read_bytes()).digest() == before  # source untouched
    assert report.verdict == "recovered-with-loss" and report.had_footer and report.tail is None
    expected_regions = [(chunks[i].start, chunks[i].end - chunks[i].start) for i in sorted(lost)]
    assert [(d.offset, d.length) for d in report.damage] == expected_regions
    assert report.lost_bytes == sum(length for _, length in expected_regions)
    for region, i in zip(report.damage, sorted(lost), strict=True):
        chunk = chunks[i]
        after = RECORDS[chunk.first - 1].ts_ns if chunk.first else None
        following = chunk.first + chunk.count
        before_ts = RECORDS[following].ts_ns if following < len(RECORDS) else None
        assert (region.after_ts_ns, region.before_ts_ns) == (after, before_ts)
    assert_repaired(dst, survivors(chunks, lost), report)
    again, again_dst = repair_capture(dst, tmp_path / "again.utpcap"), tmp_path / "again.utpcap"
    assert again.verdict == "clean" and not again_dst.exists()


def test_damage_just_before_a_cut_chunk_is_told_apart_from_the_cut(tmp_path: Path, sample: bytes) -> None:
    """The reader merges the two adjacent regions; repair still says which is which. (A cut
    in the first 3 bytes of the tag right after damage reads as more damage: too short to
    tell from garbage.)"""
    chunks, _ = chunks_of(sample)
    damaged, cut_chunk = chunks[-2], chunks[-1]
    for cut in (cut_chunk.start + 4, cut_chunk.start + 5, cut_chunk.start + 30):
        data = bytearray(sample[:cut])
        data[damaged.start + 40] ^= 0x01
        report, dst = repair_bytes(tmp_path, bytes(data), f"m{cut}.utpcap")
        assert [(d.offset, d.length) for d in report.damage] == [(damaged.start, damaged.end - damaged.start)]
        assert report.tail is not None and (report.tail.offset, report.tail.length) == (
            cut_chunk.start, cut - cut_chunk.start)
        assert report.damage[0].before_ts_ns is None  # nothing was salvaged after it
        assert report.lost_bytes == cut - damaged.start
        assert_repaired(dst, survivors(chunks[:-1], {len(chunks) - 2}), report)


def test_a_damaged_footer_is_rebuilt_and_its_extra_is_kept_when_readable(tmp_path: Path) -> None:
    data = write_sample(tmp_path / "x.utpcap", {"latency": {"init": [1, 2]}})
    chunks, footer_offset = chunks_of(data)
    broken = bytearray(data)
    broken[footer_offset + 30] ^= 0x10
    report, dst = repair_bytes(tmp_path, bytes(broken), "footer.utpcap")
    assert report.verdict == "footer-rebuilt" and not report.had_footer and report.damage == ()
    assert_repaired(dst, RECORDS, report)

    flipped = bytearray(data)
    flipped[chunks[2].start + 50] ^= 0x10
    report, dst = repair_bytes(tmp_path, bytes(flipped), "chunk.utpcap")
    with CaptureReader.open(dst) as reader:
        assert reader.footer is not None and reader.footer.extra == {"latency": {"init": [1, 2]}}
        assert reader.header.note == "repair sample"


def test_repairing_again_keeps_the_previous_repair_note(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    first, dst = repair_bytes(tmp_path, sample[: chunks[-1].start + 9], "one.utpcap")
    damaged = bytearray(dst.read_bytes())
    damaged[len(damaged) // 3] ^= 0x40
    second, dst2 = repair_bytes(tmp_path, bytes(damaged), "two.utpcap")
    assert second.verdict == "recovered-with-loss"
    with CaptureReader.open(dst2) as reader:
        note = reader.header.extra["repaired"]
    assert note["source"] == "two.utpcap" and note["previous"]["source"] == "one.utpcap"
    assert first.records_salvaged > second.records_salvaged


def test_progress_reaches_the_end_and_never_goes_back(tmp_path: Path, sample: bytes) -> None:
    src = tmp_path / "in.utpcap"
    src.write_bytes(sample[: len(sample) // 2])
    calls: list[tuple[int, int]] = []
    repair_capture(src, tmp_path / "out.utpcap", progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == 2 * src.stat().st_size
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))


def test_an_existing_output_is_never_touched(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    dst = tmp_path / "out.utpcap"
    dst.write_bytes(b"precious")
    interrupted, damaged = tmp_path / "cut.utpcap", tmp_path / "damaged.utpcap"
    interrupted.write_bytes(sample[: chunks[2].start])
    flipped = bytearray(sample)
    flipped[chunks[1].start + 30] ^= 1
    damaged.write_bytes(bytes(flipped))
    for src in (interrupted, damaged):  # refused before reading, and after the first pass
        with pytest.raises(CaptureError, match="refusing to overwrite"):
            repair_capture(src, dst)
        assert dst.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.utpcap", "damaged.utpcap", "out.utpcap"]
    assert repair_capture(tmp_path / "cut.utpcap", dst.with_name("fresh.utpcap")).output is not None


def test_files_that_are_not_repairable_captures_raise_capture_errors(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    header_end = chunks[0].start
    cases: dict[str, tuple[bytes, type[CaptureError]]] = {
        "empty": (b"", CaptureCorrupt),
        "text": (b"this is not a capture\n" * 20, CaptureCorrupt),
        "random": (random.Random(1).randbytes(4000), CaptureCorrupt),
        "cut header": (sample[: header_end - 3], CaptureCorrupt),
        "newer major": (craft_header({"format_major": 2}) + sample[header_end:], CaptureFormatTooNew),
        "newer minor": (craft_header({"format_minor": FORMAT_MINOR + 1}) + sample[header_end:], CaptureFormatTooNew),
    }
    for name, (data, error) in cases.items():
        src = tmp_path / f"{name}.utpcap"
        src.write_bytes(data)
        with pytest.raises(error):
            repair_capture(src, tmp_path / f"{name}.out")
        assert not (tmp_path / f"{name}.out").exists(), name
    with pytest.raises(CaptureError):
        repair_capture(tmp_path / "missing.utpcap", tmp_path / "missing.out")
    with pytest.raises(CaptureError):  # the output's folder does not exist
        repair_capture(tmp_path / "text.utpcap", tmp_path / "no" / "such" / "dir.utpcap")


def test_garbage_after_the_last_chunk_is_damage_not_a_cut(tmp_path: Path, sample: bytes) -> None:
    _, footer_offset = chunks_of(sample)
    report, dst = repair_bytes(tmp_path, sample[:footer_offset] + b"\x00garbage" * 4)
    assert report.tail is None and [(d.offset, d.length) for d in report.damage] == [(footer_offset, 32)]
    assert report.verdict == "recovered-with-loss"
    assert_repaired(dst, RECORDS, report)


def test_the_reader_tells_a_cut_from_damage(sample: bytes) -> None:
    """The reader's `incomplete_tail` (used by repair): set for a cut item only."""
    chunks, _ = chunks_of(sample)
    last = chunks[-1]
    for cut in (last.start + 1, last.start + 4, last.start + 5, last.start + 50):
        _, reader = read_bytes(sample[:cut])
        assert reader.incomplete_tail == last.start
        assert [(d.offset, d.offset + d.length) for d in reader.damage] == [(last.start, cut)]
    _, reader = read_bytes(sample[: last.start])
    assert reader.incomplete_tail is None and reader.damage == []
    flipped = bytearray(sample)
    flipped[last.start + 30] ^= 4
    _, reader = read_bytes(bytes(flipped))
    assert reader.incomplete_tail is None and len(reader.damage) == 1


def test_any_mutation_gives_a_capture_error_or_a_consistent_repair(tmp_path: Path, sample: bytes) -> None:
    """Random flips, cuts and insertions: repair raises only CaptureError, salvages what a
    reader reads, and its output is clean."""
    rng = random.Random(2026)
    for case in range(150):
        data = bytearray(sample)
        for _ in range(rng.randint(1, 4)):
            kind, at = rng.choice(("flip", "cut", "insert", "zeros")), rng.randrange(len(data) + 1)
            if kind == "flip" and at < len(data):
                data[at] ^= rng.randint(1, 255)
            elif kind == "cut":
                del data[max(at, 16) :]
            elif kind == "insert":
                data[at:at] = rng.randbytes(rng.randint(1, 9))
            else:
                data[at : at + 64] = bytes(len(data[at : at + 64]))
        src = tmp_path / f"m{case}.utpcap"
        src.write_bytes(bytes(data))
        try:
            report = repair_capture(src, tmp_path / f"m{case}.out")
        except CaptureError:
            continue
        expected, _ = read_bytes(bytes(data))
        assert report.records_salvaged + report.records_dropped == len(expected), case
        if report.output is None:
            assert report.verdict == "clean"
            continue
        assert_repaired(report.output, expected, report)
        assert repair_capture(report.output, tmp_path / f"m{case}.again").verdict == "clean", case
