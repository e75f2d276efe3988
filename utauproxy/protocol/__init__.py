"""The wire protocol, sans-IO: bytes in, events out (PROTOCOL.md; DESIGN.md §2-§3).

No sockets, no event loop, no logging here. The framer turns one direction's bytes into
events; lenient_json parses payloads as the peers write them; audio encodes, decodes and
hashes `updateAudio` payloads; version guesses the protocol version from traffic.
"""

from utauproxy.protocol.audio import (
    DecodedAudio,
    decode_audio_payload,
    encode_audio_payload,
    hash_matches,
    signed_xxh32,
    unsigned_xxh32,
    xxh64,
)
from utauproxy.protocol.events import (
    NEED_DATA,
    AudioFrame,
    Dialect,
    EndOfStream,
    Event,
    LinePiece,
    Malformed,
    Message,
)
from utauproxy.protocol.framer import (
    DEFAULT_MAX_LINE,
    MAX_FRAME_LENGTH,
    Framer,
    classify_line,
)
from utauproxy.protocol.header import Header, HeaderType, message_label, parse_header, split_line
from utauproxy.protocol.lenient_json import loads, plugin_hazards
from utauproxy.protocol.version import VersionDetector, VersionGuess, detect_version
from utauproxy.protocol.versions import ProtocolVersion

__all__ = [
    "DEFAULT_MAX_LINE",
    "MAX_FRAME_LENGTH",
    "NEED_DATA",
    "AudioFrame",
    "DecodedAudio",
    "Dialect",
    "EndOfStream",
    "Event",
    "Framer",
    "Header",
    "HeaderType",
    "LinePiece",
    "Malformed",
    "Message",
    "ProtocolVersion",
    "VersionDetector",
    "VersionGuess",
    "classify_line",
    "decode_audio_payload",
    "detect_version",
    "encode_audio_payload",
    "hash_matches",
    "loads",
    "message_label",
    "parse_header",
    "plugin_hazards",
    "signed_xxh32",
    "split_line",
    "unsigned_xxh32",
    "xxh64",
]
