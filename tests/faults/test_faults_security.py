"""Nobody let in: listeners on 127.0.0.1 only (checked in the kernel's socket tables), private
capture and journal files that are never created through a symlink, and captures whose every
string is hostile leading to no file outside the requested output."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from faults_helpers import (
    OK_BODY,
    RawPlugin,
    answer_requests,
    ask,
    children_of,
    listening_inodes,
    publish_entry,
    recording,
    socket_inodes,
)

from utauproxy.capture.writer import CaptureWriter
from utauproxy.cli import cli
from utauproxy.errors import CaptureError, UtauproxyError
from utauproxy.proxy.recorder import RecordOptions, run_record
from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    ConnEvent,
    DiscoveryEvent,
    DiscoveryRecord,
    Direction,
    MarkRecord,
    MessageRecord,
    Record,
)

pytestmark = pytest.mark.anyio
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it


async def test_every_listener_binds_ipv4_loopback_only(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        plugin: RawPlugin = await tg.start(RawPlugin(answer_requests).serve)
        folder = tmp_path / "PluginServers"
        for n in range(2):  # three entries: three listeners
            publish_entry(folder, plugin.port, name=f"Extra {n}", file=f"extra-{n}.json")
        async with recording(tmp_path, plugin.port, watchdog=True) as rec:
            ports = {e.proxy_port for e in rec.state.entries.values()}
            assert len(ports) == 3 and None not in ports
            ours = socket_inodes()
            for child in children_of(os.getpid()):  # the watchdog process included
                ours |= socket_inodes(child)
            listening = {inode: where for inode, where in listening_inodes().items() if inode in ours}
            for port in ports:
                assert port is not None
                assert await ask(port, b"lo") == b"response:lo" + OK_BODY
                with pytest.raises(OSError):  # another loopback address: nobody listens there
                    socket.create_connection(("127.0.0.2", port), timeout=2).close()
        tg.cancel_scope.cancel()
    assert listening, "the proxy's listeners are visible in /proc/net/tcp"
    proxy_rows = {address for table, address in listening.values()}
    assert {f"{LOOPBACK_HEX}:{port:04X}" for port in ports} <= proxy_rows
    assert all(table == "tcp" and address.startswith(LOOPBACK_HEX + ":")
               for table, address in listening.values()), listening


async def test_capture_and_journal_are_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        async with anyio.create_task_group() as tg:
            plugin: RawPlugin = await tg.start(RawPlugin(answer_requests).serve)
            async with recording(tmp_path, plugin.port) as rec:
                journals = list(rec.folder.glob(".utauproxy-*.journal"))
                assert len(journals) == 1
                journal_mode = stat.S_IMODE(journals[0].stat().st_mode)
            tg.cancel_scope.cancel()
    finally:
        os.umask(old_umask)
    assert journal_mode == 0o600
    assert stat.S_IMODE(rec.output.stat().st_mode) == 0o600


@pytest.mark.parametrize("target_exists", [False, True], ids=["dangling", "existing"])
async def test_the_capture_is_never_created_through_a_symlink(tmp_path: Path, target_exists: bool) -> None:
    folder = tmp_path / "PluginServers"
    folder.mkdir()
    target = tmp_path / "elsewhere" / "victim"
    target.parent.mkdir()
    if target_exists:
        target.write_bytes(b"precious")
    link = tmp_path / "capture.utpcap"
    link.symlink_to(target)
    with pytest.raises(CaptureError):
        await run_record(RecordOptions(link, folder, watchdog=False))
    assert link.is_symlink()
    assert (target.read_bytes() == b"precious") if target_exists else not target.exists()


# --- hostile strings in a capture --------------------------------------------------------------

PLANTS = ["PWNED-note", "PWNED-file", "PWNED-id", "PWNED-ustx", "PWNED-detail", "PWNED-dir"]


def hostile(tag: str, outside: Path) -> str:
    """A string that would create `tag` somewhere if anything used it as a path or ran it."""
    return (f"../../{tag}; $(touch {outside}/{tag}-sub) `touch {outside}/{tag}-tick` "
            f"{outside}/{tag} ~/{tag} | tee {tag}-pipe")


def hostile_capture(path: Path, outside: Path) -> None:
    h = {tag: hostile(tag, outside) for tag in PLANTS}
    header = CaptureHeader(
        1, 0, "utauproxy test", "2026-01-01T00:00:00Z", h["PWNED-note"], "auto",
        discovery=[{"file": f"../../{h['PWNED-file']}.json", "name": h["PWNED-file"],
                    "upstream_port": 1, "text": h["PWNED-file"], "dialect": "line"}],
        note=h["PWNED-note"], extra={"discovery_dir": h["PWNED-dir"], "output": h["PWNED-dir"]},
    )
    rid = h["PWNED-id"].replace(" ", "_").replace(":", "_")
    ustx = "name: " + h["PWNED-ustx"] + "\\nvoice_parts: []\\n"
    detail = {"entry_file": h["PWNED-detail"], "entry_name": h["PWNED-detail"]}
    records: list[Record] = [
        DiscoveryRecord(1, DiscoveryEvent.REWRITTEN, {"file": h["PWNED-file"], "name": h["PWNED-file"]}),
        ConnectionRecord(2, 1, ConnEvent.OPEN, None, detail),
        MessageRecord(3, 1, Direction.OU_TO_PLUGIN, f"request:{rid}:init {{}}".encode()),
        MessageRecord(4, 1, Direction.PLUGIN_TO_OU,
                      f'response:{rid} {{"success": true, "data": {{"ustx": "{ustx}"}}}}'.encode()),
        MessageRecord(5, 1, Direction.OU_TO_PLUGIN, f'notification:updateUstx {{"ustx":"{ustx}"}}'.encode()),
        MessageRecord(6, 1, Direction.OU_TO_PLUGIN,
                      f'notification:updateAudio {{"audios":{{"{h["PWNED-id"]}":"{h["PWNED-id"]}"}}}}'.encode()),
        MessageRecord(7, 1, Direction.OU_TO_PLUGIN, f"{h['PWNED-id']} {h['PWNED-id']}".encode()),
        MarkRecord(8, h["PWNED-note"]),
        ConnectionRecord(9, 1, ConnEvent.CLOSED, None, detail),
    ]
    with CaptureWriter.create(path, header) as writer:
        for record in records:
            writer.write(record)


def tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_nothing_in_a_capture_is_used_as_a_path_or_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work" / "deep" / "er"
    work.mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    capture = tmp_path / "captures" / "hostile.utpcap"
    capture.parent.mkdir()
    hostile_capture(capture, outside)
    other = capture.with_name("other.utpcap")
    other.write_bytes(capture.read_bytes())
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    before = tree(tmp_path)
    c, o = str(capture), str(other)
    commands = [
        ["show", c], ["show", "--json", c], ["show", "--raw", c], ["info", c], ["info", "--scan", c],
        ["info", "--json", c], ["check", c], ["check", "--json", c], ["diff", c, o],
        ["diff", "--json", "--junit", str(out / "junit.xml"), c, o],
        ["export", "--format", "jsonl", "--with-raw", "-o", str(out / "x.jsonl"), c],
        ["export", "--format", "har-like", "-o", str(out / "x.har"), c],
        ["export", "--format", "raw", "-o", str(out / "raw"), c],
    ]
    outputs = []
    for args in commands:
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, (SystemExit, UtauproxyError)):
            raise result.exception
        assert result.exit_code in (0, 1), (args, result.output)
        outputs.append(result.output)
    created = tree(tmp_path) - before
    assert {p for p in created if not p.is_relative_to(out)} == set()
    assert {p.relative_to(out).parts[0] for p in created} == {"junit.xml", "x.jsonl", "x.har", "raw"}
    assert list(outside.iterdir()) == [] and list(home.iterdir()) == [] and list(work.iterdir()) == []
    assert not [p for p in Path("/tmp").glob("PWNED*")]
    assert any("PWNED-note" in text for text in outputs)  # the strings were read and shown
