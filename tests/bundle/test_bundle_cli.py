"""`utauproxy bundle` as a user runs it: output, exit codes, the key file, never overwriting."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from utauproxy.bundle import DEFAULT_MAX_SIZE, parse_size
from utauproxy.bundle.trim import NS
from utauproxy.cli import cli
from utauproxy.peers.session import generate_session
from utauproxy.records import Direction, MessageRecord
from utauproxy.replay.render import to_json
from utauproxy.replay.report import Divergence, DivergenceKind, MessageRef, ReplayReport

from .synth import session_records, write_capture
from .zipview import open_bundle


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = generate_session(4, edits=40, notes=24, audio_seconds=0.005)
    return write_capture(tmp_path_factory.mktemp("cli") / "song.utpcap", session_records(scenario))


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "redaction.key"
    monkeypatch.setenv("UTAUPROXY_REDACTION_KEY", str(path))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["bundle", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_bundle_writes_the_zip_and_says_what_it_did(capture: Path, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.zip"
    code, stdout, _ = run(str(capture), "-o", str(out), "--last", "30s")
    assert code == 0, stdout
    assert f"wrote {out}" in stdout and "redacted: lyrics" in stdout and "key id" in stdout
    assert "dropped: " in stdout and "records dropped" in stdout
    assert "Attach report.zip to your GitHub issue" in stdout
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    opened = open_bundle(out, tmp_path)
    assert "records between 0:00:00" in opened.readme


def test_the_same_key_gives_the_same_pseudonyms_in_every_bundle(capture: Path, key_file: Path,
                                                                 tmp_path: Path) -> None:
    for name in ("a.zip", "b.zip"):
        assert run(str(capture), "-o", str(tmp_path / name))[0] == 0
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = open_bundle(tmp_path / "a.zip", tmp_path / "a").capture_bytes()
    second = open_bundle(tmp_path / "b.zip", tmp_path / "b").capture_bytes()
    assert first == second


def test_an_existing_output_is_never_overwritten(capture: Path, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken.zip"
    out.write_bytes(b"mine")
    code, _, stderr = run(str(capture), "-o", str(out))
    assert code == 1 and "refusing to overwrite" in stderr
    assert out.read_bytes() == b"mine"


def test_usage_errors_exit_2(capture: Path, key_file: Path, tmp_path: Path) -> None:
    code, _, stderr = run(str(capture), "--last", "five minutes")
    assert code == 2 and "not a duration" in stderr and "1h30m" in stderr
    assert run(str(capture), "--max-size", "big")[0] == 2
    assert run(str(capture), "--no-redact", "--keep", "lyrics")[0] == 2
    assert run(str(capture), "--keep", "everything")[0] == 2
    assert run(str(capture), "--from", "10m", "--to", "5m")[0] == 2
    assert list(tmp_path.glob("*.zip")) == []


def test_a_window_or_connection_with_nothing_in_it_is_an_error(capture: Path, key_file: Path,
                                                               tmp_path: Path) -> None:
    code, _, stderr = run(str(capture), "-o", str(tmp_path / "a.zip"), "--from", "5h")
    assert code == 1 and "nothing to bundle" in stderr
    code, _, stderr = run(str(capture), "-o", str(tmp_path / "b.zip"), "--connection", "7")
    assert code == 1 and "no connection #7 (it has #1)" in stderr
    assert list(tmp_path.glob("*.zip")) == []


def test_an_unreadable_capture_fails_without_a_traceback(key_file: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.utpcap"
    garbage.write_bytes(os.urandom(300))
    code, stdout, stderr = run(str(garbage), "-o", str(tmp_path / "x.zip"))
    assert code == 1 and "Error" in stderr and "Traceback" not in stdout + stderr
    assert not (tmp_path / "x.zip").exists()


def test_until_divergence_keeps_up_to_the_divergent_message_plus_the_margin(
        capture: Path, key_file: Path, tmp_path: Path) -> None:
    from utauproxy.capture import CaptureReader

    with CaptureReader.open(capture) as reader:
        conn_lines = [r for r in reader.records() if isinstance(r, MessageRecord) and r.conn == 1]
    divergent = conn_lines[40]
    ref = MessageRef(1, 40, "notification:updateUstx", 0.0, len(divergent.raw), "…", Direction.OU_TO_PLUGIN)
    report_path = tmp_path / "replay.json"
    report_path.write_text(json.dumps(to_json(ReplayReport(
        "openutau", str(capture), divergences=[Divergence(DivergenceKind.MISMATCH, 1, expected=ref)])), default=str))
    out = tmp_path / "div.zip"
    code, stdout, _ = run(str(capture), "-o", str(out), "--until-divergence", str(report_path))
    assert code == 0, stdout
    assert "first divergence: mismatch notification:updateUstx on connection #1" in stdout
    records = open_bundle(out, tmp_path).records
    assert max(r.ts_ns for r in records) <= divergent.ts_ns + 2 * NS
    assert any(r.ts_ns > divergent.ts_ns for r in records)  # the margin is there
    assert "kept up to 2 s after the first divergence" in open_bundle(out, tmp_path).readme

    report_path.write_text(json.dumps(to_json(ReplayReport("openutau", str(capture))), default=str))
    code, _, stderr = run(str(capture), "-o", str(tmp_path / "none.zip"), "--until-divergence", str(report_path))
    assert code == 1 and "no divergence" in stderr


def test_no_redact_says_so_everywhere(capture: Path, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw.zip"
    code, stdout, _ = run(str(capture), "-o", str(out), "--no-redact", "--connection", "1")
    assert code == 0 and "redacted: nothing (--no-redact)" in stdout
    opened = open_bundle(out, tmp_path)
    assert "NOT REDACTED" in opened.readme and opened.environment["bundle"]["redacted"] is False
    assert "redaction" not in opened.header.extra
    assert not key_file.exists()  # no key is needed, none is made


def test_help_says_what_goes_in_the_zip_and_what_redaction_does() -> None:
    result = CliRunner().invoke(cli, ["bundle", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for words in ("README.txt", "environment.json", "pseudonyms", "--keep-audio", "--until-divergence",
                  "--max-size", "--key-file", "Exit status"):
        assert words in text
    assert "default: 10MB" in text
    assert parse_size("10MB") == DEFAULT_MAX_SIZE
    assert "bundle" in CliRunner().invoke(cli, ["--help"]).output
