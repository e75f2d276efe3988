"""Scenarios: a timed script of what a user does in OpenUtau while it is linked to a plugin.

Pure data, no I/O. The simulated OpenUtau plays a scenario against the clock (scaled by its
time scale); the debouncing, the bursts and the wire format are its business, not the
scenario's. Times are seconds from the start of the run, unscaled.

A user connects, edits (each edit invalidates the audio of the parts it touches), the
renderer finishes those parts a little later, and finally the user disconnects. The first
render-done of a part after an edit is what puts the part back into the layout (§3.4).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from utauproxy.peers.edits import Edit, apply_edit, random_edit, rerendered_parts
from utauproxy.peers.project import Project, ProjectSpec, generate_project
from utauproxy.peers.render import AudioStyle, render_part
from utauproxy.peers.ustx import to_ustx


class StepKind(StrEnum):
    CONNECT = "connect"
    EDIT = "edit"
    RENDER_DONE = "render_done"  # OpenUtau's PartRenderedNotification for one part
    DISCONNECT = "disconnect"  # the user clicks "Disconnect from DAW"


@dataclass(frozen=True, slots=True)
class Step:
    at: float
    kind: StepKind
    edit: Edit | None = None
    part: int | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """What OpenUtau does, when. `initial` is the project open before connecting; all its
    parts are rendered already."""

    seed: int
    initial: Project
    steps: tuple[Step, ...]
    audio_style: AudioStyle = AudioStyle.TONE

    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(s.edit for s in self.steps if s.kind is StepKind.EDIT and s.edit)

    @property
    def duration(self) -> float:
        return self.steps[-1].at if self.steps else 0.0

    def projects(self) -> Iterator[Project]:
        """The project after each edit, starting with the initial one."""
        project = self.initial
        yield project
        for edit in self.edits:
            project = apply_edit(project, edit)
            yield project

    @property
    def final_project(self) -> Project:
        project = self.initial
        for edit in self.edits:
            project = apply_edit(project, edit)
        return project

    def predicted_bursts(self, debounce: float, *, on_connect: bool = True,
                         on_render: bool = True) -> int:
        """How many times a debounce of `debounce` seconds fires during this scenario when
        it restarts on every edit (and connect, render-done): the updateUstx resends a
        P2.1+ OpenUtau makes, not counting the flush on disconnect."""
        kinds = {StepKind.EDIT}
        kinds |= {StepKind.CONNECT} if on_connect else set()
        kinds |= {StepKind.RENDER_DONE} if on_render else set()
        times = [s.at for s in self.steps if s.kind in kinds]
        end = self.steps[-1].at if self.steps else 0.0
        fired = sum(1 for now, after in zip(times, times[1:], strict=False)
                    if after - now > debounce)
        return fired + (1 if times and end - times[-1] > debounce else 0)

    def final_ustx(self) -> str:
        return to_ustx(self.final_project)

    def render(self, project: Project, part: int) -> bytes:
        """The audio the renderer produces for `part` of `project` in this scenario."""
        return render_part(project, part, style=self.audio_style, seed=self.seed)


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """Knobs of a generated session. Times in unscaled seconds."""

    edits: int = 12
    project: ProjectSpec = ProjectSpec(notes=24, tracks=2, parts_per_track=1, curve_points=8)
    edit_gap: tuple[float, float] = (2.0, 4.0)
    render_latency: tuple[float, float] = (0.3, 1.5)
    first_edit_at: float = 7.0  # after the initial sync (and P2's 5 s debounce) settles
    tail: float = 8.0  # quiet time before disconnecting: longer than any debounce (5 s)
    audio_style: AudioStyle = AudioStyle.TONE


def generate_session(seed: int, *, edits: int | None = None, notes: int | None = None,
                     audio_seconds: float | None = None, noisy_audio: bool = False,
                     spec: SessionSpec | None = None) -> Scenario:
    """A deterministic editing session: same seed and knobs, same scenario, same bytes.

    `notes` sizes the project, `audio_seconds` fixes every voice part's length (small for
    fast tests, 180 for a realistic 3-minute part), `edits` the number of edits."""
    spec = spec or SessionSpec()
    project_spec = spec.project
    if notes is not None or audio_seconds is not None:
        project_spec = ProjectSpec(
            notes=notes if notes is not None else project_spec.notes,
            tracks=project_spec.tracks, parts_per_track=project_spec.parts_per_track,
            part_seconds=audio_seconds if audio_seconds is not None else project_spec.part_seconds,
            curve_points=project_spec.curve_points)
    rng = random.Random(seed)
    initial = generate_project(rng.randrange(1 << 31), project_spec)
    style = AudioStyle.NOISY if noisy_audio else spec.audio_style
    steps = _timeline(rng, initial, spec.edits if edits is None else edits, spec)
    return Scenario(seed=seed, initial=initial, steps=steps, audio_style=style)


def one_edit_session(seed: int = 3) -> Scenario:
    """Connect, one edit with its re-render well inside the debounce, disconnect: bursts that
    do not depend on the machine's speed (unscaled steps are >= 0.2 s apart), for tests that
    compare two runs of the same session."""
    base = generate_session(seed, edits=1, audio_seconds=0.05)
    edit = base.edits[0]
    renders = [Step(3.2, StepKind.RENDER_DONE, part=p) for p in sorted(rerendered_parts(edit))]
    steps = (Step(0.0, StepKind.CONNECT), Step(3.0, StepKind.EDIT, edit=edit), *renders,
             Step(12.0, StepKind.DISCONNECT))
    return Scenario(base.seed, base.initial, steps, base.audio_style)


def with_track_volume_change(scenario: Scenario, by_db: float, track: int = 0) -> Scenario:
    """The same session with one track's volume changed: a regression a replay must catch."""
    tracks = list(scenario.initial.tracks)
    tracks[track] = replace(tracks[track], volume=tracks[track].volume + by_db)
    return replace(scenario, initial=replace(scenario.initial, tracks=tuple(tracks)))


def realistic_session(seed: int = 1, *, edits: int = 220, audio_seconds: float | None = None,
                      noisy_audio: bool = True) -> Scenario:
    """The benchmarks' "realistic editing session": 220 small edits of a ~300-note
    project (>100 KB of USTX), each resent in full, plus the re-rendered audio. Edits are
    further apart than render latency + the 1 s debounce, so every edit costs a resend."""
    spec = SessionSpec(edits=edits, project=ProjectSpec(notes=320, tracks=3, parts_per_track=2),
                       edit_gap=(2.4, 4.0), render_latency=(0.2, 1.2))
    return generate_session(seed, audio_seconds=audio_seconds, noisy_audio=noisy_audio,
                            spec=spec)


def _timeline(rng: random.Random, initial: Project, edit_count: int,
              spec: SessionSpec) -> tuple[Step, ...]:
    steps = [Step(0.0, StepKind.CONNECT)]
    project = initial
    now = spec.first_edit_at
    renders: list[Step] = []
    for _ in range(edit_count):
        edit = random_edit(project, rng)
        project = apply_edit(project, edit)
        steps.append(Step(round(now, 3), StepKind.EDIT, edit=edit))
        for part in sorted(rerendered_parts(edit)):
            done = now + rng.uniform(*spec.render_latency)
            renders.append(Step(round(done, 3), StepKind.RENDER_DONE, part=part))
        now += rng.uniform(*spec.edit_gap)
    steps.extend(renders)
    steps.sort(key=lambda s: s.at)  # stable: an edit stays before a render at the same time
    end = max(now, steps[-1].at + spec.tail)
    steps.append(Step(round(end, 3), StepKind.DISCONNECT))
    return tuple(steps)
