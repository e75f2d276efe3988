"""Envelope and payload shapes per kind (PROTOCOL.md §3.1, §3.2, §5.1, §6 "a faithful fake
OpenUtau": notification handlers are not exception-safe, so a missing field aborts the DAW)."""

from __future__ import annotations

from typing import Any

from utauproxy.check.context import CheckContext, json_object
from utauproxy.check.findings import Finding
from utauproxy.check.shape import (
    ARRAY,
    BOOL,
    HASH,
    INT,
    NUMBER,
    OBJECT,
    STRING,
    Field,
    field_problems,
    hash_value,
    is_decimal,
    items_problems,
    type_name,
)
from utauproxy.inspect.correlate import Outcome
from utauproxy.inspect.decode import Decoded, DecodedMessage
from utauproxy.protocol.events import Message
from utauproxy.protocol.header import HeaderType

FAMILY = "shapes"
RULES = ("envelope-shape", "payload-shape", "response-data-shape")
_TRACK = (STRING("name"), NUMBER("volume"), NUMBER("pan"), BOOL("muted", False),
          STRING("singer", False), STRING("engine", False))
_PART = (INT("trackNo"), NUMBER("startMs"), NUMBER("endMs"), HASH("audioHash", False))
_PAYLOADS: dict[str, tuple[Field, ...]] = {
    "updateUstx": (STRING("ustx"),),
    "updateTracks": (ARRAY("tracks"),),
    "updatePartLayout": (ARRAY("parts"),),
    "updateAudio": (OBJECT("audios"),),
    "updateProjectInfo": (STRING("name"), BOOL("saved")),
    "init": (STRING("ustx", False),),  # `{}` in the line protocol, the project in v1.2
    "playhead": (NUMBER("positionMs"), BOOL("playing")),
    "bpm": (NUMBER("bpm"),),
    "getAudio": (HASH("hash"),),
}
_MAX_PROBLEMS = 3


class ShapeRules:
    name = FAMILY

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        if not isinstance(item, DecodedMessage) or not isinstance(item.event, Message):
            return []
        header = item.event.header
        if header.type is HeaderType.RESPONSE:
            return self._response(item, ctx)
        if header.type in (HeaderType.REQUEST, HeaderType.NOTIFICATION):
            problems = _payload_problems(header.kind or "", json_object(item))
            return [ctx.finding("payload-shape", FAMILY, "§5.1" if ctx.is_v1_2() else "§3.2",
                                f"{header.type.value}:{header.kind}: {problem}", item)
                    for problem in problems[:_MAX_PROBLEMS]]
        return []

    def finish(self, ctx: CheckContext) -> list[Finding]:
        return []

    def _response(self, item: DecodedMessage, ctx: CheckContext) -> list[Finding]:
        envelope = json_object(item)
        section = "§5.1" if ctx.is_v1_2() else "§3.1"
        if envelope is None:
            return []  # not an object: the lines family reports it
        problems = _envelope_problems(envelope)
        findings = [ctx.finding("envelope-shape", FAMILY, section, problem, item) for problem in problems]
        answer = ctx.answer
        if problems or envelope.get("success") is not True or answer is None:
            return findings
        if answer.outcome is not Outcome.MATCHED or answer.request is None:
            return findings
        kind = answer.request.kind
        for problem in _data_problems(kind, envelope["data"])[:_MAX_PROBLEMS]:
            findings.append(ctx.finding("response-data-shape", FAMILY, "§5.1" if ctx.is_v1_2() else "§3.2",
                                        f"response to {kind}: {problem}", item))
        return findings


def _envelope_problems(envelope: dict[str, Any]) -> list[str]:
    success = envelope.get("success")
    if not isinstance(success, bool):
        return [f"envelope `success` is {type_name(success)}, not true or false"]
    if success:
        problems = []
        if not isinstance(envelope.get("data"), dict):
            problems.append(f"success:true with `data` {type_name(envelope.get('data'))} "
                            "(OpenUtau throws unless `data` is an object)")
        if envelope.get("error") is not None:
            problems.append("success:true with a non-null `error`")
        return problems
    problems = []
    if not isinstance(envelope.get("error"), str):
        problems.append(f"success:false with `error` {type_name(envelope.get('error'))}, not a string")
    if envelope.get("data") is not None:
        problems.append("success:false with a non-null `data`")
    return problems


def _payload_problems(kind: str, payload: dict[str, Any] | None) -> list[str]:
    if payload is None:
        return []  # not an object: the lines family reports it
    fields = _PAYLOADS.get(kind)
    if fields is None:
        return []
    problems = field_problems(payload, fields, "payload")
    if problems:
        return problems
    if kind == "updateTracks":
        return items_problems(payload["tracks"], _TRACK, "tracks")
    if kind == "updatePartLayout":
        return _parts_problems(payload["parts"])
    if kind == "updateAudio":
        return _audios_problems(payload["audios"])
    return []


def _parts_problems(parts: list[Any]) -> list[str]:
    problems = items_problems(parts, _PART, "parts")
    if problems:
        return problems
    for position, part in enumerate(parts):
        if part["endMs"] < part["startMs"]:
            problems.append(f"parts[{position}] ends ({part['endMs']}) before it starts ({part['startMs']})")
    return problems


def _audios_problems(audios: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in audios.items():
        if not is_decimal(key):
            # The plugin parses keys with stoul in a notification thread (§6.9).
            problems.append(f"audios key {key[:30]!r} is not a decimal integer; the plugin aborts")
        if not isinstance(value, str):
            problems.append(f"audios[{key[:30]!r}] is {type_name(value)}, not a base64 string")
    return problems


def _data_problems(kind: str, data: dict[str, Any]) -> list[str]:
    if kind == "init":
        if isinstance(data.get("ustx"), str) or isinstance(data.get("apiVersion"), str):
            return []
        return ["`data` has neither a string `ustx` (line protocol) nor `apiVersion` (API v1.2)"]
    if kind == "updatePartLayout":
        problems = field_problems(data, (ARRAY("missingAudios"),), "data")
        if problems:
            return problems
        return [f"missingAudios[{n}] is {type_name(v)}, not a hash"
                for n, v in enumerate(data["missingAudios"]) if hash_value(v) is None]
    return []
