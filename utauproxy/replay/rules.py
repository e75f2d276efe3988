"""Named noise rules of a replay comparison (DESIGN.md §6). Pure.

Always noise, never reported: request ids, timing, JSON key order, whitespace and number
formatting (`1500.0` == `1500`), compressed audio bytes (audio is compared decoded), the hash in
a v1.2 frame header (derived from the payload), pings (periodic: their count and schedule are
not compared), and reorders the protocol allows (reported as notes, see `ordering`).

Everything else is strict: each relaxation below must be asked for with `--ignore NAME`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

RULES: dict[str, str] = {
    "order": "Accept any arrival order. By default only the reorders PROTOCOL.md allows are "
             "accepted (the two debounce groups of §3.6.5, out-of-order responses of §6.2).",
    "extra": "Messages that arrive beyond what the capture holds are not divergences.",
    "missing": "Recorded messages that never arrive are not divergences.",
    "hashes": "Ignore audio hash values: audioHash, missingAudios entries, updateAudio keys, "
              "getAudio hashes (P5 hashes are random per OpenUtau process, and re-rendering "
              "on another machine can change P6 hashes: PROTOCOL.md §4, §6.8).",
    "audio": "Do not compare audio samples (updateAudio values, v1.2 frame payloads).",
    "ustx": "Do not compare the USTX project text (init, updateUstx).",
    "field:GLOB": "Ignore differences at field paths matching GLOB ('*' matches anything, "
                  "the rest is literal; a matching path ignores its whole subtree), e.g. "
                  "field:tracks[*].volume or field:data.ustx:*.",
}

HASH_FIELDS = frozenset({"audioHash", "missingAudios", "hash"})


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules a run relaxes; the default is strict."""

    names: frozenset[str] = frozenset()
    field_globs: tuple[str, ...] = ()
    # The recording is redacted and its key is not on this machine: a pseudonym matches any
    # string of its category (docs/redaction.md, "Comparing").
    redacted_tokens: bool = False

    def ignores(self, name: str) -> bool:
        return name in self.names

    def ignores_path(self, path: str) -> bool:
        return any(_glob(glob).fullmatch(path) for glob in self.field_globs)

    def describe(self) -> list[str]:
        return sorted(self.names) + [f"field:{glob}" for glob in self.field_globs]


def _glob(glob: str) -> re.Pattern[str]:
    """`*` matches anything (dots and brackets included); everything else is literal, so
    `tracks[*].volume` means every track's volume."""
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")))


def parse_rules(values: Iterable[str]) -> RuleSet:
    """`--ignore` values (each may hold several names separated by commas) as a RuleSet.
    Raises ValueError naming an unknown rule and listing the known ones."""
    names: set[str] = set()
    globs: list[str] = []
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            if item.startswith("field:") and len(item) > len("field:"):
                globs.append(item[len("field:") :])
            elif item in RULES and item != "field:GLOB":
                names.add(item)
            else:
                known = ", ".join(RULES)
                raise ValueError(f"unknown rule {item!r} (known: {known})")
    return RuleSet(frozenset(names), tuple(globs))
