"""One look at the discovery folder: every `*.json` file, read safely and parsed (sync I/O)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from utauproxy.discovery.entry import ParsedEntry, Unreadable, decode_entry, parse_entry
from utauproxy.discovery.safety import EntryReplaced, read_entry_bytes
from utauproxy.errors import DiscoveryError


@dataclass(frozen=True, slots=True)
class SeenFile:
    """A file as we found it: `refused` (never to be touched), else its text and parse."""

    file: str
    text: str | None = None
    entry: ParsedEntry | Unreadable | None = None
    refused: str | None = None

    @property
    def parsed(self) -> ParsedEntry | None:
        return self.entry if isinstance(self.entry, ParsedEntry) else None

    @property
    def unreadable(self) -> str | None:
        return self.entry.reason if isinstance(self.entry, Unreadable) else None


def is_entry_name(name: str) -> bool:
    """Whether OpenUtau's `GetFiles("*.json")` lists this name (case-blind on Windows only)."""
    return (name.lower() if os.name == "nt" else name).endswith(".json")


def list_entry_files(directory: Path) -> list[str]:
    """Names of the `*.json` files in `directory` (empty when the folder is gone)."""
    try:
        with os.scandir(directory) as listing:
            return sorted(item.name for item in listing if is_entry_name(item.name))
    except FileNotFoundError:
        return []


def look_at(directory: Path, name: str) -> SeenFile | None:
    """Read and parse one entry; None when it no longer exists."""
    try:
        data = read_entry_bytes(directory / name)
    except FileNotFoundError:
        return None
    except EntryReplaced as error:
        return SeenFile(name, entry=Unreadable(str(error)))
    except DiscoveryError as error:
        return SeenFile(name, refused=str(error))
    except OSError as error:
        return SeenFile(name, entry=Unreadable(f"read failed: {error.strerror or error}"))
    text = decode_entry(data)
    if isinstance(text, Unreadable):
        return SeenFile(name, entry=text)
    return SeenFile(name, text=text, entry=parse_entry(text))


def look_at_folder(directory: Path) -> dict[str, SeenFile]:
    """Every entry file of `directory` that still exists by the time we read it."""
    seen = {}
    for name in list_entry_files(directory):
        found = look_at(directory, name)
        if found is not None:
            seen[name] = found
    return seen
