"""`utauproxy check` as a command: exit status, output, options; and clean on what the
simulated peers produce through the real recorder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from inspect_captures import LAYOUT_LINE_PREFIX, dropped, fixed_header, p6_session, write_capture
from utauproxy.check import ALL_RULES
from utauproxy.cli.check import check


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(check, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_clean_capture_exits_0(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "good.utpcap", p6_session())
    code, output = _run(str(path))
    assert code == 0
    assert "protocol P6" in output and "clean" in output


def test_findings_exit_1_and_name_record_and_section(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "bad.utpcap", dropped(p6_session(), b"response:" + LAYOUT_LINE_PREFIX))
    code, output = _run(str(path))
    assert code == 1
    (line,) = [text for text in output.splitlines() if "unanswered-request" in text and "PROTOCOL.md" in text]
    assert "PROTOCOL.md §3.6" in line and "#1" in line and "[13]" in line and "12.010 s" in line
    assert "1 finding" in output


def test_json_findings(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "bad.utpcap", dropped(p6_session(), b"response:" + LAYOUT_LINE_PREFIX))
    code, output = _run(str(path), "--json")
    assert code == 1
    (row,) = [json.loads(text) for text in output.splitlines()]
    assert row["rule"] == "unanswered-request" and row["section"] == "PROTOCOL.md §3.6"
    assert row["index"] == 13 and row["conn"] == 1 and row["ts_ns"] == 12_010_000_000


def test_skip_and_unknown_skip(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "bad.utpcap", dropped(p6_session(), b"response:" + LAYOUT_LINE_PREFIX))
    assert _run(str(path), "--skip", "requests")[0] == 0
    code, output = _run(str(path), "--skip", "no-such-rule")
    assert code == 2 and "unknown rule" in output


def test_list_rules_names_every_rule() -> None:
    code, output = _run("--list-rules")
    assert code == 0
    assert all(rule in output for rule in ALL_RULES)


def test_ping_interval_from_the_header(tmp_path: Path) -> None:
    # A session recorded 10x faster than real time declares its ping period.
    scaled = [replace(r, ts_ns=r.ts_ns // 10) for r in p6_session()]
    plain = write_capture(tmp_path / "plain.utpcap", scaled)
    declared = write_capture(tmp_path / "declared.utpcap", scaled, fixed_header(ping_interval_s=0.5))
    assert _run(str(plain))[0] == 1  # pings every 0.5 s look far too early for a 5 s plugin
    assert _run(str(declared))[0] == 0
    assert _run(str(plain), "--ping-interval", "0.5")[0] == 0


def test_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "not-a-capture.utpcap"
    path.write_bytes(b"hello")
    result = CliRunner().invoke(check, [str(path)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


@pytest.mark.parametrize("version", ["P2", "P3", "P6", "R", "v1.2"])
def test_simulated_peers_sessions_are_clean(tmp_path: Path, version: str) -> None:
    """The simulated peers, recorded by the real recorder (the `demo` loop), conform. Timing
    is left out: a sped-up session on a shared machine is wall-clock dependent."""
    demo = pytest.importorskip("utauproxy.cli.demo")
    from utauproxy.protocol.versions import ProtocolVersion

    output = tmp_path / f"sim-{version}.utpcap"
    options = demo.DemoOptions(output, ProtocolVersion(version), edits=2, time_scale=0.05, seed=3)
    anyio.run(demo.run_demo, options, False)
    code, text = _run(str(output), "--skip", "timing")
    assert code == 0, text
    assert f"protocol {version}" in text
