"""Simulated OpenUtau and DAW plugin, faithful to PROTOCOL.md (DESIGN.md §7).

Pure parts (no I/O): `project`, `ustx`, `edits`, `render`, `session` (the seeded project and
session generator), `jsonstyle`, `rules`, `plugin_logic`, `ou_messages`. I/O parts (anyio):
`plugin` (serve_plugin), `openutau` (run_openutau), `entries` (discovery files), `link`.
"""

from utauproxy.peers.edits import Edit, apply_edit, random_edit, rerendered_parts
from utauproxy.peers.entries import (
    FoundEntry,
    ScanResult,
    default_discovery_dir,
    scan_like_openutau,
    scan_like_openutau_v1_2,
)
from utauproxy.peers.openutau import OpenUtauConfig, OpenUtauResult, run_openutau
from utauproxy.peers.plugin import PluginConfig, PluginHandle, serve_plugin
from utauproxy.peers.project import Project, ProjectSpec, generate_project
from utauproxy.peers.render import AudioStyle, audio_bytes_for_seconds, float_count, render_part
from utauproxy.peers.rules import RULES, VersionRules, rules_for
from utauproxy.peers.session import (
    Scenario,
    SessionSpec,
    Step,
    StepKind,
    generate_session,
    realistic_session,
)
from utauproxy.peers.ustx import UstxError, parse_ustx, to_ustx

__all__ = [
    "RULES",
    "AudioStyle",
    "Edit",
    "FoundEntry",
    "OpenUtauConfig",
    "OpenUtauResult",
    "PluginConfig",
    "PluginHandle",
    "Project",
    "ProjectSpec",
    "Scenario",
    "ScanResult",
    "SessionSpec",
    "Step",
    "StepKind",
    "UstxError",
    "VersionRules",
    "apply_edit",
    "audio_bytes_for_seconds",
    "default_discovery_dir",
    "float_count",
    "generate_project",
    "generate_session",
    "parse_ustx",
    "random_edit",
    "realistic_session",
    "render_part",
    "rerendered_parts",
    "rules_for",
    "run_openutau",
    "scan_like_openutau",
    "scan_like_openutau_v1_2",
    "serve_plugin",
    "to_ustx",
]
