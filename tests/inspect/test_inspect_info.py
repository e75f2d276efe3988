"""`utauproxy info`: golden screens, footer-only reading (proved by corrupting the records),
the scan fallback for a file without a footer, latency percentiles."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from inspect_captures import MS, fixed_header, p6_session, read_back, showcase_session, v1_2_session, write_capture
from inspect_golden import assert_golden
from inspect_real_wire import real_wire_records
from utauproxy.capture import CaptureReader
from utauproxy.cli.info import info, read_info
from utauproxy.inspect.fmt import human_bytes
from utauproxy.inspect.info import render_info
from utauproxy.inspect.latency import LatencyRecorder, percentile
from utauproxy.records import MessageRecord

FIXED_SIZE = 10_000  # golden screens do not depend on the capture codec's exact output size


def _screen(path: Path, *, scan: bool = False) -> str:
    data = replace(read_info(path, scan=scan), file_bytes=FIXED_SIZE)
    return "\n".join(render_info(data)) + "\n"


def _info(*args: str | Path) -> str:
    result = CliRunner().invoke(info, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _corrupt_middle(path: Path) -> None:
    with CaptureReader.open(path) as reader:
        assert reader.footer is not None and len(reader.footer.chunks) >= 3
        offset = reader.footer.chunks[1].offset
    data = bytearray(path.read_bytes())
    data[offset + 8 : offset + 40] = b"\xde\xad" * 16
    path.write_bytes(bytes(data))


def test_golden_from_footer(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "showcase.utpcap", showcase_session())
    assert_golden("info_showcase.txt", _screen(path))


def test_golden_scan(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "showcase.utpcap", showcase_session())
    assert_golden("info_showcase_scan.txt", _screen(path, scan=True))


def test_golden_v1_2_and_real_wire(tmp_path: Path) -> None:
    assert_golden("info_v1_2.txt", _screen(write_capture(tmp_path / "v12.utpcap", v1_2_session())))
    assert_golden("info_real_wire_scan.txt",
                  _screen(write_capture(tmp_path / "real.utpcap", real_wire_records()), scan=True))


def test_golden_without_footer(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "cut.utpcap", p6_session(), close=False)
    text = _screen(path)
    assert "no footer" in text and "scanned" in text
    assert_golden("info_no_footer.txt", text)


def test_footer_only_reading_survives_a_corrupted_middle(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "p6.utpcap", p6_session())
    before = _info(path)
    _corrupt_middle(path)
    assert _info(path) == before  # not a single record was read
    scanned = _info(path, "--scan")
    assert "damage" in scanned and "unreadable" in scanned


def test_compression_line_uses_the_real_file_size(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "p6.utpcap", p6_session())
    size = path.stat().st_size
    (line,) = [l for l in _info(path).splitlines() if l.startswith("compression")]
    wire = sum(r.wire_len for r in p6_session() if isinstance(r, MessageRecord))
    assert f"{human_bytes(wire)} on the wire, {human_bytes(size)} on disk" in line
    assert f"ratio {wire / size:.1f}:1" in line


def test_latency_needs_a_scan_unless_the_footer_has_it(tmp_path: Path) -> None:
    plain = write_capture(tmp_path / "plain.utpcap", p6_session())
    assert "n/a (needs a scan: --scan)" in _info(plain)
    scanned = _info(plain, "--scan")
    assert "init" in scanned and "2.0 ms" in scanned
    recorder = LatencyRecorder()
    for record in p6_session():
        if isinstance(record, MessageRecord):
            recorder.observe(record)
    with_extra = write_capture(tmp_path / "extra.utpcap", p6_session(), extra={"latency": recorder.summary()})
    from_footer = _info(with_extra)
    assert "needs a scan" not in from_footer
    assert [l.split() for l in from_footer.splitlines() if "updatePartLayout" in l and "ms" in l] == [
        ["updatePartLayout", "2", "2.0", "ms", "2.0", "ms"]]


def test_json_output(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "v12.utpcap", v1_2_session(), fixed_header(note="v1.2 run"))
    data = json.loads(_info(path, "--json"))
    assert data["source"] == "footer" and data["footer"] is True
    assert data["protocol"]["version"] == "v1.2"
    assert data["by_kind"]["audio"]["count"] == 2
    assert data["latency"] is None
    scanned = json.loads(_info(path, "--json", "--scan"))
    assert scanned["latency"]["updatePartLayout"]["p50_ns"] == 2 * MS
    assert scanned["messages"] == data["messages"] and scanned["wire_bytes"] == data["wire_bytes"]


def test_scan_and_footer_agree(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "showcase.utpcap", showcase_session())
    footer = json.loads(_info(path, "--json"))
    scanned = json.loads(_info(path, "--json", "--scan"))
    for key in ("records", "messages", "wire_bytes", "first_ts_ns", "last_ts_ns", "connections",
                "by_kind", "by_direction", "by_type", "lost"):
        assert footer[key] == scanned[key], key
    header, records = read_back(path)
    assert footer["records"] == len(records)


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99
    assert percentile([7], 0.99) == 7
