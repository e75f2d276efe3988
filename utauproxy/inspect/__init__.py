"""Reading captures for people and tools, pure: records in, timeline lines, summaries and
export rows out (the CLI's show, info and export do the I/O).

decode      records back into framer events (long lines joined, frames parsed)
correlate   requests matched to responses by id per connection
timeline    one line per record for `show`, with filters in `filters`
summary     per-kind payload summaries (ustx, audio, ...)
stats/info  the `info` screen, from the footer or a scan; latency percentiles in `latency`
export      jsonl rows, HAR-like entries, raw byte streams

The names below are imported on first use: `info` imports a submodule of this package
without paying for the timeline, its summaries and PyYAML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from utauproxy.inspect.correlate import (
        Answer,
        Outcome,
        PendingRequest,
        RequestTracker,
    )
    from utauproxy.inspect.decode import (
        Decoded,
        DecodedMessage,
        LongLine,
        OtherRecord,
        decode_records,
    )
    from utauproxy.inspect.latency import LatencyRecorder
    from utauproxy.inspect.timeline import Timeline, TimelineLine

_HOMES = {
    "Answer": "correlate", "Outcome": "correlate", "PendingRequest": "correlate",
    "RequestTracker": "correlate", "Decoded": "decode", "DecodedMessage": "decode",
    "LongLine": "decode", "OtherRecord": "decode", "decode_records": "decode",
    "LatencyRecorder": "latency", "Timeline": "timeline", "TimelineLine": "timeline",
}

__all__ = [
    "Answer",
    "Decoded",
    "DecodedMessage",
    "LatencyRecorder",
    "LongLine",
    "OtherRecord",
    "Outcome",
    "PendingRequest",
    "RequestTracker",
    "Timeline",
    "TimelineLine",
    "decode_records",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
