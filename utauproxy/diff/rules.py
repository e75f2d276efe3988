"""The named noise rules of `utauproxy diff` and the options of one diff. Pure.

Each rule names something that differs between two recordings of the same scenario without
meaning anything (DESIGN.md §6). All are on by default; `--no-ignore RULE` switches one off,
and then what it would have hidden is reported as a difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

NOISE_RULES: dict[str, str] = {
    "ids": "Request ids (fresh GUIDs in every run). Requests are aligned by kind and content, and "
           "responses are paired through their requests. Strict: aligned requests must carry the "
           "same id.",
    "timing": "Timestamps and the gaps between messages. Strict: an aligned message whose time since "
              "its connection opened differs by more than --time-tolerance is reported.",
    "pings": "The plugin's pings: how many, and how far apart (PROTOCOL.md §2.2). Strict: ping "
             "counts per connection and direction must match, and the median gap must agree "
             "within --time-tolerance.",
    "json-format": "JSON key order, whitespace and number formatting (1500.0 == 1500), and how the "
                   "USTX YAML is written. Strict: the same value written differently is reported.",
    "audio-encoding": "Compressed audio bytes (zstd/gzip frames in base64) when the decoded samples "
                      "are equal: encoder versions differ (DESIGN.md §6). Strict: reported.",
    "hash-values": "Audio hashes are references to the audio they name: a hash that changed because "
                   "its audio changed is reported once, as that audio's difference, and equal audio "
                   "under different hashes is no difference (P5 hashes are random per OpenUtau "
                   "process, PROTOCOL.md §4). Strict: every differing hash value is reported "
                   "(values, not spellings: P3's unsigned and P6's signed form of one XXH32 are "
                   "one value, and the spelling is a protocol change).",
}

ALL = "all"
DEFAULT_TIME_TOLERANCE_S = 0.25
DEFAULT_MEMORY_BUDGET = 64 << 20


@dataclass(frozen=True, slots=True)
class DiffOptions:
    """What one diff treats as noise. `strict` holds the rules switched off."""

    strict: frozenset[str] = frozenset()
    ignore_paths: tuple[str, ...] = ()
    time_tolerance_s: float = DEFAULT_TIME_TOLERANCE_S
    # Payload bytes held at once while re-reading messages for details (see engine.py).
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    examples: int = 3  # message references kept per difference

    def ignores(self, rule: str) -> bool:
        """Whether noise rule `rule` is on (its differences are hidden)."""
        return rule not in self.strict


def parse_no_ignore(values: Iterable[str]) -> frozenset[str]:
    """`--no-ignore` values (repeatable, comma-separated, `all` for every rule) as the set of
    strict rules. Raises ValueError naming an unknown rule and listing the known ones."""
    strict: set[str] = set()
    for value in values:
        for name in filter(None, (part.strip() for part in value.split(","))):
            if name == ALL:
                strict.update(NOISE_RULES)
            elif name in NOISE_RULES:
                strict.add(name)
            else:
                raise ValueError(f"unknown noise rule {name!r} (known: {', '.join(NOISE_RULES)}, {ALL})")
    return frozenset(strict)


class PathFilter:
    """`--ignore-path` values, matched exactly: a path is ignored when it equals one of them or
    lies inside it (`tracks[0]` covers `tracks[0].pan`, never `tracks[0]x` or `my.tracks[0]`).
    `[*]` stands for any one list index or note position, the only wildcard."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._patterns = [_compile(path) for path in paths if path]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def ignores(self, path: str) -> bool:
        return any(pattern.match(path) for pattern in self._patterns)


def _compile(path: str) -> re.Pattern[str]:
    escaped = re.escape(path).replace(re.escape("[*]"), r"\[[^\]]*\]")
    # The path itself, or anything below it: the next character starts a child segment.
    return re.compile(escaped + r"(?=\Z|[.\[:])")
