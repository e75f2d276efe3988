"""The Python API of utauproxy: what `from utauproxy import ...` gives a user (docs/python-api.md).

- `open_capture(path)`: a capture's header, footer, records and labelled messages.
- `recording(output, discovery_dir=...)`: `utauproxy record` as a context manager.
- `replaying(capture, role=...)`: `utauproxy replay` as a context manager that yields the
  port and discovery folder and raises `Divergence` (with the report) on exit.

Every context manager works with `async with` (in the caller's anyio event loop) and with
plain `with` (an event loop in a helper thread), so synchronous tests can use them too.
"""

from utauproxy.api.captures import Capture, CapturedMessage, label_of, open_capture
from utauproxy.api.dual import DualContext
from utauproxy.api.record_session import Recording, recording
from utauproxy.api.replay_session import (
    Divergence,
    ReplaySession,
    replay_options,
    replaying,
    replaying_with,
)
from utauproxy.replay.options import ReplayOptions
from utauproxy.replay.render import render_human, render_json, render_junit
from utauproxy.replay.report import Divergence as MessageDivergence
from utauproxy.replay.report import DivergenceKind, ReplayReport
from utauproxy.replay.rules import RULES as REPLAY_RULES

__all__ = [
    "REPLAY_RULES",
    "Capture",
    "CapturedMessage",
    "Divergence",
    "DivergenceKind",
    "DualContext",
    "MessageDivergence",
    "Recording",
    "ReplayOptions",
    "ReplayReport",
    "ReplaySession",
    "label_of",
    "open_capture",
    "recording",
    "render_human",
    "render_json",
    "render_junit",
    "replay_options",
    "replaying",
    "replaying_with",
]
