"""`utauproxy bundle`: a redacted, trimmed bug-report .zip of a capture (issue 7; docs/bundle.md).

durations    parsing `--last 5m`, `--from 12:30`, `--max-size 8MB`
trim         TrimSpec, plan_trim and TrimFilter: which records to keep, and what was dropped
divergence   `--until-divergence`: where a replay report's first divergence is in the capture
environment  environment.json
readme       README.txt
passes       the passes over the records (end, check, write with the timeline)
zipout       the zip, and putting it in place without overwriting
build        build_bundle: everything above, within the size limit
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from utauproxy.bundle.durations import parse_duration, parse_size
from utauproxy.bundle.trim import (
    TrimFilter,
    TrimPlan,
    TrimResult,
    TrimSpec,
    Window,
    plan_trim,
    trim_records,
)
from utauproxy.bundle.zipout import BundleError

if TYPE_CHECKING:
    from utauproxy.bundle.build import (
        DEFAULT_MAX_SIZE,
        BundleOptions,
        BundleReport,
        SizeCap,
        build_bundle,
    )

# build.py pulls in the capture writer, the checker and the redactor: loaded on first use, so
# that the pure trimming code imports alone.
_LAZY = {"DEFAULT_MAX_SIZE", "BundleOptions", "BundleReport", "SizeCap", "build_bundle"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("utauproxy.bundle.build"), name)
    raise AttributeError(f"module 'utauproxy.bundle' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_SIZE",
    "BundleError",
    "BundleOptions",
    "BundleReport",
    "SizeCap",
    "TrimFilter",
    "TrimPlan",
    "TrimResult",
    "TrimSpec",
    "Window",
    "build_bundle",
    "parse_duration",
    "parse_size",
    "plan_trim",
    "trim_records",
]
