"""`replay` as a user runs it: a real process, its exit codes, `--json` and `--junit`."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import anyio
import pytest

from utauproxy.peers.plugin import PluginHandle, serve_plugin
from utauproxy.peers.session import one_edit_session

from .helpers import plugin_config, record_session

pytestmark = pytest.mark.anyio
REPLAY = [sys.executable, "-m", "utauproxy.cli.replay"]


async def test_cli_replays_as_openutau_at_recorded_pace_and_reports(tmp_path: Path) -> None:
    capture = await record_session(tmp_path, "P6", one_edit_session())
    junit = tmp_path / "replay.xml"
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(serve_plugin, plugin_config("P6", tmp_path / "live"))
        done = await anyio.run_process(
            [*REPLAY, str(capture), "--as", "openutau", "--dir", str(plugin.directory), "--speed", "1",
             "--max-gap", "0.2", "--timeout", "5", "--json", "--junit", str(junit)], check=False)
        await plugin.unload()
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["verdict"] == "identical" and report["exit_code"] == 0
    assert report["timing"]["count"] == report["sent"] > 0 and report["timing"]["p99"] >= 0
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and suite.get("errors") == "0"


def test_cli_exit_codes_for_usage_and_an_unreachable_plugin(tmp_path: Path) -> None:
    anyio.run(record_session, tmp_path, "P6", one_edit_session())
    capture = tmp_path / "session-P6.utpcap"
    empty = tmp_path / "nobody-here"
    empty.mkdir()
    unreachable = subprocess.run([*REPLAY, str(capture), "--as", "openutau", "--dir", str(empty)],
                                 capture_output=True, check=False)
    assert unreachable.returncode == 3
    assert b"PEER ERROR: no live plugin entry" in unreachable.stdout
    usage = subprocess.run([*REPLAY, str(capture), "--as", "openutau", "--ignore", "volume"],
                           capture_output=True, check=False)
    assert usage.returncode == 2 and b"unknown rule 'volume'" in usage.stderr
