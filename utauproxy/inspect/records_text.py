"""How the records that are not messages read on a timeline: connection events, discovery
events, user marks, capture gaps and recorder notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from utauproxy.inspect.fmt import clip, human_bytes
from utauproxy.inspect.summary import Summary
from utauproxy.records import (
    ConnectionRecord,
    ConnEvent,
    DiscoveryRecord,
    GapRecord,
    MarkRecord,
    NoticeRecord,
    Record,
)

_SENDER = {0: "OpenUtau", 1: "the plugin"}
_ENTRY_KEYS = ("name", "file", "upstream_port", "proxy_port", "api_version", "outcome", "reason")


@dataclass(frozen=True, slots=True)
class OtherDescription:
    type_kind: tuple[str, str]
    summary: Summary


def _pairs(values: dict[str, Any], keys: tuple[str, ...] | None = None) -> str:
    chosen = keys if keys is not None else tuple(values)
    return ", ".join(f"{key} {clip(str(values[key]), 60)}" for key in chosen
                     if key in values and values[key] not in (None, ""))


def _connection(record: ConnectionRecord) -> OtherDescription:
    text = _pairs(record.detail)
    if record.direction is not None and record.event in (ConnEvent.EOF, ConnEvent.RESET, ConnEvent.ERROR):
        sender = f"from {_SENDER[int(record.direction)]}"
        text = f"{sender}, {text}" if text else sender
    details = {"event": record.event.value, **record.detail}
    return OtherDescription(("conn", record.event.value), Summary(text, details))


def describe_other(record: Record) -> OtherDescription:
    """Type, kind and summary of a non-message record."""
    if isinstance(record, ConnectionRecord):
        return _connection(record)
    if isinstance(record, DiscoveryRecord):
        summary = Summary(_pairs(record.entry, _ENTRY_KEYS), {"event": record.event.value, **record.entry})
        return OtherDescription(("discovery", record.event.value), summary)
    if isinstance(record, MarkRecord):
        return OtherDescription(("mark", ""), Summary(f'"{clip(record.text, 120)}"', {"text": record.text}))
    if isinstance(record, GapRecord):
        text = (f"lost {record.lost_messages} messages, {human_bytes(record.lost_bytes)} "
                f"from {_SENDER[int(record.direction)]}: {record.reason}")
        details = {"lost_messages": record.lost_messages, "lost_bytes": record.lost_bytes,
                   "reason": record.reason}
        return OtherDescription(("gap", ""), Summary(text, details))
    if isinstance(record, NoticeRecord):
        return OtherDescription(("notice", record.level), Summary(clip(record.text, 160), {"text": record.text}))
    return OtherDescription(("record", type(record).__name__), Summary())
