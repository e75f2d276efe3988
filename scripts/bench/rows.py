"""From measured figures to the rows of the final table, each held to its target in issue 8."""

from __future__ import annotations

import statistics

from bench.links import RouteRuns
from bench.reading import ReadRun
from bench.replaying import ReplayRun
from bench.session import SessionRun
from bench.table import INFO, NA, Row, mb, percentile, verdict

MIB = 2**20
_FLAT_RSS_BYTES = 32 * 10**6  # growth under this over the last third of a session is "flat"
_FLAT_READ_FACTOR = 1.25  # a reader's peak on a ~3x bigger file may be this much higher and be "flat"
_READ_MB_S = 200.0


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def round_trip_rows(runs: RouteRuns) -> list[Row]:
    p = {q: {r: percentile(v, q) for r, v in runs.samples.items()} for q in (50, 99)}
    rows = [Row(f"round trip p{q} (µs), {len(runs.samples['direct'])} x ~300 B each way",
                **{r: f"{v:,.0f}" for r, v in p[q].items()}) for q in (50, 99)]
    for q, bound in ((50, 1.5), (99, 2.0)):
        added = {r: p[q][r] - p[q]["direct"] for r in p[q] if r != "direct"}
        ratio = _ratio(added["record"], added["socat"]) if "socat" in added else None
        record = f"+{added['record']:,.0f}" + (f" ({ratio:.1f}x socat)" if ratio is not None else "")
        rows.append(Row(f"added round trip p{q} (µs)", "0", f"+{added['socat']:,.0f}" if "socat" in added else NA,
                        record, f"record <= {bound}x socat's", verdict(None if ratio is None else ratio <= bound)))
    return rows


def big_line_rows(runs: RouteRuns) -> list[Row]:
    median = {r: statistics.median(v) for r, v in runs.samples.items()}
    lines = len(runs.samples["record"])
    ok = median["record"] >= median["socat"] if "socat" in median else None
    cap = runs.capture
    rss = {r: c.max_rss_bytes for r, c in runs.relay.items() if c}
    return [
        Row(f"64 MiB updateAudio line, MiB/s (median of {lines})",
            **{r: f"{v:,.0f}" for r, v in median.items()}, target="record >= socat", result=verdict(ok)),
        Row("  capture complete on disk at exit", record=(
            f"{'yes' if runs.capture_complete() else 'NO'}: {cap.messages} msgs, {mb(cap.wire_bytes)} wire"
            if cap else "no capture"), target="footer, no gap, every byte", result=verdict(runs.capture_complete())),
        rss_row(f"  peak RSS (largest message {runs.largest_message / 1e6:,.0f} MB)", rss, runs.largest_message),
    ]


def session_rows(runs: dict[str, SessionRun], target_ratio: float) -> list[Row]:
    record = runs["record"]
    spec = record.spec
    facts = record.facts
    assert facts is not None
    ratio = facts.size / facts.wire_bytes
    name = f"{spec.label} session ({spec.edits} edits, {record.ustx_resends} USTX resends)"
    rows = [
        Row(f"{name}: wire", **{r: mb(s.wire_bytes) for r, s in runs.items()}),
        Row("  session wall time (s)", **{r: f"{s.seconds:.1f}" for r, s in runs.items()}),
        Row("  capture bytes / wire bytes",
            record=f"{ratio:.2%} ({mb(facts.size)}){'' if record.capture_complete else ' INCOMPLETE'}",
            target=f"<= {target_ratio:.0%}" if target_ratio < 0.5 else f"<= {target_ratio:.1f}x",
            result=verdict(ratio <= target_ratio and record.capture_complete)),
        Row("  relay CPU seconds per GB forwarded",
            **{r: f"{s.relay.cpu_seconds / (s.wire_bytes / 1e9):.1f}" for r, s in runs.items() if s.relay}),
    ]
    return rows + [rss_row(f"  peak RSS (largest message {mb(facts.largest_message)})", runs_rss(runs),
                           facts.largest_message),
                   Row("  RSS growth, last third vs middle third", record=f"{record.rss_growth / 1e6:+.1f} MB",
                       target="flat", result=verdict(record.rss_growth <= _FLAT_RSS_BYTES))]


def runs_rss(runs: dict[str, SessionRun]) -> dict[str, int]:
    return {r: s.relay.max_rss_bytes for r, s in runs.items() if s.relay}


def rss_row(figure: str, rss: dict[str, int], largest: int) -> Row:
    bound = 2 * largest + 100 * 10**6
    return Row(figure, **{r: mb(v) for r, v in rss.items()}, target=f"<= 2x largest + 100 MB = {mb(bound)}",
               result=verdict(rss["record"] <= bound) if "record" in rss else NA)


def reading_rows(runs: dict[str, ReadRun]) -> list[Row]:
    big = runs["info"].capture_bytes
    info = runs["info"]
    rows = [Row(f"reading a {big / 1e9:.2f} GB capture (note 1)"),
            Row("  info (s, whole command)", record=f"{info.seconds:.2f} (`--version` alone "
                f"{runs['startup'].seconds:.2f})", target="< 0.2 s", result=verdict(info.seconds < 0.2))]
    for command in ("show", "check", "diff"):
        run = runs.get(command)
        if run is None:
            rows.append(Row(f"  {command} (MB/s)", record="no such command yet", target=f">= {_READ_MB_S:.0f} MB/s",
                            result=NA))
            continue
        speed = f"{'>' if run.timed_out else ''}{run.mb_per_s:,.0f}" if not run.timed_out else \
            f"< {run.mb_per_s:,.0f} (killed after {run.seconds:.0f} s)"
        rows.append(Row(f"  {command} (MB/s; s)", record=f"{speed}; {run.seconds:.1f} s, exit {run.returncode}",
                        target=f">= {_READ_MB_S:.0f} MB/s", result=verdict(run.mb_per_s >= _READ_MB_S)))
        small = runs.get(f"{command}-small")
        if small is not None:
            rows.append(Row(f"  {command} peak RSS: {big / 1e9:.2f} GB vs {small.capture_bytes / 1e9:.2f} GB file",
                            record=f"{mb(run.max_rss_bytes)} vs {mb(small.max_rss_bytes)}",
                            target=f"flat (<= {_FLAT_READ_FACTOR}x)",
                            result=verdict(run.max_rss_bytes <= _FLAT_READ_FACTOR * small.max_rss_bytes)))
    return rows


def replay_rows(run: ReplayRun) -> list[Row]:
    minutes = run.seconds_recorded / 60
    drift = "unmeasured" if run.drift_ms is None else f"{run.drift_ms:+.1f} ms over {minutes:.1f} min"
    return [
        Row(f"replay --as openutau --speed 1, {run.sends} sends ({run.verdict})",
            record=f"late p50 {run.p50_ms:.2f} ms, worst {run.worst_ms:.1f} ms"),
        Row("  schedule error p99 (replay's report)", record=f"{run.p99_ms:.2f} ms", target="<= 2 ms",
            result=verdict(run.p99_ms <= 2.0)),
        Row("  drift: arrival lateness, last fifth - first fifth", record=drift,
            target="none over 10 min" + ("" if minutes >= 10 else f" (ran {minutes:.1f})"),
            result=verdict(None if run.drift_ms is None else abs(run.drift_ms) <= 2.0)),
    ]


__all__ = ["INFO", "big_line_rows", "reading_rows", "replay_rows", "round_trip_rows", "rss_row", "session_rows"]
