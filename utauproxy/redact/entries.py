"""Discovery entries, connection details and other small dicts of strings (rules "discovery",
"paths", "names"). Entries come from the header (with the file's original "text") and from
DiscoveryRecords; their name is a plugin instance name the user chose (PROTOCOL.md §1.2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from utauproxy.redact.tokens import Category

# File names that carry no user data: the S plugin's uuid (§1.2) and B's bridge name (§5.1).
_NEUTRAL_FILE = re.compile(
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|OpenUtau Bridge \d+)"
    r"(?:\.json)?\Z")
_NAME_FIELDS = frozenset({"name", "entry_name", "Name"})
_FILE_FIELDS = frozenset({"file", "entry_file", "filename"})
_TEXT_FIELDS = frozenset({"text", "content", "original"})

Scrub = Callable[[str], str]
NameToken = Callable[[Category, str], str]
JsonRedact = Callable[[str], str]


def redact_value(value: Any, scrub: Scrub) -> Any:
    """Any JSON-like value with every string scrubbed (keys too, they may be file names)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k) if isinstance(k, str) else k: redact_value(v, scrub)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item, scrub) for item in value]
    return value


def file_name(value: str, token: NameToken) -> str:
    """A discovery file name: kept when it is a uuid or a bridge name, else a path token."""
    base = value.replace("\\", "/").rsplit("/", 1)[-1]
    if _NEUTRAL_FILE.match(base) and base == value:
        return value
    return token("path", value)


def redact_entry(entry: dict[str, Any], token: NameToken, scrub: Scrub,
                 json_text: JsonRedact) -> dict[str, Any]:
    """A discovery entry with its name tokenised, its original file text redacted as JSON,
    an unusual file name and every other string scrubbed."""
    # Names first: the file's text may repeat the name, and the scrubber learns it here.
    names = {key: token("name", value) for key, value in entry.items()
             if isinstance(value, str) and key in _NAME_FIELDS and value}
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in names:
            out[key] = names[key]
        elif isinstance(value, str) and key in _TEXT_FIELDS:
            out[key] = json_text(value)
        elif isinstance(value, str) and key in _FILE_FIELDS:
            out[key] = file_name(value, token)
        else:
            out[key] = redact_value(value, scrub)
    return out
