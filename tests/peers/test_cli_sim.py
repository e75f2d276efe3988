"""`utauproxy sim plugin` and `utauproxy sim openutau` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from utauproxy.cli.sim import sim
except ModuleNotFoundError as exc:  # the shared cli package is assembled in parallel
    if (exc.name or "").startswith(("utauproxy.peers", "utauproxy.cli.sim")):
        raise
    pytest.skip(f"utauproxy.cli is not complete yet ({exc})", allow_module_level=True)

PLUGIN_COMMAND = [sys.executable, "-m", "utauproxy", "sim", "plugin"]


def _published_entry(directory: Path) -> tuple[Path, bytes] | None:
    """The entry once it holds a real port. The plugin writes it first with port 0 and then
    rewrites it in place (§1.3), so a read can also catch it empty or half-written."""
    for path in directory.glob("*.json"):
        content = path.read_bytes()
        try:
            if json.loads(content)["port"] != 0:
                return path, content
        except (ValueError, KeyError):
            continue
    return None


def _wait_for_entry(directory: Path, process: subprocess.Popen[str]) -> tuple[Path, bytes]:
    for _ in range(1000):
        found = _published_entry(directory)
        if found is not None:
            return found
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError("the simulated plugin never published its entry")


def test_openutau_command_runs_a_session_against_the_plugin_command(tmp_path: Path) -> None:
    plugin = subprocess.Popen(
        [*PLUGIN_COMMAND, "--dir", str(tmp_path), "--ping-interval", "0.1", "--protocol", "P3",
         "--name", "\u30c6\u30b9\u30c8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        entry, content = _wait_for_entry(tmp_path, plugin)
        assert b'"name": "\\u30c6\\u30b9\\u30c8"' in content
        outcome = CliRunner().invoke(sim, [
            "openutau", "--dir", str(tmp_path), "--protocol", "P3", "--time-scale", "0.01",
            "--edits", "3", "--notes", "8", "--audio-seconds", "0.05"])
        assert outcome.exit_code == 0, outcome.output
        assert "init answered" in outcome.output and "notification:updateUstx x" in outcome.output
    finally:
        plugin.send_signal(signal.SIGINT)
        stdout, stderr = plugin.communicate(timeout=10)
    assert plugin.returncode == 0, stderr
    assert "received notification:updateUstx" in stdout and "unloaded" in stdout
    assert not entry.exists()  # Ctrl-C unloads: the entry is gone


def test_openutau_command_without_a_plugin_exits_3(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(sim, ["openutau", "--dir", str(tmp_path), "--time-scale", "0.01"])
    assert outcome.exit_code == 3
    assert "no live plugin entry" in outcome.output


def test_every_option_has_help() -> None:
    for command in sim.commands.values():
        for param in command.params:
            assert getattr(param, "help", None), f"{command.name} {param.name}"
