"""The discovery folder under attack or race (PROTOCOL.md §1.3, §1.4, §6.7), while the real
recorder watches it: the plugin's non-atomic rewrites, files coming and going, symlinks, other
users' files, garbage, and OpenUtau's delete-on-free-port probe running in a loop."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import anyio
import pytest
from faults_helpers import (
    OK_BODY,
    RawPlugin,
    answer_requests,
    ask,
    openutau_probe,
    plugin_and_recorder,
    recording,
    read_capture,
    until,
)

from utauproxy.records import DiscoveryEvent, DiscoveryRecord

pytestmark = pytest.mark.anyio


def _port_in(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


async def test_non_atomic_rewrites_in_a_loop_are_followed_and_never_lost(tmp_path: Path) -> None:
    vanished: list[float] = []
    stop_watching = threading.Event()

    def watch(path: Path) -> None:
        while not stop_watching.is_set():
            if not path.exists():
                vanished.append(time.monotonic())

    async with plugin_and_recorder(tmp_path, answer_requests) as (plugin, rec):
        watcher = threading.Thread(target=watch, args=(rec.entry,))
        watcher.start()
        try:
            last = ""
            for n in range(40):
                # PROTOCOL.md §1.3: the plugin truncates and writes its file in place.
                last = json.dumps({"port": plugin.port, "name": f"Vocal take {n}"})
                with open(rec.entry, "w") as file:
                    file.write(last[:12])
                    file.flush()
                    await anyio.sleep(0.003)
                    file.write(last[12:])
                await anyio.sleep(0.01 if n % 2 else 0.05)
                port = _port_in(rec.entry)
                if port not in (None, plugin.port):  # taken over: it must lead to the plugin
                    assert await ask(port, b"%d" % n) == b"response:%d" % n + OK_BODY
            await until(lambda: "Vocal take 39" in rec.entry.read_text()
                        and _port_in(rec.entry) == rec.proxy_port)
            assert await ask(rec.proxy_port, b"settled") == b"response:settled" + OK_BODY
        finally:
            stop_watching.set()
            watcher.join()
    assert vanished == []  # the recorder replaces the file atomically; it never deletes it
    assert rec.entry.read_text() == last  # the plugin's own last write is what is left
    records = read_capture(rec.output)
    renamed = [r for r in records if isinstance(r, DiscoveryRecord) and r.event is DiscoveryEvent.RENAMED]
    assert renamed and renamed[-1].entry["name"] == "Vocal take 39"


async def test_files_coming_and_going_and_garbage_cost_nothing(tmp_path: Path) -> None:
    garbage = {"garbage.json": b"{\"port\": 12", "binary.json": b"\xff\xfe\x00{}", "null.json": b"null",
               "array.json": b"[1,2,3]", "huge-port.json": b'{"port": 99999999999999999999}'}
    async with anyio.create_task_group() as tg:
        other: RawPlugin = await tg.start(RawPlugin(answer_requests).serve)
        async with plugin_and_recorder(tmp_path, answer_requests) as (_, rec):
            for name, content in garbage.items():
                (rec.folder / name).write_bytes(content)
            for n in range(60):
                churn = rec.folder / f"churn-{n % 7}.json"
                if churn.exists():
                    churn.unlink()
                else:
                    port = other.port if n % 3 else 1  # a live plugin, or a dead port
                    churn.write_text(json.dumps({"port": port, "name": f"Churn {n}"}))
                await anyio.sleep(0.005 * (n % 4))
                if n % 10 == 0:
                    assert await ask(rec.proxy_port, b"%d" % n) == b"response:%d" % n + OK_BODY
            for leftover in rec.folder.glob("churn-*.json"):
                leftover.unlink()
            await until(lambda: set(rec.state.entries) == {rec.entry.name})
            assert await ask(rec.proxy_port, b"after") == b"response:after" + OK_BODY
            await anyio.sleep(1.2)  # past the grace period for unreadable files
        tg.cancel_scope.cancel()
    for name, content in garbage.items():
        assert (rec.folder / name).read_bytes() == content  # never rewritten, never deleted
    assert sorted(p.name for p in rec.folder.iterdir()) == sorted([*garbage, rec.entry.name])
    records = read_capture(rec.output)
    gone = {r.entry.get("file") for r in records if isinstance(r, DiscoveryRecord) and r.event is DiscoveryEvent.GONE}
    assert any(str(name).startswith("churn-") for name in gone)


async def test_symlinks_and_other_users_files_are_refused_and_left_exactly_as_they_were(
        tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    async with anyio.create_task_group() as tg:
        other: RawPlugin = await tg.start(RawPlugin(answer_requests).serve)
        valid = json.dumps({"port": other.port, "name": "Planted"})
        target = outside / "target.json"
        target.write_text(valid)
        async with plugin_and_recorder(tmp_path, answer_requests) as (_, rec):
            link = rec.folder / "link.json"
            link.symlink_to(target)
            foreign = rec.folder / "foreign.json"
            foreign.write_text(valid)
            os.chown(foreign, 65534, 65534)
            await anyio.sleep(1.2)  # many polls, past any grace period
            assert set(rec.state.entries) == {rec.entry.name}
            assert await ask(rec.proxy_port, b"x") == b"response:x" + OK_BODY
        tg.cancel_scope.cancel()
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == valid and foreign.read_text() == valid
    assert foreign.stat().st_uid == 65534
    records = read_capture(rec.output)
    refused = {r.entry.get("file") for r in records
               if isinstance(r, DiscoveryRecord) and r.event is DiscoveryEvent.REFUSED}
    assert {"link.json", "foreign.json"} <= refused


class Probe:
    """OpenUtau's scan-and-delete (PROTOCOL.md §1.4) in a tight loop on its own thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.deleted: list[str] = []
        self.scans = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.deleted.extend(openutau_probe(self.folder))
            self.scans += 1

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    async def more_scans(self, count: int) -> None:
        seen = self.scans
        await until(lambda: self.scans > seen + count)


async def test_openutaus_probe_in_a_loop_never_deletes_our_entries_while_recording(tmp_path: Path) -> None:
    async with plugin_and_recorder(tmp_path, answer_requests) as (plugin, rec):
        with Probe(rec.folder) as probe:
            for n in range(5):
                port = _port_in(rec.entry)
                assert port == rec.proxy_port
                assert await ask(port, b"%d" % n) == b"response:%d" % n + OK_BODY
                # An atomic rename by the plugin (the bridge's way), taken over again.
                staged = rec.folder / ".staged"
                staged.write_text(json.dumps({"port": plugin.port, "name": f"Lead {n}"}))
                staged.replace(rec.entry)
                await until(lambda: _port_in(rec.entry) == rec.proxy_port)
                await probe.more_scans(5)
    assert probe.deleted == []


async def test_openutaus_probe_never_deletes_our_entries_while_the_recorder_stops(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        plugin: RawPlugin = await tg.start(RawPlugin(answer_requests).serve)
        deleted: list[str] = []
        for run in range(3):
            async with recording(tmp_path / f"run{run}", plugin.port) as rec:
                probe = Probe(rec.folder).__enter__()
                await probe.more_scans(5)
            try:  # the recorder has stopped and restored the entry; the probe kept going
                await probe.more_scans(20)
            finally:
                probe.__exit__()
            deleted += probe.deleted
            assert _port_in(rec.entry) == plugin.port or deleted
        tg.cancel_scope.cancel()
    assert deleted == []
