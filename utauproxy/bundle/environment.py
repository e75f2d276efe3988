"""environment.json: where the bundle and its capture come from (issue 7: "OS, utauproxy
version, discovery entry"). The discovery entries come from the redacted header when the
bundle is redacted; the machine making the bundle is described without its host or user name."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from typing import Any

from utauproxy import __version__
from utauproxy.records import CaptureHeader


def machine_description() -> dict[str, str]:
    """The machine making the bundle: OS, release, architecture, Python. No host name."""
    return {
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": sys.implementation.name,
    }


def environment(header: CaptureHeader, *, redacted: bool, now: datetime | None = None) -> dict[str, Any]:
    """The environment.json document. `header` is the capture header as it goes into the
    bundle (already redacted unless the user asked for no redaction)."""
    created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "bundle": {
            "created_utc": created,
            "utauproxy": __version__,
            "redacted": redacted,
            "machine": machine_description(),
        },
        "capture": {
            "writer": header.writer,
            "format": f"{header.format_major}.{header.format_minor}",
            "host_os": header.host_os,
            "dialect": header.dialect,
            "started_utc": header.started_utc,
            "note": header.note,
        },
        "discovery": [dict(entry) for entry in header.discovery],
    }
