"""Discovery entries: parsed the way OpenUtau reads them, rendered the way the plugin writes them.

Pure: text in, values out (PROTOCOL.md §1.2, §5.1). OpenUtau (S) deserialises an entry into
`DawServer(int port, string name)` with Newtonsoft: member names match case-insensitively,
extra members are ignored and a missing `port` is 0. A file that does not parse is, for us,
"unreadable now": the plugin's rewrite is truncate-then-write (§1.3), so a reader can catch it
empty or half written, and it will parse again a moment later.

A rewritten entry keeps the original's members and style, points `port` at our listener, marks
the name, and embeds what is needed to undo it under the extra key `utauproxy` (ignored by
OpenUtau, §1.2): `{"upstream_port": N, "original": "<exact original text>", "pid": P, ...}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from utauproxy.protocol.events import Dialect

OURS_KEY = "utauproxy"
_BOM = "\ufeff"
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


class EntryStyle(StrEnum):
    # choc `toString(false)`: insertion order, `": "` and `", "`, non-ASCII as \uXXXX (§1.2).
    CHOC = "choc"
    # nlohmann `dump()` as written by the v1.2 bridge: compact, keys sorted, raw UTF-8 (§5.1).
    COMPACT_SORTED = "compact-sorted"


@dataclass(frozen=True, slots=True)
class Embedded:
    """The restore data a rewritten entry carries about itself."""

    upstream_port: int
    original: str
    pid: int | None
    mark: str | None = None
    session: str | None = None  # one takeover run; tells two runs in one process apart


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """An entry OpenUtau would accept as JSON. `port` may still be dead or out of range."""

    port: int
    name: str | None
    api_version: str | None
    members: dict[str, Any]
    embedded: Embedded | None = None

    @property
    def dialect(self) -> Dialect:
        return Dialect.V1_2 if self.api_version is not None else Dialect.LINE

    @property
    def style(self) -> EntryStyle:
        return EntryStyle.COMPACT_SORTED if self.api_version is not None else EntryStyle.CHOC

    @property
    def is_ours(self) -> bool:
        return self.embedded is not None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Not an entry right now (empty, half written, garbage). Never a reason to delete it."""

    reason: str


def decode_entry(data: bytes) -> str | Unreadable:
    """The file's exact text (a UTF-8 BOM kept), or why it is not text."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Unreadable(f"not UTF-8 (byte {error.start})")


def parse_entry(text: str) -> ParsedEntry | Unreadable:
    """Read an entry by OpenUtau's (Newtonsoft) rules; see the module docstring."""
    body = text[1:] if text.startswith(_BOM) else text
    if not body.strip():
        return Unreadable("empty")
    try:
        members = json.loads(body)
    except (ValueError, RecursionError) as error:
        return Unreadable(f"not JSON: {error}")
    if not isinstance(members, dict):
        return Unreadable(f"not a JSON object but {type(members).__name__}")
    try:
        port = _port_value(_member(members, "port"))
        name = _name_value(_member(members, "name"))
    except ValueError as error:
        return Unreadable(str(error))
    api_version = _member(members, "apiVersion")
    return ParsedEntry(
        port=port,
        name=name,
        api_version=None if api_version is None else str(api_version),
        members=members,
        embedded=_embedded(members.get(OURS_KEY)),
    )


def is_ours(text: str) -> bool:
    """True when `text` is an entry rewritten by utauproxy (it carries the `utauproxy` key)."""
    parsed = parse_entry(text)
    return isinstance(parsed, ParsedEntry) and parsed.is_ours


def marked_name(name: str | None, mark: str) -> str:
    """The display name of our entry: `Vocal (recording)`."""
    return f"{name} ({mark})" if name else f"({mark})"


def render_takeover(
    parsed: ParsedEntry,
    original: str,
    *,
    proxy_port: int,
    mark: str,
    pid: int,
    session: str | None = None,
) -> str:
    """The text of our entry for `parsed` (read from `original`), pointing at `proxy_port`."""
    members = dict(parsed.members)
    members[_member_key(members, "port") or "port"] = proxy_port
    members[_member_key(members, "name") or "name"] = marked_name(parsed.name, mark)
    members[OURS_KEY] = {
        "upstream_port": parsed.port,
        "original": original,
        "pid": pid,
        "mark": mark,
    }
    if session is not None:
        members[OURS_KEY]["session"] = session
    if parsed.style is EntryStyle.COMPACT_SORTED:
        return json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return json.dumps(members, separators=(", ", ": "), ensure_ascii=True)


def _member_key(members: dict[str, Any], wanted: str) -> str | None:
    """The last key matching `wanted` case-insensitively (Newtonsoft: the last value wins)."""
    found = None
    for key in members:
        if key.lower() == wanted.lower():
            found = key
    return found


def _member(members: dict[str, Any], wanted: str) -> Any:
    key = _member_key(members, wanted)
    return None if key is None else members[key]


def _port_value(value: Any) -> int:
    # Newtonsoft's ReadAsInt32: integers and integer strings; a float or bool throws.
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            if "_" in value:  # Python's int() allows digit separators; .NET does not
                raise ValueError
            value = int(value.strip(), 10)
        except ValueError:
            raise ValueError(f"port {value!r} is not an integer") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"port {value!r} is not an integer")
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise ValueError(f"port {value} does not fit an int")
    return value


def _name_value(value: Any) -> str | None:
    # Newtonsoft turns any primitive into a string; objects and arrays throw.
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"name is a JSON {type(value).__name__}, not a string")


def _embedded(value: Any) -> Embedded | None:
    if not isinstance(value, dict):
        return None
    port, original, pid = value.get("upstream_port"), value.get("original"), value.get("pid")
    if isinstance(port, bool) or not isinstance(port, int) or not isinstance(original, str):
        return None
    mark, session = value.get("mark"), value.get("session")
    return Embedded(
        upstream_port=port,
        original=original,
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        mark=mark if isinstance(mark, str) else None,
        session=session if isinstance(session, str) else None,
    )
