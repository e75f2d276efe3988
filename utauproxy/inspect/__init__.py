"""Reading captures for people and tools, pure: records in, timeline lines, summaries and
export rows out (the CLI's show, info and export do the I/O).

decode      records back into framer events (long lines joined, frames parsed)
correlate   requests matched to responses by id per connection
timeline    one line per record for `show`, with filters in `filters`
summary     per-kind payload summaries (ustx, audio, ...)
stats/info  the `info` screen, from the footer or a scan; latency percentiles in `latency`
export      jsonl rows, HAR-like entries, raw byte streams
"""

from utauproxy.inspect.correlate import Answer, Outcome, PendingRequest, RequestTracker
from utauproxy.inspect.decode import Decoded, DecodedMessage, LongLine, OtherRecord, decode_records
from utauproxy.inspect.latency import LatencyRecorder
from utauproxy.inspect.timeline import Timeline, TimelineLine

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
