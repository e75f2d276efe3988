"""`build_bundle`: a capture in, a bug-report .zip out (issue 7; docs/bundle.md).

Read, trim, redact, write the redacted capture (its header carries the redaction manifest,
whose counts are known only after the pass, so the records go to a temporary capture first
and are copied into the final one), check the original trimmed records, render README.txt and
environment.json, zip. When the zip is over the size limit, drop from the oldest end (keeping
connection openings) and build again until it fits.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from utauproxy.bundle import divergence, passes
from utauproxy.bundle.durations import format_seconds, format_size
from utauproxy.bundle.environment import environment
from utauproxy.bundle.readme import (
    CaptureFacts,
    ReadmeFacts,
    VersionFacts,
    render_readme,
)
from utauproxy.bundle.trim import (
    NS,
    TrimFilter,
    TrimResult,
    TrimSpec,
    keep_all_plan,
    needs_plan,
    plan_trim,
)
from utauproxy.bundle.zipout import (
    BundleError,
    move_into_place,
    refuse_existing,
    write_zip,
)
from utauproxy.capture import CaptureReader, CaptureWriter, Footer
from utauproxy.check import CheckReport
from utauproxy.inspect.recorded_protocol import PROTOCOL_KEY, protocol_extra, recorded_protocol
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import CaptureHeader
from utauproxy.redact import RedactionOptions, Redactor, with_manifest
from utauproxy.redact.keystore import load_or_create_key

DEFAULT_MAX_SIZE = 10_000_000  # GitHub takes larger files, but 10 MB uploads anywhere
TIMELINE_S = 300.0
TIMELINE_MAX_LINES = 250
MIN_SPAN_S = 60.0  # the size cap never keeps less than the last minute: that would say nothing
MAX_ATTEMPTS = 8
MAX_FINDINGS_LISTED = 200
BUNDLE_KEY = "bundle"  # CaptureHeader.extra key: what the bundle kept


@dataclass(frozen=True)
class BundleOptions:
    """How to make the bundle. `divergence_report` is a parsed `replay --json` report
    (`--until-divergence`); `key` overrides the key file (tests)."""

    trim: TrimSpec = field(default_factory=TrimSpec)
    divergence_report: Mapping[str, Any] | None = None
    redact: bool = True
    keep: frozenset[str] = frozenset()
    key_path: Path | None = None
    key: bytes | None = None
    max_size: int = DEFAULT_MAX_SIZE
    timeline_s: float = TIMELINE_S
    progress: passes.Progress | None = None


@dataclass(frozen=True)
class SizeCap:
    """What the size limit cost: the first build's size and the window finally kept."""

    limit: int
    first_size: int
    kept_from_ns: int

    def describe(self) -> str:
        return (f"size limit: the bundle of the requested records was {format_size(self.first_size)}, "
                f"over the limit of {format_size(self.limit)}, so records before "
                f"{format_seconds(self.kept_from_ns / NS)} (capture time) were dropped, "
                "except connection openings")


@dataclass(frozen=True)
class BundleReport:
    output: Path
    size: int
    trim: TrimResult
    size_cap: SizeCap | None
    manifest: dict[str, Any] | None
    findings: int
    version: str
    divergence: str | None = None

    def dropped_lines(self) -> list[str]:
        lines = self.trim.describe()
        if self.size_cap is not None:
            lines.append(self.size_cap.describe())
        return lines


@dataclass(frozen=True)
class _Built:
    zip_path: Path
    size: int
    trim: TrimResult
    manifest: dict[str, Any] | None
    check: CheckReport


def build_bundle(src: Path, dst: Path, options: BundleOptions = BundleOptions()) -> BundleReport:
    """Make the bundle `dst` from the capture `src`. Raises BundleError or CaptureError
    (never overwrites `dst`)."""
    refuse_existing(dst)
    if not dst.parent.is_dir():
        raise BundleError(f"cannot write {str(dst)!r}: the folder {str(dst.parent)!r} does not exist")
    key = options.key if options.key is not None else (
        load_or_create_key(options.key_path) if options.redact else b"")
    with CaptureReader.open(src) as reader, tempfile.TemporaryDirectory(
            prefix=".utauproxy-bundle-", dir=dst.parent) as tmp:
        _say(options, "reading")
        end_ns = passes.capture_end_ns(reader)
        _check_connections(reader, options.trim)
        spec, told = options.trim, None
        if options.divergence_report is not None:
            try:
                point = divergence.first_divergence(options.divergence_report)
                at_ns = divergence.locate(reader.records(), point)
            except ValueError as exc:
                raise BundleError(f"--until-divergence: {exc}") from exc
            spec = replace(spec, until_ns=at_ns + round(divergence.MARGIN_S * NS))
            told = divergence.describe(point, at_ns)
        context = (f"kept up to 2 s after the {told}",) if told else ()
        built, cap = _build_within_limit(reader, Path(tmp), spec, end_ns, key, options, context)
        move_into_place(built.zip_path, dst)
    return BundleReport(dst, built.size, built.trim, cap, built.manifest, len(built.check.findings),
                        _version_text(built.check), told)


def _check_connections(reader: CaptureReader, spec: TrimSpec) -> None:
    """A --connection the capture does not have is a mistake worth a message (when the footer
    says which connections there are)."""
    if not spec.connections or reader.footer is None:
        return
    present = {c.conn for c in reader.footer.connections}
    missing = sorted(spec.connections - present)
    if missing:
        listed = ", ".join(f"#{c}" for c in sorted(present)) or "none"
        raise BundleError(f"the capture has no connection {', '.join(f'#{c}' for c in missing)} "
                          f"(it has {listed})")


def _build_within_limit(reader: CaptureReader, tmp: Path, spec: TrimSpec, end_ns: int, key: bytes,
                        options: BundleOptions, context: tuple[str, ...]) -> tuple[_Built, SizeCap | None]:
    first: _Built | None = None
    cap: SizeCap | None = None
    for attempt in range(MAX_ATTEMPTS):
        built = _build_once(reader, tmp / f"attempt-{attempt}", spec, end_ns, key, options, cap, context)
        first = first or built
        if built.size <= options.max_size:
            return built, cap
        spec, lo = _narrower(spec, built, end_ns, options.max_size)
        shutil.rmtree(built.zip_path.parent)  # this attempt's capture and zip
        cap = SizeCap(options.max_size, first.size, lo)
        _say(options, f"{format_size(built.size)} is over {format_size(options.max_size)}: "
                      f"dropping records before {format_seconds(lo / NS)}")
    raise BundleError(f"cannot fit the bundle in {format_size(options.max_size)} after "
                      f"{MAX_ATTEMPTS} attempts (last: {format_size(built.size)})")


def _narrower(spec: TrimSpec, built: _Built, end_ns: int, limit: int) -> tuple[TrimSpec, int]:
    """A window that starts later, sized by how far over the limit the last build was."""
    window = built.trim.window
    end = window.hi_ns if window.hi_ns is not None else end_ns
    start = max(window.lo_ns, built.trim.first_kept_ns or 0)
    span = end - start
    if span <= round(MIN_SPAN_S * NS):
        raise BundleError(f"cannot fit even the last minute of the capture in {format_size(limit)} "
                          f"(it takes {format_size(built.size)}); try --max-size, --connection, "
                          "or drop the audio (no --keep-audio)")
    shrink = min(0.8, limit / built.size * 0.9)
    new_span = max(round(MIN_SPAN_S * NS), round(span * shrink))
    lo = end - new_span
    return replace(spec, start_s=lo / NS, last_s=None), lo


def _build_once(reader: CaptureReader, work: Path, spec: TrimSpec, end_ns: int, key: bytes,
                options: BundleOptions, cap: SizeCap | None, context: tuple[str, ...]) -> _Built:
    work.mkdir()
    header = reader.header
    plan = plan_trim(passes.counted(reader.records(), options.progress, "planning"), spec, end_ns) \
        if needs_plan(spec, end_ns) else keep_all_plan(spec, end_ns)
    check = passes.run_check(TrimFilter(plan).apply(
        passes.counted(reader.records(), options.progress, "checking")), header)
    redactor = Redactor(RedactionOptions(key=key, keep=options.keep)) if options.redact else None
    out_header = redactor.header(header) if redactor is not None else header
    trim = TrimFilter(plan)
    kept = trim.apply(passes.counted(reader.records(), options.progress, "redacting"))
    records = redactor.records(kept) if redactor is not None else kept
    first_pass = work / "pass.utpcap"
    last_ns = min(plan.window.hi_ns, end_ns) if plan.window.hi_ns is not None else end_ns
    timeline_from = last_ns - round(options.timeline_s * NS)
    with CaptureWriter.create(first_pass, out_header) as writer:
        tail = passes.write_with_timeline(records, writer, out_header, max(0, timeline_from),
                                          TIMELINE_MAX_LINES)
    result = trim.result()
    if result.records_kept == 0:
        raise BundleError("nothing to bundle: no record of the capture is in the window asked for "
                          f"(the capture ends at {format_seconds(end_ns / NS)})")
    manifest = redactor.manifest() if redactor is not None else None
    scrub = redactor.scrub_text if redactor is not None else _same
    final_header = _final_header(out_header, manifest, result, cap)
    capture = work / "capture.utpcap"
    passes.copy_capture(first_pass, capture, final_header,
                        {PROTOCOL_KEY: protocol_extra(check.version)})
    first_pass.unlink()
    env = environment(out_header, redacted=redactor is not None)
    facts = _facts(reader, capture, env, check, manifest, result, cap, tail, scrub)
    # A divergence label of a garbage line quotes its text: scrubbed like the findings.
    facts = replace(facts, dropped=(*(scrub(text) for text in context), *facts.dropped))
    readme = render_readme(facts)
    _say(options, "zipping")
    zip_path = work / "bundle.zip"
    size = write_zip(zip_path, readme, env, capture)
    return _Built(zip_path, size, result, manifest, check)


def _final_header(header: CaptureHeader, manifest: dict[str, Any] | None, trim: TrimResult,
                  cap: SizeCap | None) -> CaptureHeader:
    extra = dict(header.extra)
    extra[BUNDLE_KEY] = {"window_ns": [trim.window.lo_ns, trim.window.hi_ns],
                         "records_dropped": trim.records_dropped, "size_capped": cap is not None}
    header = replace(header, extra=extra)
    return with_manifest(header, manifest) if manifest is not None else header


def _facts(reader: CaptureReader, capture: Path, env: dict[str, Any], check: CheckReport,
           manifest: dict[str, Any] | None, trim: TrimResult, cap: SizeCap | None,
           tail: passes.TimelineTail, scrub: Any) -> ReadmeFacts:
    with CaptureReader.open(capture) as written:
        footer = written.footer
    assert footer is not None  # we closed it
    findings = [scrub(f.render().strip()) for f in check.findings[:MAX_FINDINGS_LISTED]]
    if len(check.findings) > MAX_FINDINGS_LISTED:
        findings.append(f"... and {len(check.findings) - MAX_FINDINGS_LISTED} more")
    dropped = [*trim.describe(), *([cap.describe()] if cap is not None else [])]
    unreadable = ""
    if reader.damage:
        lost = sum(d.length for d in reader.damage)
        unreadable = f"{len(reader.damage)} damaged region(s), {lost} bytes skipped"
    return ReadmeFacts(
        environment=env,
        capture=_capture_facts(reader.header, footer, check),
        versions=_versions(reader.footer, check),
        manifest=manifest,
        dropped=tuple(dropped),
        findings=tuple(findings),
        findings_total=len(check.findings),
        # Rendered from the redacted records: only tokens in there. Scrubbing it again would
        # turn ordinary words that happen to be lyrics ("the") into tokens.
        timeline=tail.lines,
        timeline_from_ns=tail.from_ns,
        timeline_clipped=tail.clipped,
        unreadable=unreadable,
        trimmed=trim.dropped_anything,
    )


def _capture_facts(header: CaptureHeader, footer: Footer, check: CheckReport) -> CaptureFacts:
    return CaptureFacts(
        started_utc=header.started_utc, first_ns=footer.first_ts_ns, last_ns=footer.last_ts_ns,
        records=footer.records, messages=footer.messages, wire_bytes=footer.wire_bytes,
        connections=tuple(c.conn for c in footer.connections), by_type=dict(footer.by_type),
        lost_messages=check.lost_messages)


def _versions(footer: Footer | None, check: CheckReport) -> tuple[VersionFacts, ...]:
    """The recorder's guess (footer) and ours. The evidence texts are fixed sentences of
    protocol/version.py (codecs, hash forms), never payload values: not scrubbed, since
    scrubbing would turn a word that is also a lyric ("the") into a token."""
    guess = check.version
    scanned = VersionFacts(
        guess.version.value if guess.version is not ProtocolVersion.UNKNOWN else "unknown",
        "bundle's scan of the kept records, before redaction",
        guess.evidence, tuple(sorted(v.value for v in guess.candidates)))
    recorded = recorded_protocol(footer.extra) if footer is not None else None
    if recorded is None:
        return (scanned,)
    return (VersionFacts(recorded.version, "recorder, over the whole original capture",
                         recorded.evidence), scanned)


def _version_text(check: CheckReport) -> str:
    version = check.version.version
    return version.value if version is not ProtocolVersion.UNKNOWN else "unknown"


def _same(text: str) -> str:
    return text


def _say(options: BundleOptions, text: str) -> None:
    if options.progress is not None:
        options.progress(text)


def load_replay_report(path: Path) -> dict[str, Any]:
    """A `utauproxy replay --json` report from a file (BundleError when it is not one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read the replay report {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{str(path)!r} is not a `utauproxy replay --json` report")
    return data
