"""Redactor: records in, redacted records out, plus the manifest of what it did."""

from __future__ import annotations

import dataclasses
import getpass
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from utauproxy.records import (
    CaptureHeader,
    ConnectionRecord,
    DiscoveryRecord,
    GapRecord,
    MarkRecord,
    MessageFlags,
    MessageRecord,
    NoticeRecord,
    Record,
)
from utauproxy.redact.audio import AudioSilencer
from utauproxy.redact.entries import file_name, redact_entry, redact_value
from utauproxy.redact.manifest import RULES, build_manifest
from utauproxy.redact.message import MessageRedactor
from utauproxy.redact.pieces import PieceJoiner
from utauproxy.redact.scrub import TextScrubber
from utauproxy.redact.tokens import CATEGORY_RULE, Category, Pseudonyms, key_id_of

_DETECT: Final = object()
_FALLBACK_PAYLOAD: Final = b'{"redacted": true}'


@dataclass(frozen=True, slots=True)
class RedactionOptions:
    key: bytes  # HMAC key (32 bytes); see keystore
    keep: frozenset[str] = frozenset()  # rule names NOT applied (`--keep lyrics`, `--keep-audio`)


def _detect_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database entry (containers): nothing to scrub
        return None


def _detect_home() -> str | None:
    try:
        return str(Path.home())
    except (RuntimeError, KeyError):
        return None


class Redactor:
    """Redacts one capture (or several with one key: pseudonyms are stable across files).

    `user` and `home` default to the current user's name and home folder; tests inject them.
    """

    def __init__(self, options: RedactionOptions, *, user: str | None | object = _DETECT,
                 home: str | None | object = _DETECT) -> None:
        unknown = set(options.keep) - set(RULES)
        if unknown:
            raise ValueError(f"unknown redaction rule(s): {', '.join(sorted(unknown))}")
        self._options = options
        self._keep = frozenset(options.keep)
        self._names = Pseudonyms(options.key)
        self._key_id = key_id_of(options.key)
        self._changed: dict[str, int] = {}
        self._fallbacks = 0
        user_name = _detect_user() if user is _DETECT else user
        home_dir = _detect_home() if home is _DETECT else home
        self._scrubber = TextScrubber(
            self._count_token, user=user_name if isinstance(user_name, str) else None,
            home=home_dir if isinstance(home_dir, str) else None,
            scrub_paths="paths" not in self._keep)
        self._audio = AudioSilencer()
        self._messages = MessageRedactor(self._token, self._ustx_token, self._scrubber.category_of,
                                         self.scrub_text, self._audio,
                                         audio_enabled="audio" not in self._keep)
        self._discovery = "discovery" not in self._keep

    @property
    def key_id(self) -> str:
        """16 hex characters identifying the key, never the key."""
        return self._key_id

    @property
    def options(self) -> RedactionOptions:
        return self._options

    # -- tokens -------------------------------------------------------------------------

    def _kept(self, category: Category) -> bool:
        return CATEGORY_RULE[category] in self._keep

    def _count_token(self, category: Category, value: str) -> str:
        rule = CATEGORY_RULE[category]
        self._changed[rule] = self._changed.get(rule, 0) + 1
        return self._names.token(category, value)

    def _token(self, category: Category, value: str) -> str | None:
        """A counted token for a structured value, learnt for later free-text scrubbing;
        None when the category's rule is kept."""
        if self._kept(category):
            return None
        self._scrubber.learn(category, value)
        return self._count_token(category, value)

    def _ustx_token(self, category: Category, value: str) -> str | None:
        # USTX lines are cached with the categories they changed, and counted on every use by
        # the caller; so this one does not count (see _sync_ustx_counts).
        if self._kept(category):
            return None
        self._scrubber.learn(category, value)
        return self._names.token(category, value)

    # -- public API -----------------------------------------------------------------------

    def scrub_text(self, text: str) -> str:
        """Free text with every sensitive value seen so far, the user's name and home folder
        and absolute paths replaced by their tokens."""
        return self._scrubber.scrub(text)

    def header(self, header: CaptureHeader) -> CaptureHeader:
        """The redacted header (discovery entries, note, extra); the manifest is not added."""
        discovery = header.discovery
        if self._discovery:
            discovery = [self._entry(entry) if isinstance(entry, dict) else entry
                         for entry in header.discovery]
        extra = {key: redact_value(value, self.scrub_text) for key, value in header.extra.items()}
        return dataclasses.replace(header, discovery=discovery,
                                   note=self.scrub_text(header.note), extra=extra)

    def record(self, record: Record) -> Record:
        """One record in, its redacted form out. A CONTINUED piece seen alone is scrubbed
        without its line's context: use `records()` for streams that may hold pieces."""
        try:
            return self._record(record)
        except Exception:  # noqa: BLE001 - a bug here must not leak the record's text
            self._fallbacks += 1
            return _fallback(record)

    def records(self, records: Iterable[Record]) -> Iterator[Record]:
        """Redacted records in the same order. Lines split into CONTINUED pieces are joined,
        redacted as one line and cut again into as many pieces (docs/redaction.md)."""
        joiner = PieceJoiner(self._whole_line, self.record)
        for record in records:
            yield from joiner.push(record)
        yield from joiner.finish()

    def manifest(self) -> dict[str, Any]:
        """Which rules ran and how many values each changed, the audio statistics; never a
        value."""
        changed = dict(self._changed)
        for category, count in self._messages.ustx.counts.items():
            rule = CATEGORY_RULE[category]
            changed[rule] = changed.get(rule, 0) + count
        changed["audio"] = changed.get("audio", 0) + self._messages.audio_changed
        audio = self._audio.summary() if "audio" not in self._keep else {"payloads": 0}
        return build_manifest(self._key_id, self._keep, changed, audio, self._fallbacks)

    # -- records --------------------------------------------------------------------------

    def _whole_line(self, raw: bytes, frame: bool) -> bytes:
        try:
            return self._messages.frame(raw) if frame else self._messages.line(raw)
        except Exception:  # noqa: BLE001 - see record()
            self._fallbacks += 1
            return _fallback_line(raw)

    def _record(self, record: Record) -> Record:
        if isinstance(record, MessageRecord):
            return self._message(record)
        if isinstance(record, ConnectionRecord):
            return dataclasses.replace(record, detail=self._detail(record.detail))
        if isinstance(record, DiscoveryRecord):
            if not self._discovery:
                return record
            return dataclasses.replace(record, entry=self._entry(record.entry))
        if isinstance(record, MarkRecord | NoticeRecord):
            return dataclasses.replace(record, text=self.scrub_text(record.text))
        if isinstance(record, GapRecord):
            return dataclasses.replace(record, reason=self.scrub_text(record.reason))
        return record

    def _message(self, record: MessageRecord) -> MessageRecord:
        if record.flags & MessageFlags.CONTINUED:
            # Alone, a piece may start inside a string: only the scrubber can help.
            raw = self._messages.scrub_bytes(record.raw)
        else:
            raw = self._whole_line(record.raw, bool(record.flags & MessageFlags.FRAME))
        return record if raw == record.raw else dataclasses.replace(record, raw=raw)

    def _detail(self, detail: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in detail.items():
            if key == "entry_name" and isinstance(value, str) and value and self._discovery:
                out[key] = self._entry_token("name", value)
            elif key == "entry_file" and isinstance(value, str) and self._discovery:
                out[key] = file_name(value, self._entry_token)
            else:
                out[key] = redact_value(value, self.scrub_text)
        return out

    def _entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        return redact_entry(entry, self._entry_token, self.scrub_text, self._json_text)

    def _entry_token(self, category: Category, value: str) -> str:
        # Discovery fields follow the discovery rule, whatever their category's rule says.
        self._scrubber.learn(category, value)
        self._changed["discovery"] = self._changed.get("discovery", 0) + 1
        return self._names.token(category, value)

    def _json_text(self, text: str) -> str:
        data = text.encode("utf-8", "surrogateescape")
        return self._messages.payload(data).decode("utf-8", "surrogateescape")


def _fallback_line(raw: bytes) -> bytes:
    head = raw.split(b" ", 1)[0][:80]
    safe = head if head.isascii() and head.replace(b":", b"").replace(b"-", b"").isalnum() else b"?"
    return safe + b" " + _FALLBACK_PAYLOAD


def _fallback(record: Record) -> Record:
    if isinstance(record, MessageRecord):
        return dataclasses.replace(record, raw=_fallback_line(record.raw))
    if isinstance(record, MarkRecord | NoticeRecord):
        return dataclasses.replace(record, text="[redacted]")
    if isinstance(record, DiscoveryRecord):
        return dataclasses.replace(record, entry={})
    if isinstance(record, ConnectionRecord):
        return dataclasses.replace(record, detail={})
    return record
