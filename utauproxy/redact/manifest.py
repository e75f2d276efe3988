"""The redaction manifest: which rules ran and how many values each changed, never a value.
It lives in the capture header's `extra[MANIFEST_KEY]`."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from utauproxy.records import CaptureHeader

RULES: Final[tuple[str, ...]] = ("lyrics", "names", "paths", "text", "audio", "discovery")
MANIFEST_KEY: Final = "redaction"
MANIFEST_FORMAT: Final = 1


def build_manifest(key_id: str, keep: frozenset[str], changed: dict[str, int],
                   audio: dict[str, Any], errors: int) -> dict[str, Any]:
    """The manifest dict (see docs/redaction.md)."""
    return {
        "format": MANIFEST_FORMAT,
        "key_id": key_id,
        "rules": {rule: {"applied": rule not in keep, "changed": changed.get(rule, 0)}
                  for rule in RULES},
        "audio": audio,
        "fallbacks": errors,
    }


def manifest_of(header: CaptureHeader) -> dict[str, Any] | None:
    """The manifest of a redacted capture; None if the capture was not redacted."""
    manifest = header.extra.get(MANIFEST_KEY)
    if isinstance(manifest, dict) and "rules" in manifest and "key_id" in manifest:
        return manifest
    return None


def with_manifest(header: CaptureHeader, manifest: dict[str, Any]) -> CaptureHeader:
    """A copy of `header` that carries `manifest` in extra[MANIFEST_KEY]."""
    return dataclasses.replace(header, extra={**header.extra, MANIFEST_KEY: manifest})
