"""Reading older minor versions: a chain of pure, one-step upgrades (DESIGN.md §4).

A step registered under (major, minor) turns the header map and the record arrays of a file
written as major.minor into those of major.(minor + 1). The reader runs every step between
the file's version and its own, in order. Format 1.0 is the first version, so the default
chain starts there. A step that changes something looks like this:

    MIGRATIONS = MigrationChain(steps={(1, 0): Migration(header_1_0, record_1_0)})

Steps work on the stored shapes (text-keyed map, `[type_code, ts_ns, ...]` arrays), never on
dataclasses, and must not raise for well-formed input: a step that raises makes the record
count as damage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from utauproxy.capture.layout import FORMAT_MAJOR, FORMAT_MINOR
from utauproxy.errors import CaptureCorrupt, CaptureFormatTooNew

Version: TypeAlias = tuple[int, int]
HeaderStep: TypeAlias = Callable[[dict[str, Any]], dict[str, Any]]
# Returns the upgraded array, or None to drop a record that has no equivalent.
RecordStep: TypeAlias = Callable[[list[Any]], list[Any] | None]


def _same_header(header: dict[str, Any]) -> dict[str, Any]:
    return header


def _same_record(record: list[Any]) -> list[Any] | None:
    return record


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: from the version it is registered under to the next minor."""

    header: HeaderStep = _same_header
    record: RecordStep = _same_record


@dataclass(frozen=True, slots=True)
class MigrationChain:
    """The version a reader understands and the steps that lead to it."""

    target: Version = (FORMAT_MAJOR, FORMAT_MINOR)
    steps: Mapping[Version, Migration] = field(default_factory=dict)

    def plan(self, version: Version) -> tuple[Migration, ...]:
        """The steps from `version` to the target. Raises CaptureFormatTooNew for a newer
        major and CaptureCorrupt for an unknown older one or a gap in the chain. A newer
        minor needs no steps: its unknown keys and record types are skipped."""
        major, minor = version
        target_major, target_minor = self.target
        if major > target_major:
            raise CaptureFormatTooNew(
                f"this capture was written by a newer utauproxy (format {major}.{minor}); "
                "upgrade utauproxy to read it"
            )
        if major < target_major:
            raise CaptureCorrupt(f"capture format {major}.{minor} is not supported")
        steps = []
        for step_minor in range(minor, target_minor):
            step = self.steps.get((major, step_minor))
            if step is None:
                raise CaptureCorrupt(f"no migration from capture format {major}.{step_minor}")
            steps.append(step)
        return tuple(steps)


def upgrade_header(steps: tuple[Migration, ...], header: dict[str, Any]) -> dict[str, Any]:
    """Run the header through every step."""
    for step in steps:
        header = step.header(header)
    return header


def upgrade_record(steps: tuple[Migration, ...], record: list[Any]) -> list[Any] | None:
    """Run one record array through every step; None when a step drops it."""
    upgraded: list[Any] | None = record
    for step in steps:
        if upgraded is None:
            return None
        upgraded = step.record(upgraded)
    return upgraded


# 1.0 -> 1.1 only added a record type (AUDIO, 9): a 1.0 file already reads as 1.1.
MIGRATIONS = MigrationChain(steps={(1, 0): Migration()})
