"""Protocol versions of the link (PROTOCOL.md §4 and §5)."""

from __future__ import annotations

from enum import StrEnum


class ProtocolVersion(StrEnum):
    P2 = "P2"  # b2215d26: new framing, bare `ping {}`, gzip audio, uint XXH32, string missingAudios
    P2_2 = "P2.2"  # `notification:ping {}`, otherwise P2
    P3 = "P3"  # zstd audio, otherwise P2.2
    P4 = "P4"  # broken intermediate: 64-bit XOR audio hashes
    P5 = "P5"  # signed int32, numeric missingAudios, hashes random per OU process
    P6 = "P6"  # signed XXH32 of the float bytes (the real-wire sample)
    R = "R"  # rokujyushi fork: P2.2 wire + notification:playbackStarted
    V1_2 = "v1.2"  # API v1.2 (openutau PR #2369 + openutau-vst-bridge), binary audio frames
    UNKNOWN = "unknown"

    @property
    def audio_codec(self) -> str:
        """The updateAudio codec of the line-protocol versions ("none" for v1.2 frames)."""
        if self in (ProtocolVersion.P2, ProtocolVersion.P2_2, ProtocolVersion.R):
            return "gzip"
        if self is ProtocolVersion.V1_2:
            return "none"
        return "zstd"

    @property
    def signed_hashes(self) -> bool:
        return self in (ProtocolVersion.P5, ProtocolVersion.P6)


# Versions the simulated peers speak (DESIGN.md §7).
SIMULATED_VERSIONS = (
    ProtocolVersion.P2,
    ProtocolVersion.P3,
    ProtocolVersion.P6,
    ProtocolVersion.R,
    ProtocolVersion.V1_2,
)
