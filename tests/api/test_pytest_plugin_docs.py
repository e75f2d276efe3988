"""docs/pytest-plugin.md's example suite, run as the page says: record once against a running
plugin with --utau-record, then replay without any real peer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from utauproxy.peers.plugin import PluginConfig, serve_plugin

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"


def example_files() -> dict[str, str]:
    """The page's code blocks that start with `# wire-tests/<file>`."""
    blocks = re.findall(r"```python\n# wire-tests/(\S+)\n(.*?)```", PAGE.read_text(), re.S)
    return dict(blocks)


def test_the_documented_suite_records_then_replays(pytester: pytest.Pytester, tmp_path: Path) -> None:
    files = example_files()
    assert sorted(files) == ["builds.py", "conftest.py", "test_wire.py"]
    for name, text in files.items():
        (pytester.path / name).write_text(text)
    capture = pytester.path / "captures" / "edit-session.utpcap"

    missing = pytester.runpytest()
    missing.assert_outcomes(errors=3)  # strict: nothing recorded yet, nothing reached

    folder = tmp_path / "wire" / "OpenUtau" / "PluginServers"
    with start_blocking_portal() as portal:
        plugin = portal.start_task(serve_plugin, PluginConfig(discovery_dir=folder, ping_interval=0.2))[1]
        recorded = pytester.runpytest("--utau-record", f"--utau-discovery-dir={folder}",
                                      "-k", "openutau_sends")
        portal.call(plugin.unload)
    recorded.assert_outcomes(passed=1, deselected=2)
    assert capture.is_file()

    pytester.runpytest().assert_outcomes(passed=3)
