"""The protocol version a capture's footer carries (`footer.extra["protocol"]`): written by the
recorder and by `bundle` from a VersionGuess, read by `info`, `check` and `bundle`, so that a
summary needs no scan. The evidence texts are fixed sentences of protocol/version.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from utauproxy.protocol.version import VersionGuess

PROTOCOL_KEY = "protocol"


@dataclass(frozen=True, slots=True)
class RecordedProtocol:
    version: str  # a ProtocolVersion value, as the writer's release knew them
    evidence: tuple[str, ...]


def protocol_extra(guess: VersionGuess) -> dict[str, Any]:
    """The footer entry for `guess` (under PROTOCOL_KEY)."""
    return {"version": guess.version.value, "evidence": list(guess.evidence)}


def recorded_protocol(extra: Mapping[str, Any]) -> RecordedProtocol | None:
    """The version a footer's `extra` records; None when absent or not of the expected shape
    (the file may come from anyone)."""
    entry = extra.get(PROTOCOL_KEY)
    if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
        return None
    evidence = entry.get("evidence")
    return RecordedProtocol(entry["version"],
                            tuple(str(e) for e in evidence) if isinstance(evidence, list) else ())
