"""Discovery entries as the simulated peers write and read them (PROTOCOL.md §1, §5.1).

The plugin side writes its `<uuid>.json` like the S plugin (choc, in place, not atomic) or
`OpenUtau Bridge <port>.json` like the v1.2 bridge (nlohmann, `.tmp` then rename). The
OpenUtau side scans like `DawServerFinder.FindServers()`: every `*.json`, a bind probe per
port, and invalid entries deleted.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

# The folder rule is a fact about the real peers and lives in one place (PROTOCOL.md §1.1);
# paths.py is stdlib-only, so the simulated peers can share it without depending on the takeover.
from utauproxy.discovery.paths import default_discovery_dir as default_discovery_dir
from utauproxy.peers.jsonstyle import CHOC, NLOHMANN

BRIDGE_API_VERSION = "1.2"


# -- writing (plugin side) --------------------------------------------------------------------


def choc_entry_text(port: int, name: str) -> str:
    """`{"port": 51234, "name": "Vocal \\u3042"}`: choc, no newline (§1.2)."""
    return CHOC.dumps({"port": port, "name": name})


def bridge_entry_text(port: int, name: str) -> str:
    """`{"apiVersion":"1.2","name":"…","port":N}`: nlohmann, sorted keys (§5.1)."""
    return NLOHMANN.dumps({"apiVersion": BRIDGE_API_VERSION, "name": name, "port": port})


def bridge_entry_name(port: int) -> str:
    return f"OpenUtau Bridge {port}"


async def rewrite_in_place(path: Path, text: str, *, pause: float = 0.0) -> None:
    """The S plugin's `std::ofstream` rewrite: truncate, then write (§1.3). With `pause`, the
    file stays half-written that long, so a watcher or a scan can catch it mid-write."""
    data = text.encode("utf-8")
    half = len(data) // 2 if pause > 0 else len(data)
    with open(path, "wb") as file:  # noqa: ASYNC230 - a tiny local write, like the plugin's
        file.write(data[:half])
        file.flush()
        if pause > 0:
            await anyio.sleep(pause)
        file.write(data[half:])


def write_atomically(path: Path, text: str) -> None:
    """Write to a name outside the `*.json` glob, then rename over the target."""
    temp = path.with_name(path.stem + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


# -- scanning (OpenUtau side) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundEntry:
    path: Path
    port: int
    name: str
    api_version: str | None = None


@dataclass(slots=True)
class ScanResult:
    """Valid entries in listing order; what was deleted or skipped, and why."""

    entries: list[FoundEntry] = field(default_factory=list)
    deleted: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    aborted: str | None = None

    @property
    def first(self) -> FoundEntry | None:
        return self.entries[0] if self.entries else None


def port_in_use(port: int) -> bool:
    """OpenUtau's CheckPortUsing: start a listener on 127.0.0.1:port; success means nobody
    is there (§1.4). .NET sets SO_REUSEADDR on Unix, so TIME_WAIT does not count as in use."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError:
            return True
    return False


def _newtonsoft_field(obj: dict[str, Any], key: str) -> Any:
    # Constructor parameters match JSON properties ignoring case (§1.2).
    for name, value in obj.items():
        if name.lower() == key:
            return value
    return None


def _newtonsoft_int(value: Any) -> int:
    if value is None:
        return 0  # a missing port deserialises as 0
    if isinstance(value, bool):
        raise ValueError("a boolean is not a port")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = int(value.strip())
    if not isinstance(value, int) or not -(1 << 31) <= value < 1 << 31:
        raise ValueError(f"{value!r} is not an Int32")
    return value


def _read_entry(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def _listing(directory: Path) -> list[Path]:
    """`DirectoryInfo.GetFiles("*.json")`: filesystem order, not sorted (§1.4)."""
    try:
        with os.scandir(directory) as it:
            return [Path(e.path) for e in it if e.name.endswith(".json") and e.is_file()]
    except FileNotFoundError:
        return []


def scan_like_openutau(directory: Path, *, delete: bool = True) -> ScanResult:
    """The S/R `FindServers()`: any exception makes an entry invalid, a port that can be
    bound makes it invalid, and invalid files are deleted (a failing delete aborts).
    `delete=False` only reports them (in `skipped`)."""
    result = ScanResult()
    for path in _listing(directory):
        try:
            doc = _read_entry(path)
            port = _newtonsoft_int(_newtonsoft_field(doc, "port"))
            name = _newtonsoft_field(doc, "name")
            if not 0 <= port <= 65535:
                raise ValueError(f"port {port} out of range")
            valid = port_in_use(port)
            reason = "" if valid else f"port {port} is free (nobody listens)"
        except (OSError, ValueError) as exc:
            valid, reason = False, f"unreadable entry: {exc}"
        if valid:
            result.entries.append(FoundEntry(path, port, "" if name is None else str(name)))
            continue
        if not delete:
            result.skipped.append((path, reason))
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            result.aborted = f"deleting {path.name} failed: {exc}"
            return ScanResult(aborted=result.aborted, deleted=result.deleted)
        result.deleted.append((path, reason))
    return result


def scan_like_openutau_v1_2(directory: Path, *, delete: bool = True) -> ScanResult:
    """N's finder (§5.1): unparseable files and ports outside 1..65535 are skipped, not
    deleted; entries whose port can be bound are deleted; the name falls back to the stem.
    An entry without a compatible `apiVersion` major is skipped (our reading of N)."""
    result = ScanResult()
    for path in _listing(directory):
        try:
            doc = _read_entry(path)
            port = _newtonsoft_int(doc.get("port"))
        except (OSError, ValueError) as exc:
            result.skipped.append((path, f"unparseable: {exc}"))
            continue
        if not 1 <= port <= 65535:
            result.skipped.append((path, f"port {port} out of range"))
            continue
        api = doc.get("apiVersion")
        if not isinstance(api, str) or api.split(".")[0] != BRIDGE_API_VERSION.split(".")[0]:
            result.skipped.append((path, f"apiVersion {api!r} is not 1.x"))
            continue
        if not port_in_use(port):
            reason = f"port {port} is free (nobody listens)"
            if delete:
                path.unlink(missing_ok=True)
                result.deleted.append((path, reason))
            else:
                result.skipped.append((path, reason))
            continue
        name = doc.get("name")
        label = name if isinstance(name, str) and name else path.stem
        result.entries.append(FoundEntry(path, port, label, api))
    return result
