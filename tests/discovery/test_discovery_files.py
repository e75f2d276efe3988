"""Safe reads, atomic writes and the port probe, on real files and sockets."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from discovery_helpers import dead_port, file_mode, listening_socket

from utauproxy.discovery.atomic import atomic_write_text, port_is_live, temp_name_for
from utauproxy.discovery.safety import EntryTooLarge, check_dir, read_entry_bytes
from utauproxy.errors import UnsafePath

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another uid needs root"
)
OTHER_UID = 54321


def test_atomic_write_replaces_content_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, '{"port": 1, "name": "\u3042"}')
    assert path.read_bytes() == '{"port": 1, "name": "\u3042"}'.encode()
    assert file_mode(path) == 0o640
    assert os.listdir(tmp_path) == ["a.json"]  # no temp file left behind


def test_temp_name_is_hidden_and_outside_the_json_glob(tmp_path: Path) -> None:
    temp = temp_name_for(tmp_path / "x.json")
    assert temp.parent == tmp_path and temp.name.startswith(".") and not temp.name.endswith(".json")


def test_atomic_write_refuses_to_replace_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    (tmp_path / "a.json").symlink_to(target)
    with pytest.raises(UnsafePath):
        atomic_write_text(tmp_path / "a.json", "new")
    assert target.read_text() == "keep" and (tmp_path / "a.json").is_symlink()


def test_read_refuses_symlinks_fifos_and_huge_files(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePath, match="symlink"):
        read_entry_bytes(tmp_path / "link.json")
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(UnsafePath, match="regular"):
        read_entry_bytes(tmp_path / "fifo.json")  # must not block waiting for a writer
    (tmp_path / "big.json").write_bytes(b" " * 70_000)
    with pytest.raises(EntryTooLarge):
        read_entry_bytes(tmp_path / "big.json")
    assert read_entry_bytes(tmp_path / "real") == b"{}"


def test_folder_checks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    check_dir(tmp_path / "real")
    with pytest.raises(UnsafePath):
        check_dir(tmp_path / "link")


@needs_root
def test_other_users_files_and_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "theirs.json").write_text("{}")
    os.chown(tmp_path / "theirs.json", OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePath, match="owned by uid"):
        read_entry_bytes(tmp_path / "theirs.json")
    (tmp_path / "their-folder").mkdir()
    os.chown(tmp_path / "their-folder", OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafePath, match="owned by uid"):
        check_dir(tmp_path / "their-folder")


def test_probe_matches_openutau(tmp_path: Path) -> None:
    with listening_socket() as sock:
        assert port_is_live(sock.getsockname()[1])
    with socket.socket() as bound_only:  # bound but not listening still blocks a bind
        bound_only.bind(("127.0.0.1", 0))
        assert port_is_live(bound_only.getsockname()[1])
    assert not port_is_live(dead_port())
    assert not port_is_live(0) and not port_is_live(70000) and not port_is_live(-1)


def test_probe_leaves_no_socket_behind() -> None:
    port = dead_port()
    assert not port_is_live(port)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the probe released it
