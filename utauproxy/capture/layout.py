"""Fixed numbers of the capture format v1 (docs/capture-format.md is the normative text).

Everything here is stored in files: never renumber, never reuse a retired value.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

EXTENSION: Final = ".utpcap"

# The format version, separate from the release version. A reader refuses a newer major and
# migrates an older minor (capture/migrate.py).
FORMAT_MAJOR: Final = 1
FORMAT_MINOR: Final = 1  # 1.1 added the AUDIO record (type 9)

# Application tag numbers. Not (yet) registered with IANA; all share the "UTP" prefix so that a
# reader can recognise (and skip) item kinds added by a later minor: 0x555450xx.
TAG_LABEL: Final = 0x55545058  # "UTPX": the RFC 9277 label of the whole file
TAG_CHUNK: Final = 0x55545043  # "UTPC"
TAG_FOOTER: Final = 0x55545046  # "UTPF"
TAG_TRAILER: Final = 0x55545054  # "UTPT"
TAG_FAMILY_MASK: Final = 0xFFFFFF00
TAG_FAMILY: Final = 0x55545000

# RFC 9277 §2.2 label for a CBOR sequence: tag 55800 around the 4-byte application tag around
# the byte string "BOR".
LABEL: Final = bytes.fromhex("d9d9f8") + b"\xda" + TAG_LABEL.to_bytes(4, "big") + b"\x43BOR"


def tag_head(tag: int) -> bytes:
    """The 5 bytes that start an item tagged with a 4-byte tag number."""
    return b"\xda" + tag.to_bytes(4, "big")


CHUNK_HEAD: Final = tag_head(TAG_CHUNK)
# After damage a reader searches for this (the start of every item tag) and resumes at the
# first hit that is a chunk, footer or trailer head.
ITEM_TAG_PREFIX: Final = tag_head(TAG_FAMILY)[:4]
FOOTER_HEAD: Final = tag_head(TAG_FOOTER)
TRAILER_HEAD: Final = tag_head(TAG_TRAILER)

# Chunks and the footer put a CRC-32 first, always in the 4-byte form (0x1a), so that it sits
# at a fixed offset: tag head (5) + array head (1) + 0x1a (1) = 7; the CRC covers every byte of
# the item except these 4.
CRC_OFFSET: Final = 7
CRC_END: Final = CRC_OFFSET + 4
CHUNK_ARRAY_HEAD: Final = 0x83  # [crc, meta, data]
FOOTER_ARRAY_HEAD: Final = 0x82  # [crc, map]
UINT32_HEAD: Final = 0x1A

# Trailer: tag head, array(2), uint64 in its 8-byte form (the footer's offset), bstr(8) magic.
TRAILER_MAGIC: Final = b"UTPX-END"
TRAILER_SIZE: Final = 5 + 1 + 9 + 9


class Codec(IntEnum):
    """How a chunk's data bytes are stored."""

    STORED = 0
    ZSTD = 1


class RecordType(IntEnum):
    """The first element of every record array inside a chunk."""

    MESSAGE = 0  # [0, ts, conn, dir, flags, raw]
    CONNECTION = 1  # [1, ts, conn, event, dir|null, detail]
    DISCOVERY = 2  # [2, ts, event, entry]
    MARK = 3  # [3, ts, text]
    GAP = 4  # [4, ts, conn, dir, lost_bytes, lost_messages, reason]
    NOTICE = 5  # [5, ts, level, text]
    MESSAGE_KEY = 6  # [6, ts, conn, dir, flags, raw, stream, base_id]
    MESSAGE_DELTA = 7  # [7, ts, conn, dir, flags, stream, base_id, raw_len, frame]
    BASE_COPY = 8  # [8, ts, conn, stream, base_id, raw]   (internal: never yielded)
    MESSAGE_AUDIO = 9  # [9, ts, conn, dir, flags, skeleton, [blob, ...]]   (format 1.1)


class BlobForm(IntEnum):
    """The second element of each blob of an AUDIO record (format 1.1)."""

    PLAIN = 0  # [at, 0, data]
    KEY = 1  # [at, 1, data, stream, base_id]
    DELTA = 2  # [at, 2, frame, stream, base_id, new_base_id, size]


# Hard limits the writer enforces so that everything it writes passes the default ReadLimits.
MAX_MESSAGE_BYTES: Final = (256 << 20) + (64 << 10)  # a v1.2 frame (256 MiB) plus its header
MAX_CHUNK_BYTES_OPTION: Final = 32 << 20  # largest chunk_max_bytes a writer accepts
DELTA_MAX_BYTES: Final = 16 << 20  # larger messages are never keys or deltas
# Longer updateAudio lines are stored as they are: a reader holds a line's chunk and the line
# it rebuilds, and both must fit ReadLimits.max_chunk_bytes (288 MiB).
AUDIO_LINE_MAX_BYTES: Final = 128 << 20
MAX_VALUE_DEPTH: Final = 32  # nesting of caller-supplied maps and lists (detail, entry, extra)
