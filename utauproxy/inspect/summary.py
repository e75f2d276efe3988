"""Payload summaries a person wants on one timeline line, per message kind (issue 5):
USTX name/tracks/notes/size, tracks' volume and pan, layout parts per track and hashes,
audio duration/codec/hash check, a response's outcome and latency.

Pure and tolerant: a payload of the wrong shape gets a summary that says so, never an
exception. `details` is the same information as plain JSON values for `show --json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from utauproxy.inspect.audio import AudioCheck, check_audio_value, check_frame
from utauproxy.inspect.correlate import Answer, Outcome
from utauproxy.inspect.decode import DecodedMessage, LongLine
from utauproxy.inspect.fmt import Paint, clip, human_bytes, human_duration_ns, plain, signed_number
from utauproxy.inspect.ustx import UstxSummarizer, UstxSummary
from utauproxy.protocol.events import AudioFrame, Malformed, Message
from utauproxy.protocol.header import HeaderType

MAX_LISTED = 4  # tracks, hashes or audios named on one line before "+N more"
PREVIEW = 60


@dataclass(frozen=True, slots=True)
class Summary:
    text: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Summarizer:
    """Summaries of decoded messages; keeps the USTX cache between calls."""

    def __init__(self, paint: Paint = plain) -> None:
        self._paint = paint
        self._ustx = UstxSummarizer()

    def summarize(self, message: DecodedMessage, answer: Answer | None = None) -> Summary:
        """The summary of one message (`answer`: the tracker's verdict for a response)."""
        event = message.event
        if isinstance(event, Malformed):
            return Summary(self._paint(f"MALFORMED: {event.reason}", "bad"),
                           {"malformed": event.reason})
        if isinstance(event, LongLine):
            return Summary(f"long line: {human_bytes(event.length)} in {event.pieces} pieces (not decoded)",
                           {"long_line": event.length, "pieces": event.pieces})
        if isinstance(event, AudioFrame):
            return self._frame(event)
        return self._message(event, answer)

    # -- by kind --------------------------------------------------------------------------------

    def _message(self, message: Message, answer: Answer | None) -> Summary:
        header = message.header
        if header.type is HeaderType.RESPONSE:
            return self._response(message, answer)
        kind = header.kind or ""
        payload = _json(message)
        if kind in ("updateUstx", "init") and isinstance(payload.get("ustx"), str):
            return self._ustx_summary(payload["ustx"])
        if kind == "updateTracks":
            return _tracks(payload.get("tracks"))
        if kind == "updatePartLayout":
            return _layout(payload.get("parts"))
        if kind == "updateAudio":
            return self._audios(payload.get("audios"))
        if kind == "getAudio":
            return Summary(f"hash {payload.get('hash')}", {"hash": payload.get("hash")})
        if header.type is HeaderType.CLOSE or message.payload.strip() == b"{}":
            return Summary()
        if kind in ("updateProjectInfo", "playhead", "bpm"):
            return Summary(", ".join(f"{k} {_scalar(v)}" for k, v in payload.items()), dict(payload))
        return Summary(_preview(message))

    def _ustx_summary(self, text: str) -> Summary:
        summary = self._ustx.summarize(text)
        return Summary(self._ustx_text(summary), {"ustx": summary.as_dict()})

    def _ustx_text(self, summary: UstxSummary) -> str:
        if summary.empty:
            return "ustx empty"
        if summary.error is not None:
            return f"ustx {human_bytes(summary.size)}, " + self._paint(summary.error, "warn")
        name = f'"{clip(summary.name, 40)}"' if summary.name is not None else "(no name)"
        return (f"ustx {name}: {_plural(summary.tracks, 'track')}, "
                f"{_plural(summary.notes, 'note')}, {human_bytes(summary.size)}")

    def _audios(self, audios: Any) -> Summary:
        if not isinstance(audios, dict):
            return Summary(self._paint("no `audios` object", "bad"))
        checks = [check_audio_value(str(key), value) for key, value in audios.items()]
        shown = [self._audio_text(check) for check in checks[:MAX_LISTED]]
        more = f"; +{len(checks) - MAX_LISTED} more" if len(checks) > MAX_LISTED else ""
        text = f"{_plural(len(checks), 'audio')}: " + "; ".join(shown) + more
        return Summary(text, {"audios": [check.as_dict() for check in checks]})

    def _audio_text(self, check: AudioCheck) -> str:
        if check.error is not None:
            return f"{check.hash} " + self._paint(check.error, "bad")
        mark = self._paint("✓", "ok") if check.hash_ok else self._paint("✗", "bad")
        return f"{check.hash} {check.seconds:.3f} s {check.codec} {mark}"

    def _frame(self, frame: AudioFrame) -> Summary:
        check = check_frame(frame)
        mark = self._paint("✓", "ok") if check.hash_ok else self._paint("✗", "bad")
        return Summary(f"{check.hash} {check.seconds:.3f} s raw {mark}", {"audio": check.as_dict()})

    def _response(self, message: Message, answer: Answer | None) -> Summary:
        envelope = _json(message)
        details: dict[str, Any] = {}
        if answer is None or answer.outcome is Outcome.ORPHAN:
            head = "(" + self._paint("no matching request", "warn") + ")"
        else:
            latency = answer.latency_ns or 0
            details["latency_ns"] = latency
            head = f"in {human_duration_ns(latency)}"
            if answer.outcome is Outcome.DUPLICATE:
                head += ", " + self._paint("second answer", "warn")
        success = envelope.get("success")
        details["success"] = success
        if success is not True:
            error = envelope.get("error")
            details["error"] = error
            return Summary(self._paint(f"FAILED {head}: {error}", "bad"), details)
        data = envelope.get("data")
        text, data_details = self._response_data(data if isinstance(data, dict) else {})
        details.update(data_details)
        return Summary(f"ok {head}" + (f"; {text}" if text else ""), details)

    def _response_data(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if isinstance(data.get("ustx"), str):
            summary = self._ustx.summarize(data["ustx"])
            return self._ustx_text(summary), {"ustx": summary.as_dict()}
        missing = data.get("missingAudios")
        if isinstance(missing, list):
            if not missing:
                return "nothing missing", {"missingAudios": []}
            return (f"missing {len(missing)}: {_listed([str(m) for m in missing])}",
                    {"missingAudios": missing})
        if "apiVersion" in data:
            return f"apiVersion {data['apiVersion']}", {"apiVersion": data["apiVersion"]}
        return "", {}


# -- helpers ------------------------------------------------------------------------------------


def _json(message: Message) -> dict[str, Any]:
    try:
        value = message.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _preview(message: Message) -> str:
    return clip(message.payload[:PREVIEW * 4].decode("utf-8", "replace"), PREVIEW)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return f'"{clip(value, 40)}"'
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _listed(items: list[str]) -> str:
    more = f", +{len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    return signed_number(value)


def _tracks(tracks: Any) -> Summary:
    if not isinstance(tracks, list):
        return Summary("no `tracks` array")
    described = []
    for track in tracks:
        track = track if isinstance(track, dict) else {}
        name = track.get("name")
        label = f'"{clip(name, 24)}"' if isinstance(name, str) else "?"
        described.append(f"{label} {_number(track.get('volume'))} dB pan {_number(track.get('pan'))}")
    return Summary(f"{_plural(len(tracks), 'track')}: {_listed(described)}", {"tracks": tracks})


def _hash_list(hashes: list[str]) -> str:
    counts: dict[str, int] = {}
    for value in hashes:
        counts[value] = counts.get(value, 0) + 1
    return _listed([h if n == 1 else f"{h} ×{n}" for h, n in counts.items()])


def _layout(parts: Any) -> Summary:
    if not isinstance(parts, list):
        return Summary("no `parts` array")
    by_track: dict[str, list[str]] = {}
    for part in parts:
        part = part if isinstance(part, dict) else {}
        hashes = by_track.setdefault(str(part.get("trackNo", "?")), [])
        hashes.append(str(part.get("audioHash", "-")))
    tracks = "; ".join(f"track {track}: {len(hashes)} ({_hash_list(hashes)})"
                       for track, hashes in by_track.items())
    text = _plural(len(parts), "part") + (f"; {tracks}" if tracks else "")
    return Summary(text, {"parts_per_track": {t: len(h) for t, h in by_track.items()},
                          "hashes": by_track})
