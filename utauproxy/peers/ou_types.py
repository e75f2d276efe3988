"""Configuration and result of the simulated OpenUtau, and how it reads a DawResult."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from utauproxy.peers.entries import FoundEntry, ScanResult
from utauproxy.peers.project import Project
from utauproxy.protocol.events import Message
from utauproxy.protocol.versions import ProtocolVersion

# Timeouts detect failures, they are not behaviour: scaled time never squeezes them below this.
MIN_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class InjectedFaults:
    """Deliberate misbehaviour, for tests that must catch it (replay, check). Labels are
    message labels such as `notification:updateAudio`. Off by default."""

    drop_first: str | None = None  # the first message with this label is never sent
    # the first message with this label goes out right after the next one (never, if none follows)
    delay_first: str | None = None


@dataclass(frozen=True, slots=True)
class OpenUtauConfig:
    version: ProtocolVersion | str = ProtocolVersion.P6
    discovery_dir: Path | None = None  # None: the default OpenUtau folder
    port: int | None = None  # connect here instead of scanning
    time_scale: float = 1.0  # scenario times, debounces and init timeout are multiplied
    seed: int = 0  # request ids, P5's per-process hash salt
    delete_invalid_entries: bool = True  # OpenUtau deletes entries it finds dead (§1.4)
    init_timeout: float = 5.0  # unscaled seconds (§3.6.2)
    # Real S OpenUtau waits forever for other responses (§3.6.6); the simulator gives up.
    request_timeout: float = 10.0
    record_wire: bool = False
    on_event: Callable[[str], None] | None = None
    faults: InjectedFaults = InjectedFaults()


@dataclass(slots=True)
class OpenUtauResult:
    version: ProtocolVersion
    scan: ScanResult | None = None
    entry: FoundEntry | None = None
    port: int | None = None
    connected: bool = False
    initialized: bool = False
    loaded_ustx: bool = False
    sent: Counter[str] = field(default_factory=Counter)  # by message label
    received: Counter[str] = field(default_factory=Counter)
    sent_bytes: int = 0
    received_bytes: int = 0
    sent_wire: bytes | None = None
    received_wire: bytes | None = None
    final_project: Project | None = None
    final_ustx: str = ""
    audio_payloads_sent: int = 0
    pulls_served: int = 0
    skipped_unknown_hashes: int = 0
    malformed: int = 0
    unhandled: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ustx_resends(self) -> int:
        return self.sent["notification:updateUstx"]


def hash_values(values: object) -> list[int]:
    """missingAudios as numbers; Newtonsoft reads digit strings and numbers alike (§4)."""
    hashes = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, int) and not isinstance(value, bool):
            hashes.append(value)
        elif isinstance(value, str) and value.lstrip("-").isdigit():
            hashes.append(int(value))
    return hashes


def success_data(response: Message | None) -> dict[str, object] | None:
    """`data` of a successful DawResult; OpenUtau throws on anything else (§3.1)."""
    if response is None:
        return None
    try:
        envelope = response.json()
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("success") is not True:
        return None
    data = envelope.get("data")
    return data if isinstance(data, dict) else None
