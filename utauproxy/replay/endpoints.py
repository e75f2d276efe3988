"""Discovery for a replay: publish our own entry when we play the plugin, find the plugin's
when we play OpenUtau (PROTOCOL.md §1). Synchronous file I/O on tiny files."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from utauproxy.discovery.atomic import atomic_write_text, port_is_live
from utauproxy.discovery.entry import marked_name
from utauproxy.discovery.folder import look_at_folder
from utauproxy.discovery.paths import default_discovery_dir
from utauproxy.protocol.events import Dialect

REPLAY_MARK = "replay"


@dataclass(frozen=True, slots=True)
class PublishedEntry:
    path: Path
    port: int
    name: str
    text: str

    def remove(self) -> None:
        """Delete the entry if it is still the one we wrote (OpenUtau may have deleted it)."""
        try:
            if self.path.read_text(encoding="utf-8") == self.text:
                self.path.unlink()
        except (FileNotFoundError, UnicodeDecodeError):
            pass


def discovery_folder(directory: Path | None) -> Path:
    return directory if directory is not None else default_discovery_dir()


def publish_entry(directory: Path, port: int, name: str, dialect: Dialect) -> PublishedEntry:
    """Write an entry for `port` atomically (OpenUtau deletes what it cannot parse, §1.4):
    the S plugin's `<uuid>.json` in choc style (§1.2), or a v1.2 bridge-style file (§5.1).
    The listener on `port` must already be bound."""
    directory.mkdir(parents=True, exist_ok=True)
    if dialect is Dialect.V1_2:
        path = directory / f"utauproxy replay {port}.json"
        text = json.dumps({"apiVersion": "1.2", "name": name, "port": port},
                          separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    else:
        path = directory / f"{uuid.uuid4()}.json"
        text = json.dumps({"port": port, "name": name}, separators=(", ", ": "), ensure_ascii=True)
    atomic_write_text(path, text)
    return PublishedEntry(path, port, name, text)


def replay_entry_name(recorded_name: str | None, override: str | None) -> str:
    """`<recorded plugin name> (replay)`, so a user can tell it from a real plugin."""
    return override if override else marked_name(recorded_name or "utauproxy", REPLAY_MARK)


@dataclass(frozen=True, slots=True)
class FoundPlugin:
    port: int
    name: str | None
    file: str
    others: tuple[str, ...] = ()  # other live entries, by file name


def find_plugin(directory: Path) -> FoundPlugin | None:
    """The first live entry by file name, skipping our own replay entries; None when no
    entry is live. (OpenUtau takes the first in file-system order, §1.4; we sort, to be
    predictable, and report the others.)"""
    live: list[FoundPlugin] = []
    for name, seen in sorted(look_at_folder(directory).items()):
        parsed = seen.parsed
        if parsed is None or (parsed.name or "").endswith(f"({REPLAY_MARK})"):
            continue
        if port_is_live(parsed.port):
            live.append(FoundPlugin(parsed.port, parsed.name, name))
    if not live:
        return None
    first = live[0]
    return FoundPlugin(first.port, first.name, first.file, tuple(p.file for p in live[1:]))


def other_live_entries(directory: Path, ours: PublishedEntry) -> list[str]:
    """Live entries besides ours: OpenUtau may connect to one of them instead (§1.4)."""
    found = []
    for name, seen in sorted(look_at_folder(directory).items()):
        parsed = seen.parsed
        if name != ours.path.name and parsed is not None and port_is_live(parsed.port):
            found.append(name)
    return found
