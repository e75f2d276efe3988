"""What differs between protocol versions, for the simulated peers (PROTOCOL.md §4, §5.1).

One frozen record per version; the peers consult it instead of sprinkling version checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from utauproxy.peers.jsonstyle import CHOC, NEWTONSOFT, NLOHMANN, SYSTEM_TEXT_JSON, JsonStyle
from utauproxy.protocol.audio import signed_xxh32, unsigned_xxh32, xxh64
from utauproxy.protocol.events import Dialect
from utauproxy.protocol.versions import ProtocolVersion as V

HashKind = Literal["xxh32_uint", "xxh32_int", "random_int", "xxh64"]

_UINT32 = 1 << 32


@dataclass(frozen=True, slots=True)
class VersionRules:
    version: V
    dialect: Dialect
    # -- plugin side --
    ping_line: bytes
    ping_from_timer: bool  # R, v1.2: a timer; S: checked after every reader turn (§2.2)
    in_order: bool  # R, v1.2 answer on the reader; S answers on a thread per request (§6.2)
    backlog_second_client: bool  # v1.2 bridge does not accept while busy (§5.1)
    plugin_json: JsonStyle
    bridge: bool  # v1.2: bridge discovery file, sorted 3-key envelopes, audio pulls
    layout_hash_optional: bool  # P2.1+ (PROTOCOL.md §4)
    # -- both sides --
    codec: Literal["gzip", "zstd"] | None  # None: raw data frames (v1.2)
    hash_kind: HashKind
    hashes_as_strings: bool  # v1.2: audioHash and missingAudios are JSON strings
    missing_as_strings: bool  # P2/P3/R plugins answer decimal strings (§4)
    playback_started: bool  # R and v1.2 plugins send notification:playbackStarted
    # -- OpenUtau side --
    ou_json: JsonStyle
    single_debounce: bool  # P2: one 5 s debounce, ustx->tracks->layout->audio in sequence
    ustx_debounce: float  # (a) updateUstx + updateTracks (+ updateProjectInfo in v1.2)
    layout_debounce: float  # (b) updatePartLayout -> updateAudio / pulls
    sync_on_connect_and_render: bool  # P2.1+: DawConnected/PartRendered restart debounces
    flush_on_disconnect: bool  # P2.1+ (§3.6.7)
    sends_close: bool  # only v1.2's OpenUtau sends `close` (§2.1, §5.1)

    @property
    def signed(self) -> bool:
        return self.hash_kind in ("xxh32_int", "random_int")

    def normalize_hash(self, value: int) -> int:
        """A hash as this version's plugin stores it: uint32, int32 or uint64."""
        if self.hash_kind == "xxh64":
            return value % (1 << 64)
        value %= _UINT32
        if self.signed and value >= 1 << 31:
            value -= _UINT32
        return value

    def audio_hash(self, samples: bytes, process_salt: bytes = b"") -> int:
        """The audioHash OpenUtau of this version computes for rendered samples."""
        if self.hash_kind == "xxh32_uint":
            return unsigned_xxh32(samples)
        if self.hash_kind == "xxh32_int":
            return signed_xxh32(samples)
        if self.hash_kind == "xxh64":
            return xxh64(samples)
        # P5: XOR of ValueTuple.GetHashCode(), randomised per OpenUtau process (§4).
        return signed_xxh32(process_salt + samples)

    def hash_verifiable(self) -> bool:
        return self.hash_kind != "random_int"


def _line(version: V, **changes: object) -> VersionRules:
    base: dict[str, object] = dict(
        version=version, dialect=Dialect.LINE, ping_line=b"notification:ping {}",
        ping_from_timer=False, in_order=False, backlog_second_client=False, plugin_json=CHOC,
        bridge=False, layout_hash_optional=True, codec="zstd", hash_kind="xxh32_uint",
        hashes_as_strings=False, missing_as_strings=True, playback_started=False,
        ou_json=NEWTONSOFT, single_debounce=False, ustx_debounce=1.0, layout_debounce=5.0,
        sync_on_connect_and_render=True, flush_on_disconnect=True, sends_close=False,
    )
    base.update(changes)
    return VersionRules(**base)  # type: ignore[arg-type]


RULES: dict[V, VersionRules] = {
    V.P2: _line(V.P2, ping_line=b"ping {}", codec="gzip", single_debounce=True,
                ustx_debounce=5.0, layout_debounce=5.0, sync_on_connect_and_render=False,
                flush_on_disconnect=False, layout_hash_optional=False),
    V.P2_2: _line(V.P2_2, codec="gzip"),
    V.P3: _line(V.P3),
    V.P5: _line(V.P5, hash_kind="random_int", missing_as_strings=False, layout_debounce=1.0),
    V.P6: _line(V.P6, hash_kind="xxh32_int", missing_as_strings=False, layout_debounce=1.0),
    V.R: _line(V.R, codec="gzip", ping_from_timer=True, in_order=True, playback_started=True),
    V.V1_2: _line(V.V1_2, dialect=Dialect.V1_2, ping_from_timer=True, in_order=True,
                  backlog_second_client=True, plugin_json=NLOHMANN, bridge=True, codec=None,
                  hash_kind="xxh64", hashes_as_strings=True, playback_started=True,
                  ou_json=SYSTEM_TEXT_JSON, sends_close=True),
}


def rules_for(version: V | str) -> VersionRules:
    """The rules of a simulated version; P4 (a broken intermediate) and unknown are refused."""
    key = V(version)
    if key not in RULES:
        simulated = ", ".join(v.value for v in RULES)
        raise ValueError(f"protocol version {key.value} is not simulated (choose {simulated})")
    return RULES[key]
