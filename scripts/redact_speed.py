"""How fast `utauproxy.redact` goes through a realistic session (docs/redaction.md).

Builds the OpenUtau side of peers/session.py realistic_session (a ~300-note project resent in
full after each of its edits, plus tracks and re-rendered audio for the parts an edit touched)
and redacts every line with one Redactor, as `utauproxy bundle` does. Prints MB/s for the USTX
lines (the resend cache at work), the audio lines, and the first pass over a project (a cold
cache), each next to a baseline over the same bytes (json.loads), because wall-clock figures
on a shared machine are noisy while the ratio is not.

    python scripts/redact_speed.py [--edits 220] [--audio-seconds 20]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence

from utauproxy.peers.edits import rerendered_parts
from utauproxy.peers.ou_messages import audio_notification, tracks_notification, ustx_notification
from utauproxy.peers.rules import rules_for
from utauproxy.peers.session import realistic_session
from utauproxy.peers.ustx import to_ustx
from utauproxy.protocol.audio import encode_audio_payload, signed_xxh32
from utauproxy.records import Direction, MessageRecord
from utauproxy.redact import RedactionOptions, Redactor


def _lines(edits: int, audio_seconds: float) -> tuple[list[bytes], list[bytes]]:
    scenario = realistic_session(7, edits=edits, audio_seconds=audio_seconds)
    rules = rules_for("P6")
    text_lines: list[bytes] = []
    audio_lines: list[bytes] = []
    edit_list = scenario.edits
    for number, project in enumerate(scenario.projects()):
        text_lines.append(ustx_notification(rules, to_ustx(project)))
        text_lines.append(tracks_notification(rules, project))
        parts = range(len(project.voice_parts)) if number == 0 else sorted(
            rerendered_parts(edit_list[number - 1]))
        if number % 10 == 0:  # audio for every tenth burst: rendering dominates otherwise
            audios = []
            for part in parts:
                samples = scenario.render(project, part)
                audios.append((signed_xxh32(samples), encode_audio_payload(samples, "zstd")))
            if audios:
                audio_lines.append(audio_notification(audios))
    return text_lines, audio_lines


def _timed(action: Callable[[bytes], object], lines: Sequence[bytes]) -> float:
    start = time.perf_counter()
    for line in lines:
        action(line)
    return time.perf_counter() - start


def _baseline(line: bytes) -> object:
    return json.loads(line.split(b" ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=220)
    parser.add_argument("--audio-seconds", type=float, default=20.0)
    args = parser.parse_args()
    text_lines, audio_lines = _lines(args.edits, args.audio_seconds)
    redactor = Redactor(RedactionOptions(key=bytes(32)), user="alice", home="/home/alice")

    def redact(line: bytes) -> object:
        return redactor.record(MessageRecord(0, 1, Direction.OU_TO_PLUGIN, line))

    first = text_lines[:1]
    rows = [("first project (cold cache)", first), ("USTX + tracks resends", text_lines[1:]),
            ("updateAudio", audio_lines)]
    print(f"{'lines':<28}{'MB':>9}{'redact MB/s':>14}{'json.loads MB/s':>18}{'ratio':>8}")
    for label, lines in rows:
        size = sum(len(line) for line in lines) / 1e6
        base = _timed(_baseline, lines)
        took = _timed(redact, lines)
        print(f"{label:<28}{size:>9.1f}{size / took:>14.1f}{size / base:>18.1f}"
              f"{took / base:>8.2f}")
    manifest = redactor.manifest()
    changed = {rule: entry["changed"] for rule, entry in manifest["rules"].items()}
    print("changed:", changed)


if __name__ == "__main__":
    main()
