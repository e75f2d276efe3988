"""OpenUtau's scan deletes every entry whose port it can bind (PROTOCOL.md §1.4). Run it in a
loop for the takeover's whole life, across the rewrite, a rename and the restore: it must never
find a reason to delete anything."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

import anyio
import pytest
from discovery_helpers import (
    EventLog,
    FakePlugin,
    ListenerHooksWithSockets,
    newtonsoft_read,
    openutau_scan,
    wait_until,
)

from utauproxy.discovery.entry import is_ours
from utauproxy.discovery.takeover import run_takeover

pytestmark = pytest.mark.anyio


async def test_openutau_probe_never_deletes_our_entries(tmp_path: Path) -> None:
    folder = tmp_path / "PluginServers"
    folder.mkdir()
    plugins = [FakePlugin(folder, f"Vocal {n}") for n in range(3)]
    for plugin in plugins:
        plugin.publish()
    deleted: list[str] = []
    scans = 0
    stop = threading.Event()

    def openutau() -> None:
        nonlocal scans
        while not stop.is_set():
            deleted.extend(openutau_scan(folder))
            scans += 1

    scanner = threading.Thread(target=openutau)
    scanner.start()
    hooks = ListenerHooksWithSockets()
    try:
        async with anyio.create_task_group() as group:
            run = partial(run_takeover, folder, hooks, on_event=EventLog(), poll_interval=0.02,
                          watchdog=False)
            handle = await group.start(run)
            assert len(handle.entries) == 3
            # An atomic rename (the v1.2 bridge's way of writing) while OpenUtau keeps probing.
            renamed = plugins[0].path.with_suffix(".tmp")
            renamed.write_text(plugins[0].text().replace("Vocal 0", "Lead"))
            renamed.replace(plugins[0].path)
            await wait_until(lambda: newtonsoft_read(plugins[0].path.read_text())[1] == "Lead (recording)")
            seen_scans = scans
            await wait_until(lambda: scans > seen_scans + 20)
            group.cancel_scope.cancel()
        seen_scans = scans
        await wait_until(lambda: scans > seen_scans + 20)
    finally:
        stop.set()
        scanner.join()
    assert deleted == []
    assert all(plugin.path.exists() and not is_ours(plugin.path.read_text()) for plugin in plugins)
