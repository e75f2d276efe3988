"""What the simulated plugin does with each line, without any I/O (PROTOCOL.md §2.2, §3, §5.1).

`PluginLogic.on_line` takes one received line and returns actions (reply, crash, close, pull
audio); plugin.py performs them. The S plugin parses every payload with choc *before*
dispatch and aborts the host on anything choc rejects, and its notification handlers are not
exception-safe: those cases become `Crash` actions, recorded instead of taken (unless the
plugin is asked to abort like the real one). The v1.2 bridge logs and ignores bad lines.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from utauproxy.peers.rules import VersionRules
from utauproxy.protocol.audio import decode_audio_payload
from utauproxy.protocol.header import HeaderType, parse_header, split_line
from utauproxy.protocol.lenient_json import loads

_STOUL = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_ULONG = 1 << 64


@dataclass(slots=True)
class PluginState:
    """The plugin instance's state; it outlives connections, like the real plugin's."""

    ustx: str = ""
    tracks: list[dict[str, Any]] = field(default_factory=list)
    layout: list[dict[str, Any]] = field(default_factory=list)
    audio: dict[int, bytes] = field(default_factory=dict)  # hash -> decoded samples
    project_info: dict[str, Any] = field(default_factory=dict)
    received: Counter[str] = field(default_factory=Counter)  # by message label
    crash_reasons: list[str] = field(default_factory=list)  # would abort a real host
    ignored: list[str] = field(default_factory=list)  # logged and dropped
    hash_mismatches: list[str] = field(default_factory=list)
    decode_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reply:
    line: bytes


@dataclass(frozen=True, slots=True)
class Crash:
    reason: str


@dataclass(frozen=True, slots=True)
class CloseLink:
    pass


@dataclass(frozen=True, slots=True)
class Pull:
    """v1.2: fetch these hashes with getAudio requests, one at a time (§5.1)."""

    hashes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PullFailed:
    request_id: str
    error: str


Action: TypeAlias = Reply | Crash | CloseLink | Pull | PullFailed


class _Abort(Exception):
    """A notification handler threw: in the real plugin that is std::terminate (§6)."""


def stoul(text: str) -> int:
    """C++ `std::stoul` on 64-bit Linux: leading digits (a sign allowed), wrap-around for a
    minus sign, exceptions for no digits or overflow (§6.9)."""
    match = _STOUL.match(text)
    if match is None:
        raise ValueError(f"stoul: invalid_argument for {text[:40]!r}")
    value = int(match.group(2))
    if value >= _ULONG:
        raise ValueError(f"stoul: out_of_range for {text[:40]!r}")
    return (-value) % _ULONG if match.group(1) == "-" else value


def choc_parse(payload: bytes) -> tuple[Any, str | None]:
    """Parse like choc::json::parse, once: (value, None), or (None, why choc throws) for what
    aborts the S plugin (PROTOCOL.md §2.2, §6.10). Empty or blank gives a void value (None).
    The `+` exponent and NaN/Infinity checks ride on the parser's hooks, so a 60 MB audio
    line is scanned once, and base64 text that happens to contain `E+` is not mistaken."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"
    stripped = text.strip(" \t\r\n")
    if not stripped:
        return None, None
    if stripped[0] not in "{[":
        return None, "top-level JSON value is not an object or array"
    refused: list[str] = []

    def parse_float(literal: str) -> float:
        if "+" in literal:
            refused.append(f"number {literal} has a '+' exponent choc cannot parse")
        return float(literal)

    def parse_constant(literal: str) -> float:
        refused.append(f"bare {literal} literal choc cannot parse")
        return float(literal)

    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=parse_constant)
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    return (None, refused[0]) if refused else (value, None)


class PluginLogic:
    """Decides the plugin's reaction to each received line."""

    def __init__(self, rules: VersionRules, state: PluginState) -> None:
        self.rules = rules
        self.state = state

    def envelope(self, request_id: str, data: dict[str, Any] | None, error: str | None) -> Reply:
        """A DawResult: choc's two-key form, or the bridge's sorted three-key form (§3.1)."""
        if self.rules.bridge:
            body: dict[str, Any] = {"data": data, "error": error, "success": error is None}
        elif error is None:
            body = {"success": True, "data": data}
        else:
            body = {"success": False, "error": error}
        return Reply(f"response:{request_id} ".encode() + self.rules.plugin_json.dumpb(body))

    def on_line(self, raw: bytes) -> list[Action]:
        if raw == b"close":
            return [CloseLink()]
        if self.rules.bridge and raw.endswith(b"\r"):
            raw = raw[:-1]  # the bridge tolerates CRLF (§5.1)
        head, body = split_line(raw)
        # No space: the S plugin's `npos + 1` wraps to 0 and the payload is the whole line.
        payload = raw if body is None else body
        value, problem = self._parse(payload)
        header = parse_header(head)
        self.state.received[header.label] += 1
        if problem:
            return self._bad_line(f"{problem}: {raw[:80]!r}")
        try:
            if header.type is HeaderType.REQUEST:
                return self._on_request(header.id or "", header.kind, value)
            if header.type is HeaderType.NOTIFICATION:
                return self._on_notification(header.kind or "", value)
            if header.type is HeaderType.RESPONSE and self.rules.bridge:
                return self._on_response(header.id or "", value)
        except _Abort as exc:
            return self._bad_line(f"{exc}: {raw[:80]!r}")
        self.state.ignored.append(f"unhandled {header.label}")
        return []

    def _parse(self, payload: bytes) -> tuple[Any, str | None]:
        if self.rules.bridge:
            try:  # nlohmann is a plain strict parser
                return (loads(payload) if payload.strip() else None), None
            except ValueError as exc:
                return None, str(exc)
        return choc_parse(payload)

    def _bad_line(self, reason: str) -> list[Action]:
        if self.rules.bridge:
            self.state.ignored.append(reason)  # the bridge logs and ignores (§5.1)
            return []
        self.state.crash_reasons.append(reason)
        return [Crash(reason)]

    # -- requests (exception-safe in every version) --------------------------------------------

    def _on_request(self, request_id: str, kind: str | None, value: Any) -> list[Action]:
        if kind == "init":
            return [self._init(request_id, value)]
        if kind == "updatePartLayout":
            try:
                missing = self._replace_layout(value)
            except (KeyError, TypeError, ValueError) as exc:
                return [self.envelope(request_id, None, f"Invalid layout: {exc}")]
            reply = self.envelope(request_id, {"missingAudios": self._missing_json(missing)}, None)
            return [reply, Pull(tuple(missing))] if self.rules.bridge and missing else [reply]
        return [self.envelope(request_id, None, "Unknown request type")]

    def _init(self, request_id: str, value: Any) -> Reply:
        if self.rules.bridge:
            # v1.2 turns init around: OpenUtau sends its project, the plugin its apiVersion.
            if isinstance(value, dict) and isinstance(value.get("ustx"), str):
                self.state.ustx = value["ustx"]
            return self.envelope(request_id, {"apiVersion": "1.2"}, None)
        return self.envelope(request_id, {"ustx": self.state.ustx}, None)

    def _replace_layout(self, value: Any) -> list[int]:
        parts = value["parts"]
        if not isinstance(parts, list):
            raise TypeError("parts is not an array")
        layout = [self._layout_part(p) for p in parts]
        self.state.layout = layout
        wanted = {p["audioHash"] for p in layout if p["audioHash"] is not None}
        # The new layout replaces the old one and drops audio it no longer uses (§3.2).
        for stale in set(self.state.audio) - wanted:
            del self.state.audio[stale]
        return sorted(wanted - set(self.state.audio))  # a std::set: ascending

    def _layout_part(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise TypeError("a part is not an object")
        audio_hash = raw.get("audioHash")
        if audio_hash is None:
            if not self.rules.layout_hash_optional:
                raise KeyError("audioHash")
        elif self.rules.hashes_as_strings:
            if not isinstance(audio_hash, str) or not audio_hash.isdigit():
                raise TypeError("audioHash is not a decimal string")
            audio_hash = self.rules.normalize_hash(int(audio_hash))
        elif isinstance(audio_hash, bool) or not isinstance(audio_hash, int):
            raise TypeError("audioHash is not an integer")
        else:
            audio_hash = self.rules.normalize_hash(audio_hash)
        track = raw["trackNo"]
        if isinstance(track, bool) or not isinstance(track, int):
            raise TypeError("trackNo is not an integer")
        return {"trackNo": track, "startMs": float(raw["startMs"]), "endMs": float(raw["endMs"]),
                "audioHash": audio_hash}

    def _missing_json(self, missing: list[int]) -> list[int | str]:
        if self.rules.missing_as_strings or self.rules.hashes_as_strings:
            return [str(h) for h in missing]
        return list(missing)

    # -- notifications (an exception here aborts the real S plugin) ------------------------

    def _on_notification(self, kind: str, value: Any) -> list[Action]:
        handler = {
            "updateUstx": self._update_ustx,
            "updateTracks": self._update_tracks,
            "updateAudio": None if self.rules.bridge else self._update_audio,
            "updateProjectInfo": self._update_project_info if self.rules.bridge else None,
        }.get(kind)
        if handler is None:
            # Unknown kinds are dropped (and risk the thread race of §6.11 in the real one).
            self.state.ignored.append(f"notification:{kind}")
            return []
        try:
            handler(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Abort(f"notification:{kind} handler threw {exc!r}") from None
        return []

    def _update_ustx(self, value: Any) -> None:
        ustx = value["ustx"]
        if not isinstance(ustx, str):
            raise TypeError("ustx is not a string")
        self.state.ustx = ustx

    def _update_tracks(self, value: Any) -> None:
        tracks = value["tracks"]
        if not isinstance(tracks, list):
            raise TypeError("tracks is not an array")
        parsed = []
        for track in tracks:
            if not isinstance(track["name"], str):
                raise TypeError("track name is not a string")
            entry = dict(track)
            for key in ("volume", "pan"):
                if isinstance(track[key], bool) or not isinstance(track[key], int | float):
                    raise TypeError(f"track {key} is not a number")
                entry[key] = float(track[key])
            parsed.append(entry)
        self.state.tracks = parsed

    def _update_project_info(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise TypeError("project info is not an object")
        self.state.project_info = dict(value)

    def _update_audio(self, value: Any) -> None:
        audios = value["audios"]
        if not isinstance(audios, dict):
            raise TypeError("audios is not an object")
        decoded: dict[int, bytes] = {}
        for key, b64 in audios.items():
            audio_hash = self.rules.normalize_hash(stoul(key))  # non-numeric keys abort (§6.9)
            if not isinstance(b64, str):
                raise TypeError("audio payload is not a string")
            samples = self._decode(key, b64)
            if samples is not None:
                decoded[audio_hash] = samples
        self.state.audio.update(decoded)  # merged into the cache (§3.2)

    def _decode(self, key: str, b64: str) -> bytes | None:
        try:
            audio = decode_audio_payload(b64)
        except ValueError as exc:
            self.state.decode_errors.append(f"{key}: {exc}")
            return None
        if audio.codec != self.rules.codec:
            # A gzip-era plugin fed zstd (or the reverse) decodes garbage or nothing (§4).
            self.state.decode_errors.append(f"{key}: {audio.codec} data, expected {self.rules.codec}")
            return None
        if self.rules.hash_verifiable():
            actual = self.rules.audio_hash(audio.samples)
            if actual != self.rules.normalize_hash(stoul(key)):
                self.state.hash_mismatches.append(f"{key}: audio hashes to {actual}")
        return audio.samples

    # -- v1.2: answers to the plugin's own getAudio requests -------------------------------

    def _on_response(self, request_id: str, value: Any) -> list[Action]:
        error = value.get("error") if isinstance(value, dict) else "not an envelope"
        return [PullFailed(request_id, str(error))]
