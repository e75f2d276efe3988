"""The workloads of a full and a quick benchmark run, shared by scripts/bench.py and the
scripts that run one workload of it (bench/run_links.py, bench/run_sessions.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.session import SessionSpec


@dataclass(frozen=True)
class Settings:
    rtt_rounds: int
    rtt_per_round: int
    line_rounds: int
    realistic: SessionSpec
    heavy: SessionSpec
    big_capture_bytes: int
    read_timeout: float
    replay_seconds: float


FULL = Settings(rtt_rounds=6, rtt_per_round=1000, line_rounds=5,
                realistic=SessionSpec("realistic", edits=220, time_scale=0.03, noisy=False),
                heavy=SessionSpec("audio-heavy", edits=80, time_scale=0.03, noisy=True),
                big_capture_bytes=10**9, read_timeout=300, replay_seconds=600)
QUICK = Settings(rtt_rounds=3, rtt_per_round=1000, line_rounds=2,
                 realistic=SessionSpec("realistic", edits=40, time_scale=0.03, noisy=False),
                 heavy=SessionSpec("audio-heavy", edits=12, time_scale=0.03, noisy=True),
                 big_capture_bytes=150 * 10**6, read_timeout=60, replay_seconds=30)


# Capture bytes / wire bytes each session must stay under (issue 8).
CAPTURE_TARGETS = {"realistic": 0.02, "audio-heavy": 0.8}
