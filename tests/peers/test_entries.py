"""Discovery entries: how the simulated plugin writes them and OpenUtau's scan reads them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import anyio
import pytest

from utauproxy.peers.entries import (
    bridge_entry_text,
    choc_entry_text,
    scan_like_openutau,
    scan_like_openutau_v1_2,
)
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin


@pytest.fixture
def live_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        yield server.getsockname()[1]


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_entry_texts_are_byte_exact() -> None:
    assert choc_entry_text(51234, "Vocal \u3042") == '{"port": 51234, "name": "Vocal \\u3042"}'
    assert bridge_entry_text(52341, "OpenUtau Bridge 52341") == (
        '{"apiVersion":"1.2","name":"OpenUtau Bridge 52341","port":52341}')


def test_scan_keeps_live_entries_and_deletes_dead_and_garbage(tmp_path: Path, live_port: int) -> None:
    live = tmp_path / "live.json"
    live.write_text(json.dumps({"PORT": live_port, "Name": "ok", "extra": [1]}))
    dead = tmp_path / "dead.json"
    dead.write_text(choc_entry_text(_dead_port(), "gone"))
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"port": 51')  # half-written
    zero = tmp_path / "zero.json"
    zero.write_text('{"name": "no port"}')
    other = tmp_path / "notes.txt"
    other.write_text("not an entry")
    result = scan_like_openutau(tmp_path)
    assert [(e.path, e.port, e.name) for e in result.entries] == [(live, live_port, "ok")]
    assert sorted(p.name for p, _ in result.deleted) == ["dead.json", "garbage.json", "zero.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.json", "notes.txt"]


def test_scan_can_leave_invalid_entries_alone(tmp_path: Path) -> None:
    (tmp_path / "dead.json").write_text(choc_entry_text(_dead_port(), "gone"))
    result = scan_like_openutau(tmp_path, delete=False)
    assert result.entries == [] and len(result.skipped) == 1
    assert (tmp_path / "dead.json").exists()


def test_v1_2_scan_skips_unparseable_but_deletes_dead(tmp_path: Path, live_port: int) -> None:
    (tmp_path / "garbage.json").write_text("{")
    (tmp_path / "old.json").write_text(choc_entry_text(live_port, "no apiVersion"))
    (tmp_path / "dead.json").write_text(bridge_entry_text(_dead_port(), "x"))
    (tmp_path / "OpenUtau Bridge.json").write_text(bridge_entry_text(live_port, ""))
    result = scan_like_openutau_v1_2(tmp_path)
    assert [(e.name, e.api_version) for e in result.entries] == [("OpenUtau Bridge", "1.2")]
    assert [p.name for p, _ in result.deleted] == ["dead.json"]
    assert sorted(p.name for p, _ in result.skipped) == ["garbage.json", "old.json"]
    assert (tmp_path / "garbage.json").exists()


@pytest.mark.anyio
async def test_plugin_publishes_then_rename_rewrites_in_place(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(
            serve_plugin, PluginConfig(version="P6", discovery_dir=tmp_path, name="Vocal"))
        entry = plugin.entry_path
        assert entry.name == f"{plugin.uuid}.json" and entry.parent == tmp_path
        assert entry.read_text() == choc_entry_text(plugin.port, "Vocal")
        inode, before = entry.stat().st_ino, entry.read_text()
        async with anyio.create_task_group() as renaming:
            renaming.start_soon(partial(plugin.rename, "\u30dc\u30fc\u30ab\u30eb", pause=0.5))
            while (half := entry.read_text()) == before:
                await anyio.sleep(0.001)
        # Non-atomic: the same file (inode), truncated and then half-written meanwhile.
        assert entry.stat().st_ino == inode
        assert half != entry.read_text() and entry.read_text().startswith(half)
        assert json.loads(entry.read_text()) == {"port": plugin.port, "name": "\u30dc\u30fc\u30ab\u30eb"}
        assert scan_like_openutau(tmp_path).first is not None
        await plugin.unload()
    assert not entry.exists()
    with pytest.raises(OSError):
        await anyio.connect_tcp("127.0.0.1", plugin.port)


@pytest.mark.anyio
async def test_bridge_publishes_its_own_file_name(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tasks:
        plugin: PluginHandle = await tasks.start(
            serve_plugin, PluginConfig(version="v1.2", discovery_dir=tmp_path))
        assert plugin.entry_path.name == f"OpenUtau Bridge {plugin.port}.json"
        assert plugin.entry_path.read_text() == bridge_entry_text(
            plugin.port, f"OpenUtau Bridge {plugin.port}")
        assert [p.name for p in tmp_path.iterdir()] == [plugin.entry_path.name]
        await plugin.unload()
    assert list(tmp_path.iterdir()) == []
