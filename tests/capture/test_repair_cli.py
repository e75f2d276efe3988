"""`utauproxy repair`: exit codes 0 / 3 / 1, what it prints, and that it never overwrites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from capture_helpers import craft_header
from click.testing import CliRunner, Result
from test_repair import RECORDS, chunks_of, write_sample

from utauproxy.capture import CaptureReader
from utauproxy.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["repair", *args])


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample.utpcap")


def test_a_clean_capture_exits_0_and_writes_nothing(tmp_path: Path, sample: bytes) -> None:
    src = tmp_path / "rec.utpcap"
    src.write_bytes(sample)
    result = run(str(src))
    assert result.exit_code == 0, result.output
    assert "clean" in result.stdout and "nothing written" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.utpcap"]


def test_an_interrupted_capture_at_a_chunk_boundary_gets_a_footer_and_exits_0(tmp_path: Path,
                                                                             sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    src = tmp_path / "rec.utpcap"
    src.write_bytes(sample[: chunks[4].start])
    result = run(str(src))
    assert result.exit_code == 0, result.output
    out = tmp_path / "rec.repaired.utpcap"
    assert "no footer" in result.stdout and "lost: nothing" in result.stdout
    assert f"repaired capture: {out}" in result.stdout and f"next: utauproxy info {out}" in result.stdout
    with CaptureReader.open(out) as reader:
        assert reader.footer is not None and reader.footer.records == sum(c.count for c in chunks[:4])


def test_a_cut_and_damaged_capture_exits_3_and_says_what_was_lost(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    data = bytearray(sample[: chunks[-1].start + 40])
    data[(chunks[2].start + chunks[2].end) // 2] ^= 0x08
    src, out = tmp_path / "rec.utpcap", tmp_path / "chosen.utpcap"
    src.write_bytes(bytes(data))
    result = run(str(src), "-o", str(out))
    assert result.exit_code == 3, result.output
    text = result.stdout
    assert "1 damaged region" in text and "the file ends inside a chunk" in text
    assert f"bytes {chunks[2].start}-{chunks[2].end}" in text and "chunk CRC mismatch" in text
    assert "records between" in text  # the time span of the damaged chunk
    assert f"bytes {chunks[-1].start}-{chunks[-1].start + 40}" in text
    expected = len(RECORDS) - chunks[2].count - chunks[-1].count
    assert f"salvaged: {expected} records" in text
    with CaptureReader.open(out) as reader:
        assert len(list(reader.records())) == expected and reader.footer is not None
    assert run(str(out)).exit_code == 0  # the repaired file is clean


def test_json_output(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    src = tmp_path / "rec.utpcap"
    src.write_bytes(sample[: chunks[3].start + 100])
    result = run(str(src), "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["verdict"] == "recovered-with-loss" and report["exit_code"] == 3
    assert report["records_salvaged"] == sum(c.count for c in chunks[:3])
    assert report["incomplete_tail"]["offset"] == chunks[3].start and report["incomplete_tail"]["lost"]
    assert report["lost_bytes"] == 100 and report["output"] == str(tmp_path / "rec.repaired.utpcap")


def test_an_existing_output_is_refused_and_untouched(tmp_path: Path, sample: bytes) -> None:
    src = tmp_path / "rec.utpcap"
    src.write_bytes(sample[: len(sample) // 2])
    existing = tmp_path / "rec.repaired.utpcap"
    existing.write_bytes(b"precious")
    result = run(str(src))
    assert result.exit_code == 1 and "refusing to overwrite" in result.stderr
    assert existing.read_bytes() == b"precious"


@pytest.mark.parametrize("content", [b"", b"not a capture at all\n" * 30, b"\x00\xff" * 500])
def test_a_file_that_is_not_a_capture_exits_1(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "junk.utpcap"
    src.write_bytes(content)
    result = run(str(src))
    assert result.exit_code == 1 and "Error:" in result.stderr
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert not (tmp_path / "junk.repaired.utpcap").exists()


def test_a_newer_format_exits_1_with_upgrade_advice(tmp_path: Path, sample: bytes) -> None:
    chunks, _ = chunks_of(sample)
    src = tmp_path / "new.utpcap"
    src.write_bytes(craft_header({"format_major": 2}) + sample[chunks[0].start :])
    result = run(str(src))
    assert result.exit_code == 1 and "newer utauproxy" in result.stderr


def test_help_documents_the_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for line in ("0  nothing lost", "3  recovered with loss", "1  failure"):
        assert line in result.stdout


def test_the_console_entry_point_exits_3_and_check_points_at_repair(tmp_path: Path, sample: bytes) -> None:
    src = tmp_path / "rec.utpcap"
    src.write_bytes(sample[: len(sample) // 2])
    command = [sys.executable, "-m", "utauproxy"]
    checked = subprocess.run([*command, "check", str(src)], cwd=ROOT, capture_output=True, text=True, check=False,
                             stdin=subprocess.DEVNULL, timeout=60)
    assert checked.returncode == 1 and f"utauproxy repair {src}" in checked.stdout
    repaired = subprocess.run([*command, "repair", str(src)], cwd=ROOT, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=60)
    assert repaired.returncode == 3, repaired.stderr
    assert "Traceback" not in repaired.stderr and (tmp_path / "rec.repaired.utpcap").exists()
