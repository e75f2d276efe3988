"""Folding per-connection outcomes into the ReplayReport (pure)."""

from __future__ import annotations

from collections import Counter

from utauproxy.replay.connection import ConnectionOutcome
from utauproxy.replay.report import ReplayReport, TimingStats

_PINGS = ("notification:ping", "other:ping")


def add_outcome(report: ReplayReport, conn: int, outcome: ConnectionOutcome, lateness: list[float]) -> None:
    """Add one connection's results to `report`; `lateness` collects send delays of the run."""
    matcher = outcome.matcher
    divergences, allowed = matcher.finish()
    report.connections += 1
    report.compared += len(matcher.matched)
    report.expected += len(matcher.expected)
    report.sent += outcome.sent
    report.pings_received += matcher.pings
    report.divergences.extend(divergences)
    report.allowed_reorders.extend(allowed)
    report.notes.extend(outcome.notes)
    lateness.extend(outcome.lateness)
    unsent = Counter(label for label in outcome.unsent if label not in _PINGS)
    if unsent:
        listed = ", ".join(f"{n} {label}" for label, n in sorted(unsent.items()))
        report.notes.append(f"conn {conn}: recorded but not sent (the peer never asked or left first): {listed}")
    if outcome.hazards_sent:
        report.notes.append(f"conn {conn}: sent {outcome.hazards_sent} recorded line(s) the real plugin "
                            "would abort on; the capture contained them (PROTOCOL.md §2.2, §6)")
    if outcome.lost and report.peer_error is None:
        report.peer_error = f"conn {conn}: {outcome.lost}"


def finish_timing(report: ReplayReport, lateness: list[float]) -> None:
    report.timing = TimingStats.of(lateness)
