"""What every rule family can see while a capture is checked: options, the request tracker's
verdict on the current message, the protocol version so far, and per-connection facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from utauproxy.check.findings import Finding
from utauproxy.inspect.correlate import Answer, PendingRequest, RequestTracker
from utauproxy.inspect.decode import DecodedMessage, OtherRecord
from utauproxy.protocol.events import Dialect, Message
from utauproxy.protocol.version import VersionDetector
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import Direction

DEFAULT_PING_INTERVAL_S = 5.0
# Requests and owed audio younger than this when the capture ends are not reported: the
# answer may simply not have arrived yet (OpenUtau's init timeout, PROTOCOL.md §3.6).
DEFAULT_END_GRACE_S = 5.0


class Located(Protocol):
    """Anything a finding can point at: a decoded item, a pending request, ..."""

    @property
    def index(self) -> int: ...

    @property
    def ts_ns(self) -> int: ...


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """`version` pins the protocol version instead of detecting it; `skip` holds rule ids
    or family names to leave out; `ping_interval_s` is the plugin's ping period (5 s in the
    real peers; simulated peers in tests use far shorter ones)."""

    version: ProtocolVersion | None = None
    skip: frozenset[str] = frozenset()
    ping_interval_s: float = DEFAULT_PING_INTERVAL_S
    end_grace_s: float = DEFAULT_END_GRACE_S


@dataclass(slots=True)
class ConnState:
    first_ts_ns: int
    last_ts_ns: int
    messages: dict[Direction, int] = field(default_factory=lambda: {d: 0 for d in Direction})
    closed: bool = False


@dataclass(slots=True)
class CheckContext:
    """Shared state; the engine updates it before the rule families see each item."""

    options: CheckOptions
    declared_dialect: Dialect = Dialect.AUTO
    tracker: RequestTracker = field(default_factory=RequestTracker)
    # Without audio hash checks: a wrong hash is the audio family's finding, and must not
    # read as a change of protocol version (only P4/P5 hashes are not XXH32).
    detector: VersionDetector = field(default_factory=lambda: VersionDetector(max_audio_checks=0))
    conns: dict[int, ConnState] = field(default_factory=dict)
    last_ts_ns: int = 0
    # Set for the current item only:
    answer: Answer | None = None  # a response's match
    displaced: PendingRequest | None = None  # a request reusing a pending id
    frame_answers: PendingRequest | None = None  # a v1.2 getAudio a data frame answers
    frame_pulled_hash: int | None = None  # the hash that getAudio asked for
    closed_requests: list[PendingRequest] = field(default_factory=list)  # left by a closed conn
    new_evidence: tuple[str, ...] = ()  # version facts this item added

    def is_v1_2(self) -> bool:
        """Whether the link speaks API v1.2 (pinned, declared, or all the evidence says so)."""
        if self.options.version is not None:
            return self.options.version is ProtocolVersion.V1_2
        if self.declared_dialect is Dialect.V1_2:
            return True
        candidates = self.detector.result().candidates
        return candidates == frozenset({ProtocolVersion.V1_2})

    def finding(self, rule: str, family: str, section: str, message: str,
                at: Located | None = None) -> Finding:
        """A finding located at an item, a request or anything with index/ts_ns (or nowhere)."""
        if at is None:
            return Finding(rule, family, section, message)
        conn = getattr(at, "conn", None)
        if conn is None and isinstance(at, OtherRecord):
            conn = getattr(at.record, "conn", None)
        return Finding(rule, family, section, message, at.index, at.ts_ns, conn)


def json_object(message: DecodedMessage) -> dict[str, Any] | None:
    """The payload of a well-formed message as an object, or None."""
    event = message.event
    if not isinstance(event, Message):
        return None
    try:
        value = event.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
