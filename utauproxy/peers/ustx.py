"""USTX text as OpenUtau writes it with YamlDotNet (PROTOCOL.md §3.5), and a loader for it.

The writer reproduces the shape of the real sample in /work/shared/real-wire/p6-linux: block
mappings, flow mappings for pitch points and vibratos, `""` for empty strings, raw UTF-8,
LF line ends, the default expression table. The text is regenerated in full for every update,
as OpenUtau does, and is deterministic for an unchanged project.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from utauproxy.peers.jsonstyle import net_double
from utauproxy.peers.project import (
    Curve,
    Note,
    PhonemeExpression,
    PhonemeOverride,
    PitchPoint,
    Project,
    Track,
    Vibrato,
    VoicePart,
)

USTX_VERSION = "0.7"

# OpenUtau's default expression table: (abbr, name, type, min, max, default, is_flag, flag or
# options). Written verbatim into every project.
_EXPRESSIONS: tuple[tuple[str, str, str, int, int, int, bool, str | tuple[str, ...]], ...] = (
    ("dyn", "dynamics (curve)", "Curve", -240, 120, 0, False, ""),
    ("pitd", "pitch deviation (curve)", "Curve", -1200, 1200, 0, False, ""),
    ("clr", "voice color", "Options", 0, 0, 0, False, ("",)),
    ("eng", "resampler engine", "Options", 0, 1, 0, False, ("", "worldline")),
    ("vel", "velocity", "Numerical", 0, 200, 200, False, ""),
    ("vol", "volume", "Numerical", 0, 200, 100, False, ""),
    ("atk", "attack", "Numerical", 0, 200, 100, False, ""),
    ("dec", "decay", "Numerical", 0, 100, 0, False, ""),
    ("gen", "gender", "Numerical", -100, 100, 0, True, "g"),
    ("genc", "gender (curve)", "Curve", -100, 100, 15, False, ""),
    ("bre", "breath", "Numerical", 0, 100, 0, True, "B"),
    ("brec", "breathiness (curve)", "Curve", -100, 100, 0, False, ""),
    ("lpf", "lowpass", "Numerical", 0, 100, 0, True, "H"),
    ("norm", "normalize", "Numerical", 0, 100, 86, True, "P"),
    ("mod", "modulation", "Numerical", 0, 100, 0, False, ""),
    ("mod+", "modulation plus", "Numerical", 0, 100, 0, False, ""),
    ("alt", "alternate", "Numerical", 0, 16, 0, False, ""),
    ("dir", "direct", "Options", 0, 1, 0, False, ("off", "on")),
    ("shft", "tone shift", "Numerical", -36, 36, 0, False, ""),
    ("shfc", "tone shift (curve)", "Curve", -1200, 1200, 0, False, ""),
    ("tenc", "tension (curve)", "Curve", -100, 100, 0, False, ""),
    ("voic", "voicing (curve)", "Curve", 0, 100, 100, False, ""),
)
_EXP_SELECTORS = ("dyn", "pitd", "brec", "eng", "genc", "vol", "atk", "dec", "voic", "vel")

# Plain scalars YamlDotNet would have to quote: they would read back as another type or
# break the syntax (core schema: null, booleans, numbers; indicators; `: ` and ` #`).
_NON_STRING = re.compile(
    r"(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def _scalar(text: str) -> str:
    """A string as a YAML scalar: plain when safe, else double-quoted."""
    if (
        text == ""
        or _NON_STRING.match(text)
        or text[0] in _INDICATORS
        or text != text.strip()
        or ": " in text
        or " #" in text
        or text.endswith(":")
        or any(ord(c) < 0x20 or c in "\x7f\ufeff" for c in text)
    ):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        escaped = re.sub(r"[\x00-\x1f\x7f\ufeff]", lambda m: f"\\x{ord(m.group(0)):02X}", escaped)
        return f'"{escaped}"'
    return text


def _num(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return net_double(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def to_ustx(project: Project) -> str:
    """The whole project as USTX text, exactly like OpenUtau regenerates it for updateUstx."""
    out: list[str] = [
        f"name: {_scalar(project.name)}",
        f"comment: {_scalar(project.comment)}",
        f"output_dir: {_scalar(project.output_dir)}",
        f"cache_dir: {_scalar(project.cache_dir)}",
        f'ustx_version: "{USTX_VERSION}"',
        f"resolution: {project.resolution}",
        f"bpm: {_num(project.legacy_bpm)}",
        f"beat_per_bar: {project.beat_per_bar}",
        f"beat_unit: {project.beat_unit}",
        "expressions:",
    ]
    _write_expressions(out)
    out.append("exp_selectors:")
    out.extend(f"- {abbr}" for abbr in _EXP_SELECTORS)
    out += [
        "exp_primary: 0",
        "exp_secondary: 1",
        f"key: {project.key}",
        "time_signatures:",
        "- bar_position: 0",
        f"  beat_per_bar: {project.beat_per_bar}",
        f"  beat_unit: {project.beat_unit}",
        "tempos:",
        "- position: 0",
        f"  bpm: {_num(project.tempo)}",
    ]
    _write_list(out, "tracks", project.tracks, _write_track)
    _write_list(out, "voice_parts", project.voice_parts, _write_part)
    out.append("wave_parts: []")
    out.append("")
    return "\n".join(out)


def _write_list(out: list[str], key: str, items: Any, write: Any) -> None:
    if not items:
        out.append(f"{key}: []")
        return
    out.append(f"{key}:")
    for item in items:
        write(out, item)


def _write_expressions(out: list[str]) -> None:
    for abbr, name, kind, low, high, default, is_flag, extra in _EXPRESSIONS:
        out += [
            f"  {abbr}:",
            f"    name: {name}",
            f"    abbr: {abbr}",
            f"    type: {kind}",
            f"    min: {low}",
            f"    max: {high}",
            f"    default_value: {default}",
            f"    is_flag: {_bool(is_flag)}",
        ]
        if isinstance(extra, tuple):
            out.append("    options:")
            out.extend(f"    - {_scalar(option)}" for option in extra)
        else:
            out.append(f"    flag: {_scalar(extra)}")


def _write_track(out: list[str], track: Track) -> None:
    lead = "- "
    if track.singer is not None:
        out.append(f"- singer: {_scalar(track.singer)}")
        lead = "  "
    out.append(f"{lead}phonemizer: {_scalar(track.phonemizer)}")
    if track.renderer is None:
        out.append("  renderer_settings: {}")
    else:
        out += ["  renderer_settings:", f"    renderer: {_scalar(track.renderer)}"]
    out += [
        f"  track_name: {_scalar(track.track_name)}",
        f"  track_color: {_scalar(track.track_color)}",
        f"  mute: {_bool(track.mute)}",
        f"  solo: {_bool(track.solo)}",
        f"  volume: {_num(track.volume)}",
        f"  pan: {_num(track.pan)}",
        "  track_expressions: []",
        "  voice_color_names:",
        '  - ""',
    ]


def _write_part(out: list[str], part: VoicePart) -> None:
    out += [
        f"- duration: {part.duration}",
        f"  name: {_scalar(part.name)}",
        f"  comment: {_scalar(part.comment)}",
        f"  track_no: {part.track_no}",
        f"  position: {part.position}",
    ]
    _write_list(out, "  notes", part.notes, _write_note)
    _write_list(out, "  curves", part.curves, _write_curve)


def _write_note(out: list[str], note: Note) -> None:
    vib = note.vibrato
    out += [
        f"  - position: {note.position}",
        f"    duration: {note.duration}",
        f"    tone: {note.tone}",
        f"    lyric: {_scalar(note.lyric)}",
        "    pitch:",
        "      data:",
    ]
    out.extend(f"      - {{x: {_num(p.x)}, y: {_num(p.y)}, shape: {p.shape}}}" for p in note.pitch)
    out += [
        "      snap_first: true",
        f"    vibrato: {{length: {_num(vib.length)}, period: {_num(vib.period)}, "
        f"depth: {_num(vib.depth)}, in: {_num(vib.fade_in)}, out: {_num(vib.fade_out)}, "
        f"shift: {_num(vib.shift)}, drift: {_num(vib.drift)}, vol_link: {_num(vib.vol_link)}}}",
    ]
    if note.phoneme_expressions:
        out.append("    phoneme_expressions:")
        out.extend(f"    - {{index: {e.index}, abbr: {e.abbr}, value: {_num(e.value)}}}"
                   for e in note.phoneme_expressions)
    else:
        out.append("    phoneme_expressions: []")
    if note.phoneme_overrides:
        out.append("    phoneme_overrides:")
        for override in note.phoneme_overrides:
            _write_override(out, override)
    else:
        out.append("    phoneme_overrides: []")


def _write_override(out: list[str], override: PhonemeOverride) -> None:
    out.append(f"    - index: {override.index}")
    if override.phoneme is not None:
        out.append(f"      phoneme: {_scalar(override.phoneme)}")
    for key in ("offset", "preutter_delta", "overlap_delta"):
        value = getattr(override, key)
        if value is not None:
            out.append(f"      {key}: {_num(value)}")


def _write_curve(out: list[str], curve: Curve) -> None:
    out.append("  - xs:")
    out.extend(f"    - {x}" for x in curve.xs)
    out.append("    ys:")
    out.extend(f"    - {y}" for y in curve.ys)
    out.append(f"    abbr: {_scalar(curve.abbr)}")


# -- loading ----------------------------------------------------------------------------------


class _UstxLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.1 would read `on`, `off`, `no` as booleans; YamlDotNet does not (the sample
    writes `- off` plain), so only true/false are booleans here."""


_UstxLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UstxLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


class UstxError(ValueError):
    """The text is not a USTX project this loader understands (OpenUtau's LoadText throws)."""


def parse_ustx(text: str) -> Project:
    """Load USTX text back into a Project, like `Ustx.LoadText`. Expressions and wave parts
    are not modelled and are dropped; a BOM is ignored. Raises UstxError."""
    try:
        doc = yaml.load(text.lstrip("\ufeff"), Loader=_UstxLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise UstxError(f"not YAML: {exc}") from None
    if not isinstance(doc, dict) or "name" not in doc:
        raise UstxError("not a USTX project (no top-level mapping with a name)")
    try:
        return _project_from(doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UstxError(f"unexpected USTX content: {exc!r}") from None


def _project_from(doc: dict[str, Any]) -> Project:
    tempos = doc.get("tempos") or [{"bpm": doc.get("bpm", 120)}]
    return Project(
        name=str(doc["name"]),
        comment=str(doc.get("comment") or ""),
        output_dir=str(doc.get("output_dir") or "Vocal"),
        cache_dir=str(doc.get("cache_dir") or "UCache"),
        resolution=int(doc.get("resolution", 480)),
        legacy_bpm=doc.get("bpm", 120),
        beat_per_bar=int(doc.get("beat_per_bar", 4)),
        beat_unit=int(doc.get("beat_unit", 4)),
        key=int(doc.get("key", 0)),
        tempo=float(tempos[0]["bpm"]),
        tracks=tuple(_track_from(t) for t in doc.get("tracks") or ()),
        voice_parts=tuple(_part_from(p) for p in doc.get("voice_parts") or ()),
    )


def _track_from(raw: dict[str, Any]) -> Track:
    settings = raw.get("renderer_settings") or {}
    return Track(
        track_name=str(raw.get("track_name", "")),
        phonemizer=str(raw.get("phonemizer", "")),
        singer=None if raw.get("singer") is None else str(raw["singer"]),
        renderer=None if settings.get("renderer") is None else str(settings["renderer"]),
        track_color=str(raw.get("track_color", "Blue")),
        mute=bool(raw.get("mute", False)),
        solo=bool(raw.get("solo", False)),
        volume=raw.get("volume", 0),
        pan=raw.get("pan", 0),
    )


def _part_from(raw: dict[str, Any]) -> VoicePart:
    return VoicePart(
        name=str(raw.get("name", "")),
        comment=str(raw.get("comment") or ""),
        track_no=int(raw.get("track_no", 0)),
        position=int(raw.get("position", 0)),
        duration=int(raw.get("duration", 0)),
        notes=tuple(_note_from(n) for n in raw.get("notes") or ()),
        curves=tuple(Curve(abbr=str(c.get("abbr", "")), xs=tuple(c.get("xs") or ()),
                           ys=tuple(c.get("ys") or ())) for c in raw.get("curves") or ()),
    )


def _note_from(raw: dict[str, Any]) -> Note:
    pitch = raw.get("pitch") or {}
    vib = raw.get("vibrato") or {}
    return Note(
        position=int(raw["position"]),
        duration=int(raw["duration"]),
        tone=int(raw["tone"]),
        lyric=str(raw.get("lyric", "")),
        pitch=tuple(PitchPoint(p["x"], p["y"], str(p.get("shape", "io")))
                    for p in pitch.get("data") or ()),
        vibrato=Vibrato(length=vib.get("length", 0), period=vib.get("period", 175),
                        depth=vib.get("depth", 25), fade_in=vib.get("in", 10),
                        fade_out=vib.get("out", 10), shift=vib.get("shift", 0),
                        drift=vib.get("drift", 0), vol_link=vib.get("vol_link", 0)),
        phoneme_expressions=tuple(PhonemeExpression(int(e["index"]), str(e["abbr"]), e["value"])
                                  for e in raw.get("phoneme_expressions") or ()),
        phoneme_overrides=tuple(
            PhonemeOverride(int(o["index"]), phoneme=o.get("phoneme"), offset=o.get("offset"),
                            preutter_delta=o.get("preutter_delta"),
                            overlap_delta=o.get("overlap_delta"))
            for o in raw.get("phoneme_overrides") or ()),
    )
