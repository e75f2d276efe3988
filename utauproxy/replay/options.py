"""What a replay run is asked to do (the CLI builds this from its options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from utauproxy.redact import Redactor
from utauproxy.replay.rules import RuleSet
from utauproxy.replay.schedule import Pace


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    pace: Pace = field(default_factory=Pace)
    rules: RuleSet = field(default_factory=RuleSet)
    discovery_dir: Path | None = None  # None: OpenUtau's default folder
    port: int | None = None  # --as openutau: connect here instead of using discovery
    name: str | None = None  # --as plugin: entry name (default: the capture's, marked "(replay)")
    connections: tuple[int, ...] = ()  # recorded connection ids to replay; () = all
    fresh_ids: bool = True  # new GUIDs for the requests we send (False: the recorded ids)
    timeout: float = 10.0  # seconds without progress before giving up on the peer
    connect_timeout: float = 60.0  # --as plugin: wait this long for OpenUtau to connect
    save: Path | None = None
    # A redacted recording with its key on this machine: live messages are redacted the same
    # way before they are compared (run_replay sets it from the capture; replay/redaction.py).
    redactor: Redactor | None = None
