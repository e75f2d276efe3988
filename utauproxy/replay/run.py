"""Entry points: load a capture as a replay script and run it in either role."""

from __future__ import annotations

import os
from typing import Literal

from utauproxy.capture.reader import CaptureReader
from utauproxy.replay.as_openutau import replay_as_openutau
from utauproxy.replay.as_plugin import replay_as_plugin
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.report import ReplayReport
from utauproxy.replay.script import ReplayScript, build_script

Role = Literal["plugin", "openutau"]


def load_script(path: str | os.PathLike[str]) -> tuple[ReplayScript, list[str]]:
    """The replay script of the capture at `path`, and warnings about damage the reader
    skipped. Raises CaptureError when the file cannot be read at all."""
    with CaptureReader.open(path) as reader:
        script = build_script(reader.records(), reader.header)
        damage = [f"capture damage at offset {d.offset} ({d.length} bytes): {d.reason}"
                  for d in reader.damage]
    return script, damage


async def run_replay(path: str | os.PathLike[str], role: Role, options: ReplayOptions) -> ReplayReport:
    """Load the capture and replay it as `role`; damage warnings become report notes."""
    script, damage = load_script(path)
    name = os.fspath(path)
    if role == "plugin":
        report = await replay_as_plugin(script, options, capture_name=name)
    else:
        report = await replay_as_openutau(script, options, capture_name=name)
    report.notes[:0] = damage
    if script.skipped_connections:
        report.notes.append(f"recorded connections without messages, not replayed: "
                            f"{', '.join(map(str, script.skipped_connections))}")
    return report
