"""utauproxy: record, replay, inspect and diff the OpenUtau <-> DAW plugin link.

The public Python API (docs/python-api.md) is importable from here:

    from utauproxy import open_capture, recording, replaying, Divergence

It is loaded on first use, so importing a pure module such as `utauproxy.records` does not
pull in the event loop, sockets or the capture writer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from utauproxy.api import (
        REPLAY_RULES,
        Capture,
        CapturedMessage,
        Divergence,
        DivergenceKind,
        DualContext,
        MessageDivergence,
        Recording,
        ReplayOptions,
        ReplayReport,
        ReplaySession,
        label_of,
        open_capture,
        recording,
        render_human,
        render_json,
        render_junit,
        replay_options,
        replaying,
        replaying_with,
    )
    from utauproxy.diff import DiffOptions, DiffReport, diff_captures
    from utauproxy.errors import (
        CaptureCorrupt,
        CaptureError,
        CaptureFormatTooNew,
        DiscoveryError,
        UtauproxyError,
    )
    from utauproxy.records import (
        CaptureHeader,
        ConnectionRecord,
        ConnEvent,
        Direction,
        DiscoveryRecord,
        MessageFlags,
        MessageRecord,
        Record,
    )

__all__ = [
    # the API (utauproxy.api)
    "REPLAY_RULES", "Capture", "CapturedMessage", "Divergence", "DivergenceKind", "DualContext",
    "MessageDivergence", "Recording", "ReplayOptions", "ReplayReport", "ReplaySession",
    "label_of", "open_capture", "recording", "render_human", "render_json", "render_junit",
    "replay_options", "replaying", "replaying_with",
    # diff (utauproxy.diff)
    "DiffOptions", "DiffReport", "diff_captures",
    # errors (utauproxy.errors)
    "CaptureCorrupt", "CaptureError", "CaptureFormatTooNew", "DiscoveryError", "UtauproxyError",
    # records (utauproxy.records)
    "CaptureHeader", "ConnectionRecord", "ConnEvent", "Direction", "DiscoveryRecord",
    "MessageFlags", "MessageRecord", "Record",
    "__version__",
]

_ERRORS = {"CaptureCorrupt", "CaptureError", "CaptureFormatTooNew", "DiscoveryError",
           "UtauproxyError"}
_RECORDS = {"CaptureHeader", "ConnectionRecord", "ConnEvent", "Direction", "DiscoveryRecord",
            "MessageFlags", "MessageRecord", "Record"}


_DIFF = {"DiffOptions", "DiffReport", "diff_captures"}


def _home(name: str) -> str | None:
    if name in _DIFF:
        return "utauproxy.diff"
    if name in _ERRORS:
        return "utauproxy.errors"
    if name in _RECORDS:
        return "utauproxy.records"
    if name in __all__ and name != "__version__":
        return "utauproxy.api"
    return None


def __getattr__(name: str) -> Any:
    home = _home(name)
    if home is None:
        raise AttributeError(f"module 'utauproxy' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
