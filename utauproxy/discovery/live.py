"""What the takeover tells the proxy: live plugin entries and the hooks it calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from utauproxy.discovery.entry import ParsedEntry
from utauproxy.protocol.events import Dialect


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """A plugin entry we proxy. `file` (the entry's file name) identifies it for its whole life;
    `proxy_port` is None only while `open_listener` is being asked for it."""

    file: str
    name: str | None
    upstream_port: int
    dialect: Dialect = Dialect.LINE
    api_version: str | None = None
    proxy_port: int | None = None

    @classmethod
    def from_parsed(cls, file: str, parsed: ParsedEntry) -> LiveEntry:
        return cls(
            file=file,
            name=parsed.name,
            upstream_port=parsed.port,
            dialect=parsed.dialect,
            api_version=parsed.api_version,
        )

    def as_record(self) -> dict[str, Any]:
        """The `entry` of a DiscoveryRecord (and of CaptureHeader.discovery)."""
        return {
            "file": self.file,
            "name": self.name,
            "upstream_port": self.upstream_port,
            "proxy_port": self.proxy_port,
            "dialect": self.dialect.value,
            "api_version": self.api_version,
        }


class ListenerHooks(Protocol):
    """Implemented by the proxy. Every `open_listener` that returned is matched by exactly one
    `close_listener` for that file, on every exit path."""

    async def open_listener(self, entry: LiveEntry) -> int:
        """Bind a listener on 127.0.0.1 (IPv4, never 0.0.0.0: PROTOCOL.md §1.4) that forwards to
        `entry.upstream_port`, and return its port. It must be bound when this returns:
        the entry is rewritten to point at it right after."""
        ...

    async def update_upstream(self, entry: LiveEntry) -> None:
        """The plugin rewrote its file: forward new connections to `entry.upstream_port`
        (the port and/or the name may be unchanged). `entry.proxy_port` stays the same."""
        ...

    async def close_listener(self, entry: LiveEntry) -> None:
        """The entry is gone or restored: close its listener."""
        ...
