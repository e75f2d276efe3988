"""README.txt of a bundle: what a maintainer reads first, without installing anything. Pure:
facts in, text out (UTF-8, lines of at most WIDTH columns).

Sections: what this is and how to open it, contents, environment, protocol version, the
capture (time range, counts), redaction, what was dropped, `check` findings, and a timeline of
the last minutes (the `show` rendering, plain text).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from utauproxy.bundle.durations import format_seconds
from utauproxy.inspect.fmt import human_bytes

WIDTH = 100
CAPTURE_MEMBER = "capture.utpcap"
ENVIRONMENT_MEMBER = "environment.json"
README_MEMBER = "README.txt"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    version: str
    source: str  # where the guess comes from ("recorder's footer", "scan of the records")
    evidence: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureFacts:
    started_utc: str
    first_ns: int | None
    last_ns: int | None
    records: int
    messages: int
    wire_bytes: int
    connections: tuple[int, ...]
    by_type: dict[str, int] = field(default_factory=dict)
    lost_messages: int = 0


@dataclass(frozen=True, slots=True)
class ReadmeFacts:
    """Everything README.txt says. Every text in here must already be redacted."""

    environment: dict[str, Any]
    capture: CaptureFacts
    versions: tuple[VersionFacts, ...]
    manifest: dict[str, Any] | None
    dropped: tuple[str, ...]  # trimming, then size capping
    findings: tuple[str, ...]  # rendered, scrubbed; the first MAX_FINDINGS_LISTED of them
    timeline: tuple[str, ...]
    timeline_from_ns: int | None
    timeline_clipped: int = 0  # timeline lines left out at the start (the cap on lines)
    unreadable: str = ""  # damage the reader skipped in the source capture
    trimmed: bool = False  # records were dropped: findings at the window's edges may be artefacts
    findings_total: int | None = None  # when more were found than listed


def render_readme(facts: ReadmeFacts) -> str:
    """The whole README.txt."""
    parts = [
        _title("utauproxy bug-report bundle"),
        _intro(facts.manifest is not None),
        _section("Contents", _contents()),
        _section("Environment", _environment(facts.environment)),
        _section("Protocol version detected", _versions(facts.versions)),
        _section("Capture", _capture(facts.capture, facts.unreadable)),
        _section("Redaction", _redaction(facts.manifest)),
        _section("Dropped to make this bundle", _dropped(facts.dropped)),
        _section("Check findings (utauproxy check)",
                 _findings(facts.findings, facts.trimmed, facts.findings_total)),
        _section("Timeline of the last minutes (utauproxy show)", _timeline(facts)),
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


# -- sections ---------------------------------------------------------------------------------


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}\n"


def _section(title: str, lines: Iterable[str]) -> str:
    body = [_clip(line) for line in lines]
    return f"{title}\n{'-' * len(title)}\n" + "\n".join(body) + "\n"


def _wrap(text: str, indent: str = "", more: str | None = None) -> list[str]:
    """`text` wrapped at WIDTH; continuation lines indented by `more` (default: `indent`, or
    two spaces past it for a list item)."""
    if more is None:
        more = " " * len(indent) if indent.strip() else indent
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=more,
                         break_long_words=True, break_on_hyphens=False) or [""]


def _clip(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _intro(redacted: bool) -> str:
    what = ("This zip was made by `utauproxy bundle` to go with a bug report about the link between "
            "OpenUtau and its DAW plugin. It holds a capture of that link (every message, "
            "timestamped), this summary, and a description of the machine.")
    privacy = ("Lyrics, project, track, part and singer names, file paths, user names and free "
               "text were replaced by consistent pseudonyms (e.g. lyric-ab12cd34): the same value "
               "always has the same token, so the structure is kept and the capture still replays. "
               "Audio was replaced by silence of the same length unless the manifest below says "
               "otherwise." if redacted else
               "THIS CAPTURE IS NOT REDACTED (made with --no-redact): it holds the project as it "
               "was, lyrics, names and paths included.")
    howto = [
        "To look at it:",
        "    pip install utauproxy",
        f"    utauproxy info {CAPTURE_MEMBER}          # one-screen summary",
        f"    utauproxy show {CAPTURE_MEMBER}          # the timeline, one line per message",
        f"    utauproxy check {CAPTURE_MEMBER}         # conformance to the protocol",
        f"    utauproxy replay {CAPTURE_MEMBER} --as openutau --max-gap 1   # against a plugin",
        f"    utauproxy replay {CAPTURE_MEMBER} --as plugin --max-gap 1     # against OpenUtau",
    ]
    return "\n".join([*_wrap(what), "", *_wrap(privacy), "", *howto, ""])


def _contents() -> list[str]:
    return [
        f"{README_MEMBER:<18} this summary",
        f"{CAPTURE_MEMBER:<18} the capture (utauproxy capture format; already compressed)",
        (f"{ENVIRONMENT_MEMBER:<18} OS, Python and utauproxy versions, the capture's writer and "
         "discovery entries"),
    ]


def _environment(env: dict[str, Any]) -> list[str]:
    bundle, capture = env.get("bundle", {}), env.get("capture", {})
    machine = bundle.get("machine", {})
    lines = [
        *_wrap(f"bundle made by utauproxy {bundle.get('utauproxy', '?')} on "
               f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}, at "
               f"{bundle.get('created_utc', '?')}", "", "  "),
        *_wrap(f"capture written by {capture.get('writer', '?')} on {capture.get('host_os', '?')}, "
               f"format {capture.get('format', '?')}, dialect {capture.get('dialect', '?')}", "", "  "),
    ]
    if capture.get("note"):
        lines.extend(_wrap(f"capture note: {capture['note']}", "", "  "))
    discovery = env.get("discovery", [])
    lines.append(f"discovery entries as found when recording: {len(discovery)}")
    for entry in discovery:
        text = ", ".join(f"{k}={v}" for k, v in entry.items())
        lines.extend(_wrap(text, "  ", "    "))
    return lines


def _versions(versions: Sequence[VersionFacts]) -> list[str]:
    if not versions:
        return ["unknown (no evidence)"]
    lines: list[str] = []
    for facts in versions:
        lines.append(f"{facts.version} (from the {facts.source})")
        if facts.candidates and len(facts.candidates) > 1:
            lines.extend(_wrap("still possible: " + ", ".join(facts.candidates), "  "))
        lines.extend(line for evidence in facts.evidence for line in _wrap(evidence, "  - "))
    return lines


def _capture(capture: CaptureFacts, unreadable: str) -> list[str]:
    span = "no records"
    if capture.first_ns is not None and capture.last_ns is not None:
        span = (f"{format_seconds(capture.first_ns / 1e9)} to {format_seconds(capture.last_ns / 1e9)} "
                f"after the recording started ({capture.started_utc})")
    conns = ", ".join(f"#{c}" for c in capture.connections) or "none"
    types = ", ".join(f"{name} {count}" for name, count in sorted(capture.by_type.items()))
    lines = [f"time range: {span}",
             (f"{capture.records} records ({types}); {capture.messages} messages, "
              f"{human_bytes(capture.wire_bytes)} on the wire"),
             f"connections: {conns}"]
    if capture.lost_messages:
        lines.append(f"the recorder lost {capture.lost_messages} messages (gap records)")
    if unreadable:
        lines.extend(_wrap(f"part of the original capture was unreadable: {unreadable}"))
    return lines


def _redaction(manifest: dict[str, Any] | None) -> list[str]:
    if manifest is None:
        return ["none: the capture is as recorded (--no-redact)"]
    rules = manifest.get("rules", {})
    silenced = isinstance(rules.get("audio"), dict) and rules["audio"].get("applied")
    lines = _wrap(f"key id {manifest.get('key_id', '?')} (the pseudonyms are the same in every "
                  "bundle made with this key; the key never leaves the machine)." + (
                      " Audio hashes are kept as recorded, so they no longer match the silenced "
                      "audio: the timeline marks such audio with ✗, as expected." if silenced else ""))
    for rule, facts in sorted(rules.items()):
        if not isinstance(facts, dict):
            continue
        state = "applied" if facts.get("applied") else "kept as recorded (--keep)"
        lines.append(f"  {rule:<10} {state}, {facts.get('changed', 0)} values changed")
    audio = manifest.get("audio")
    if isinstance(audio, dict):
        counts = {k: v for k, v in audio.items() if isinstance(v, int | float | str)}
        if counts:
            lines.extend(_wrap("audio: " + ", ".join(f"{k} {v}" for k, v in counts.items()), "  "))
    lines.append("the full manifest is in the capture header (`utauproxy info`)")
    return lines


def _dropped(dropped: Sequence[str]) -> list[str]:
    if not dropped:
        return ["nothing: the capture is complete"]
    return [line for text in dropped for line in _wrap(text, "- ")]


def _findings(findings: Sequence[str], trimmed: bool, total: int | None = None) -> list[str]:
    if not findings:
        return ["clean: no findings"]
    total = total if total is not None else len(findings)
    lines = [f"{total} finding(s), checked on the capture before redaction:"]
    if trimmed:
        lines.extend(_wrap("(the capture was trimmed: a finding at the edge of the kept window, such "
                           "as a late first ping after a connection's opening or a response whose "
                           "request was dropped, may come from the trimming, not from the peers)"))
    return lines + [line for finding in findings for line in _wrap(finding, "", "    ")]


def _timeline(facts: ReadmeFacts) -> list[str]:
    if not facts.timeline:
        return ["(no records)"]
    start = format_seconds((facts.timeline_from_ns or 0) / 1e9)
    lines = _wrap(f"from {start} (capture time) to the end; columns: seconds, connection, direction "
                  "(→ OpenUtau to plugin, ← plugin to OpenUtau), kind, request id, size, summary "
                  "(long lines are cut at 100 columns: `utauproxy show` prints them whole)")
    if facts.timeline_clipped:
        lines.append(f"({facts.timeline_clipped} earlier lines of that span left out)")
    return [*lines, *facts.timeline]
