"""The takeover against a stand-in plugin (a real listener + an entry written like the C++
plugin writes it) and proxy hooks with real listeners, in a real temp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from discovery_helpers import (
    EventLog,
    FakePlugin,
    ListenerHooksWithSockets,
    choc_entry,
    dead_port,
    file_mode,
    newtonsoft_read,
    port_bound,
    wait_until,
)

from utauproxy.discovery.entry import ParsedEntry, is_ours, parse_entry, render_takeover
from utauproxy.discovery.journal import list_journals
from utauproxy.discovery.live import LiveEntry
from utauproxy.discovery.takeover import TakeoverHandle, run_takeover
from utauproxy.errors import UnsafePath
from utauproxy.protocol.events import Dialect
from utauproxy.records import DiscoveryEvent

pytestmark = pytest.mark.anyio
POLL = 0.02


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "OpenUtau" / "PluginServers"
    path.mkdir(parents=True)
    return path


@asynccontextmanager
async def takeover(
    folder: Path, hooks: ListenerHooksWithSockets, events: EventLog, **options: Any
) -> AsyncIterator[TakeoverHandle]:
    options.setdefault("poll_interval", POLL)
    options.setdefault("watchdog", False)
    options.setdefault("unreadable_grace", 0.2)
    options.setdefault("linger", 0.0)
    async with anyio.create_task_group() as group:
        handle = await group.start(partial(run_takeover, folder, hooks, on_event=events, **options))
        yield handle
        group.cancel_scope.cancel()


def points_at_us(plugin: FakePlugin, hooks: ListenerHooksWithSockets) -> bool:
    text = plugin.path.read_text()
    if plugin.path.name not in hooks.listeners or not is_ours(text):
        return False
    return newtonsoft_read(text)[0] == int(hooks.listeners[plugin.path.name].getsockname()[1])


async def test_initial_takeover_and_restore_on_cancel(folder: Path) -> None:
    plugin = FakePlugin(folder)
    original = plugin.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        [entry] = handle.entries
        assert (entry.file, entry.upstream_port, entry.name) == (plugin.path.name, plugin.port, plugin.name)
        assert entry.dialect is Dialect.LINE and entry.proxy_port is not None
        port, name = newtonsoft_read(plugin.path.read_text())
        assert (port, name) == (entry.proxy_port, "Vocal \u3042 (recording)")
        assert port_bound(entry.proxy_port)
        assert [e["file"] for e in events.of(DiscoveryEvent.FOUND)] == [plugin.path.name]
        [rewritten] = events.of(DiscoveryEvent.REWRITTEN)
        assert rewritten["upstream_port"] == plugin.port and rewritten["proxy_port"] == port
        [journal] = list_journals(folder)
        assert file_mode(journal) == 0o600
        assert json.loads(journal.read_text().splitlines()[1])["original"] == original
    assert plugin.path.read_text() == original
    assert [e.file for e in hooks.closed] == [plugin.path.name] and not port_bound(port)
    [restored] = events.of(DiscoveryEvent.RESTORED)
    assert restored["outcome"] == "restored"
    assert list_journals(folder) == [] and sorted(os.listdir(folder)) == [plugin.path.name]
    assert all(record.ts_ns == 0 for record in events.records)  # no clock given


async def test_dead_entries_garbage_and_other_files_are_left_alone(folder: Path) -> None:
    dead = folder / "dead.json"
    dead.write_text(choc_entry(dead_port(), "Crashed"))
    garbage = folder / "garbage.json"
    garbage.write_text('{"port": ')
    zero = folder / "constructor.json"
    zero.write_text(choc_entry(0, "0f3c"))  # the plugin's first write, before it binds (§1.3)
    live_plugin = FakePlugin(folder)
    notes = folder / "notes.txt"
    notes.write_text(choc_entry(live_plugin.port, "not an entry"))
    before = {path: path.read_bytes() for path in (dead, garbage, zero, notes)}
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        assert handle.entries == []
        await wait_until(lambda: bool(events.of(DiscoveryEvent.REFUSED)))
        await anyio.sleep(POLL * 5)
    assert {path: path.read_bytes() for path in before} == before
    assert hooks.opened == []
    [refused] = events.of(DiscoveryEvent.REFUSED)  # once, for the garbage only
    assert refused["file"] == "garbage.json" and refused["reason"] == "unreadable"


async def test_clock_stamps_events(folder: Path) -> None:
    plugin = FakePlugin(folder)
    plugin.publish()
    events = EventLog()
    ticks = iter(range(1000, 2000))
    async with takeover(folder, ListenerHooksWithSockets(), events, clock=lambda: next(ticks)):
        pass
    stamps = [record.ts_ns for record in events.records]
    assert len(stamps) == 3 and stamps == sorted(stamps) and stamps[0] >= 1000  # found..restored


async def test_a_plugin_loaded_later_is_taken_over_and_unloading_closes_the_listener(
    folder: Path,
) -> None:
    first = FakePlugin(folder, "First")
    first.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        second = FakePlugin(folder, "Second")
        second.publish()
        await wait_until(lambda: points_at_us(second, hooks))
        assert {entry.name for entry in handle.entries} == {"First", "Second"}
        proxy_port = hooks.listeners[second.path.name].getsockname()[1]
        second.unload()
        await wait_until(lambda: any(e.file == second.path.name for e in hooks.closed))
        assert not port_bound(proxy_port)
        [gone] = events.of(DiscoveryEvent.GONE, second.path.name)
        assert gone["proxy_port"] == proxy_port
        assert [entry.name for entry in handle.entries] == ["First"]
    assert not second.path.exists()  # left gone: a stale file would point at a dead port
    assert first.path.read_text() == first.text()


async def test_non_atomic_renames_are_followed_and_never_deleted(folder: Path) -> None:
    plugin = FakePlugin(folder, "Track 0")
    plugin.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    stop_watching = threading.Event()
    vanished: list[str] = []

    def watch_existence() -> None:
        while not stop_watching.is_set():
            if not plugin.path.exists():
                vanished.append("gone")
            time.sleep(0)  # lets go of the GIL: a spinning thread starved the code under test

    async with takeover(folder, hooks, events):
        watcher = threading.Thread(target=watch_existence)
        watcher.start()
        try:
            for round_ in range(1, 9):
                # Pauses around our poll interval, so we catch it empty and half written.
                await anyio.to_thread.run_sync(
                    partial(plugin.rename_in_place, f"Track {round_}", pause=POLL * (round_ % 3),
                            new_port=round_ == 5)
                )
                await anyio.sleep(POLL * (round_ % 2))
            await wait_until(lambda: points_at_us(plugin, hooks)
                             and newtonsoft_read(plugin.path.read_text())[1] == "Track 8 (recording)")
        finally:
            stop_watching.set()
            watcher.join()
        final_text = plugin.text()
        assert hooks.updated[-1].upstream_port == plugin.port
        assert hooks.updated[-1].name == "Track 8"
        assert events.of(DiscoveryEvent.RENAMED)[-1]["name"] == "Track 8"
    assert vanished == []
    assert len(hooks.opened) == 1  # one listener for the entry's whole life
    assert plugin.path.read_text() == final_text  # restored to the newest plugin text


async def test_newer_plugin_write_survives_the_restore(folder: Path) -> None:
    plugin = FakePlugin(folder)
    plugin.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events, poll_interval=3600):
        newer = plugin.rename_in_place("Renamed while nobody looked")
    assert plugin.path.read_text() == newer
    [restored] = events.of(DiscoveryEvent.RESTORED)
    assert restored["outcome"] == "kept-newer"
    assert len(hooks.closed) == 1


async def test_v1_2_bridge_entry_keeps_its_api_version(folder: Path) -> None:
    bridge = FakePlugin(folder)
    bridge.path = folder / f"OpenUtau Bridge {bridge.port}.json"
    original = json.dumps({"apiVersion": "1.2", "name": "Bridge", "port": bridge.port},
                          separators=(",", ":"))
    bridge.path.write_text(original)
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        [entry] = handle.entries
        assert entry.dialect is Dialect.V1_2 and entry.api_version == "1.2"
        members = json.loads(bridge.path.read_text())
        assert members["apiVersion"] == "1.2" and members["port"] == entry.proxy_port
    assert bridge.path.read_text() == original


async def test_symlinks_and_foreign_files_are_refused(folder: Path, tmp_path: Path) -> None:
    plugin = FakePlugin(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(plugin.text())
    (folder / "link.json").symlink_to(elsewhere)
    foreign = None
    if os.geteuid() == 0:
        foreign = folder / "foreign.json"
        foreign_plugin = FakePlugin(tmp_path)
        foreign.write_text(foreign_plugin.text())
        os.chown(foreign, 54321, 54321)
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        assert handle.entries == []
        await anyio.sleep(POLL * 5)
    refused = {entry["file"]: entry["reason"] for entry in events.of(DiscoveryEvent.REFUSED)}
    assert len(refused) == len(events.of(DiscoveryEvent.REFUSED))  # once each
    assert "symlink" in refused["link.json"]
    assert elsewhere.read_text() == plugin.text() and (folder / "link.json").is_symlink()
    if foreign is not None:
        assert "owned by uid 54321" in refused["foreign.json"]
    assert hooks.opened == []


async def test_unsafe_folders_are_refused_before_start(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    hooks = ListenerHooksWithSockets()
    with pytest.raises(UnsafePath, match="symlink"):
        await run_takeover(tmp_path / "link", hooks, on_event=EventLog(), watchdog=False)
    if os.geteuid() == 0:
        os.chown(real, 54321, 54321)
        with pytest.raises(UnsafePath, match="owned by uid"):
            await run_takeover(real, hooks, on_event=EventLog(), watchdog=False)
    assert os.listdir(real) == []  # not even a journal


async def test_a_leftover_of_a_dead_recorder_is_restored_then_taken_over(folder: Path) -> None:
    plugin = FakePlugin(folder)
    original = plugin.publish()
    first_hooks = ListenerHooksWithSockets()
    async with takeover(folder, first_hooks, EventLog()):
        leftover = plugin.path.read_text()
    plugin.path.write_text(leftover.replace(f'"pid": {os.getpid()}', '"pid": 999999999'))
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        [restored] = events.of(DiscoveryEvent.RESTORED)
        assert restored["leftover"] and restored["outcome"] == "restored"
        [entry] = handle.entries
        assert entry.upstream_port == plugin.port  # the plugin's port, not the old proxy's
    assert plugin.path.read_text() == original


async def test_the_plugin_moving_to_a_dead_port_releases_the_entry(folder: Path) -> None:
    plugin = FakePlugin(folder)
    plugin.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events) as handle:
        moved = choc_entry(dead_port(), plugin.name)
        plugin.path.write_text(moved)
        await wait_until(lambda: len(hooks.closed) == 1)
        [gone] = events.of(DiscoveryEvent.GONE)
        assert "nobody listens" in gone["reason"] and handle.entries == []
        await anyio.sleep(POLL * 3)
        assert plugin.path.read_text() == moved  # not ours to change any more
    assert plugin.path.read_text() == moved and events.of(DiscoveryEvent.RESTORED) == []


class FailingHooks(ListenerHooksWithSockets):
    async def open_listener(self, entry: LiveEntry) -> int:
        self.opened.append(entry)
        raise OSError("no ports left")


async def test_a_failing_hook_is_reported_retried_and_leaves_the_file_alone(folder: Path) -> None:
    plugin = FakePlugin(folder)
    original = plugin.publish()
    hooks, events = FailingHooks(), EventLog()
    async with takeover(folder, hooks, events):
        await wait_until(lambda: len(events.of(DiscoveryEvent.ERROR)) == 3)
        await anyio.sleep(POLL * 5)
        assert plugin.path.read_text() == original
    assert len(hooks.opened) == 3  # a few attempts per content, not one per poll forever
    assert "no ports left" in events.of(DiscoveryEvent.ERROR)[0]["reason"]
    assert hooks.closed == []


async def test_another_running_recorders_entry_is_refused(folder: Path) -> None:
    plugin = FakePlugin(folder)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        parsed = parse_entry(plugin.text())
        assert isinstance(parsed, ParsedEntry)
        theirs = render_takeover(parsed, plugin.text(), proxy_port=plugin.port, mark="recording",
                                 pid=other.pid)
        plugin.path.write_text(theirs)
        hooks, events = ListenerHooksWithSockets(), EventLog()
        async with takeover(folder, hooks, events) as handle:
            assert handle.entries == []
            await anyio.sleep(POLL * 5)
        [refused] = events.of(DiscoveryEvent.REFUSED)  # once, not once per poll
        assert f"pid {other.pid}" in refused["reason"]
        assert plugin.path.read_text() == theirs
    finally:
        other.kill()
        other.wait()


async def test_with_the_watchdog_a_clean_stop_restores_once_and_disarms_it(folder: Path) -> None:
    plugin = FakePlugin(folder)
    original = plugin.publish()
    hooks, events = ListenerHooksWithSockets(), EventLog()
    async with takeover(folder, hooks, events, watchdog=True) as handle:
        assert handle.watchdog_pid is not None
        watchdog_pid = handle.watchdog_pid
        assert is_ours(plugin.path.read_text())
    assert plugin.path.read_text() == original
    [restored] = events.of(DiscoveryEvent.RESTORED)
    assert restored["outcome"] == "restored"
    with pytest.raises(ProcessLookupError):
        os.kill(watchdog_pid, 0)  # exited and reaped by the disarm
    assert list_journals(folder) == []


async def test_two_takeovers_in_one_process_leave_each_other_alone(folder: Path) -> None:
    plugin = FakePlugin(folder)
    original = plugin.publish()
    first_hooks, second_hooks, second_events = (
        ListenerHooksWithSockets(), ListenerHooksWithSockets(), EventLog()
    )
    async with takeover(folder, first_hooks, EventLog()):
        ours = plugin.path.read_text()
        async with takeover(folder, second_hooks, second_events) as second:
            assert second.entries == []
            await anyio.sleep(POLL * 5)
        assert plugin.path.read_text() == ours and second_hooks.opened == []
        [refused] = second_events.of(DiscoveryEvent.REFUSED)
        assert f"pid {os.getpid()}" in refused["reason"]
    assert plugin.path.read_text() == original
