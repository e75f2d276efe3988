"""`utauproxy diff A B`: a semantic diff of two captures (DESIGN.md §6, docs/diff.md).

Pure: capture files are read, never written; no sockets, no event loop, no logging.

    report = diff_captures(Path("a.utpcap"), Path("b.utpcap"), DiffOptions())
    print(report.render()); sys.exit(0 if report.equivalent else 1)
"""

from utauproxy.diff.audio import AudioVerdict, compare_audio
from utauproxy.diff.engine import diff_captures, summarize_capture
from utauproxy.diff.profile import ProtocolChange
from utauproxy.diff.report import Difference, DiffReport, OneSided, Side, Where
from utauproxy.diff.rules import NOISE_RULES, DiffOptions, PathFilter, parse_no_ignore

__all__ = [
    "NOISE_RULES",
    "AudioVerdict",
    "DiffOptions",
    "DiffReport",
    "Difference",
    "OneSided",
    "PathFilter",
    "ProtocolChange",
    "Side",
    "Where",
    "compare_audio",
    "diff_captures",
    "parse_no_ignore",
    "summarize_capture",
]
