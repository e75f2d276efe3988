"""An OpenUtau project as plain, immutable data, and a seeded generator of realistic ones.

Only what the link carries matters here: the USTX text (ustx.py renders it), the tracks list
(name, volume, pan) and the part layout (track, start/end in ms). Everything is frozen so an
edit builds a new project that shares the untouched parts with the old one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

RESOLUTION = 480  # ticks per quarter note, OpenUtau's default


@dataclass(frozen=True, slots=True)
class PitchPoint:
    x: float
    y: float
    shape: str = "io"


@dataclass(frozen=True, slots=True)
class Vibrato:
    length: float = 0
    period: float = 175
    depth: float = 25
    fade_in: float = 10
    fade_out: float = 10
    shift: float = 0
    drift: float = 0
    vol_link: float = 0


@dataclass(frozen=True, slots=True)
class PhonemeExpression:
    index: int
    abbr: str
    value: float


@dataclass(frozen=True, slots=True)
class PhonemeOverride:
    index: int
    phoneme: str | None = None
    offset: int | None = None
    preutter_delta: float | None = None
    overlap_delta: float | None = None


@dataclass(frozen=True, slots=True)
class Note:
    position: int  # ticks from the start of its part
    duration: int
    tone: int  # MIDI note number
    lyric: str
    pitch: tuple[PitchPoint, ...] = (PitchPoint(-40, 0), PitchPoint(40, 0))
    vibrato: Vibrato = Vibrato()
    phoneme_expressions: tuple[PhonemeExpression, ...] = ()
    phoneme_overrides: tuple[PhonemeOverride, ...] = ()

    @property
    def end(self) -> int:
        return self.position + self.duration


@dataclass(frozen=True, slots=True)
class Curve:
    abbr: str
    xs: tuple[int, ...]
    ys: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class VoicePart:
    name: str
    track_no: int
    position: int  # ticks from the start of the project
    duration: int
    notes: tuple[Note, ...]
    curves: tuple[Curve, ...] = ()
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Track:
    track_name: str
    phonemizer: str
    singer: str | None = None
    renderer: str | None = None
    track_color: str = "Blue"
    mute: bool = False
    solo: bool = False
    volume: float = 0.0  # dB
    pan: float = 0.0  # -100..100


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    tracks: tuple[Track, ...]
    voice_parts: tuple[VoicePart, ...]
    tempo: float = 120.0
    resolution: int = RESOLUTION
    key: int = 0
    beat_per_bar: int = 4
    beat_unit: int = 4
    comment: str = ""
    output_dir: str = "Vocal"
    cache_dir: str = "UCache"
    legacy_bpm: float = 120.0  # the top-level `bpm:` OpenUtau keeps writing; tempos rule
    saved: bool = True

    def tick_to_ms(self, tick: int) -> float:
        """OpenUtau's TimeAxis.TickPosToMsPos for a project with one tempo."""
        return tick * 60000.0 / (self.tempo * self.resolution)

    def part_span_ms(self, index: int) -> tuple[float, float]:
        """(startMs, endMs) of a voice part, as OpenUtau puts them in the layout (§3.4)."""
        part = self.voice_parts[index]
        return self.tick_to_ms(part.position), self.tick_to_ms(part.position + part.duration)


# -- generation -------------------------------------------------------------------------------

KANA = tuple("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん")
KANA += ("きゃ", "しゅ", "ちょ", "が", "ぎ", "ぐ", "ざ", "だ", "ば", "ぱ", "ー")
ENGLISH = ("la", "oh", "the", "storm[s t o m]", "is[- I z]", "sky", "light[l aI t]", "in[- I n]",
           "my", "heart", "blue", "so", "far", "away[@ w eI]", "night[n aI t]")
SINGERS = ("模擬歌声ライブラリー", "Sim Voice 日本語", "テスト音源 Mk-II")
PHONEMIZERS = (
    "OpenUtau.Plugin.Builtin.JapaneseVCVPhonemizer",
    "OpenUtau.Plugin.Builtin.JapaneseCVVCPhonemizer",
    "OpenUtau.Plugin.Builtin.EnXSampaPhonemizer",
    "OpenUtau.Core.DefaultPhonemizer",
)
TRACK_NAMES = ("main", "ハモリ", "chorus", "Track4", "Track5", "Track6")
PART_NAMES = ("New Part", "Aメロ", "Bメロ", "サビ", "bridge")
NOTE_LENGTHS = (120, 240, 240, 480, 480, 480, 720, 960)
CURVE_ABBRS = ("pitd", "dyn", "tenc", "brec", "genc", "voic")
BAR = 1920  # ticks in a 4/4 bar


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    """Size knobs of a generated project."""

    notes: int = 300
    tracks: int = 3
    parts_per_track: int = 2
    part_seconds: float | None = None  # fix each voice part's length (shrinks the audio)
    curve_points: int = 60  # points per expression curve


def generate_project(seed: int, spec: ProjectSpec = ProjectSpec()) -> Project:
    """A deterministic multi-track project. The default spec gives ~300 notes with pitch
    points, vibratos, phoneme expressions and curves: well over 100 KB of USTX."""
    rng = random.Random(seed)
    tempo = float(rng.choice((120, 128, 140, 150, 165)))
    tracks = tuple(_track(rng, n) for n in range(max(1, spec.tracks)))
    part_count = len(tracks) * max(1, spec.parts_per_track)
    per_part = _split_evenly(max(part_count, spec.notes), part_count)
    parts = []
    track_ends = [0] * len(tracks)
    for index, note_count in enumerate(per_part):
        track_no = index % len(tracks)
        english = "EnXSampa" in tracks[track_no].phonemizer
        notes = _notes(rng, note_count, english)
        duration = _round_up(notes[-1].end, BAR)
        if spec.part_seconds is not None:
            target = max(note_count, round(spec.part_seconds * tempo * RESOLUTION / 60000 * 1000))
            notes, duration = _squeeze(notes, duration, target)
        position = track_ends[track_no] + rng.choice((0, 0, BAR))
        track_ends[track_no] = position + duration
        curves = tuple(_curve(rng, abbr, duration, spec.curve_points)
                       for abbr in rng.sample(CURVE_ABBRS, rng.randint(0, 3)))
        parts.append(VoicePart(name=rng.choice(PART_NAMES), track_no=track_no,
                               position=position, duration=duration, notes=notes,
                               curves=curves))
    return Project(name=f"デモ曲 {seed}", tracks=tracks, voice_parts=tuple(parts), tempo=tempo,
                   key=rng.randint(0, 11))


def _split_evenly(total: int, buckets: int) -> list[int]:
    base, extra = divmod(total, buckets)
    return [base + (1 if n < extra else 0) for n in range(buckets)]


def _round_up(value: int, step: int) -> int:
    return max(step, -(-value // step) * step)


def _track(rng: random.Random, index: int) -> Track:
    phonemizer = PHONEMIZERS[index % len(PHONEMIZERS)]
    default = phonemizer.startswith("OpenUtau.Core")
    return Track(
        track_name=TRACK_NAMES[index % len(TRACK_NAMES)],
        phonemizer=phonemizer,
        singer=None if default else rng.choice(SINGERS),
        renderer=None if default else "WORLDLINE-R",
        volume=rng.choice((0.0, 0.0, -6.0, -8.0, 2.5, 6.2926829268292686)),
        pan=rng.choice((0.0, 0.0, 0.0, -30.0, 30.0, 12.5)),
        solo=False,
    )


def _notes(rng: random.Random, count: int, english: bool) -> tuple[Note, ...]:
    notes: list[Note] = []
    position = 0
    tone = rng.randint(60, 69)
    for n in range(count):
        previous = tone
        tone = min(79, max(52, tone + rng.choice((-4, -2, -1, 0, 0, 1, 2, 3, 5))))
        duration = rng.choice(NOTE_LENGTHS)
        notes.append(random_note(rng, position, duration, tone, (previous - tone) * 10, english))
        position += duration + (rng.choice((240, 480)) if rng.random() < 0.08 else 0)
    return tuple(notes)


def random_note(rng: random.Random, position: int, duration: int, tone: int, bend: int,
                english: bool = False) -> Note:
    """One note with the fields OpenUtau writes for an edited note."""
    if rng.random() < 0.12:
        lyric = "+"
    else:
        lyric = rng.choice(ENGLISH) if english else rng.choice(KANA)
    lead, tail = rng.choice(((-40, 40), (-9, 8)))
    points = [PitchPoint(lead, bend), PitchPoint(tail, 0)]
    if duration >= 480 and rng.random() < 0.3:
        points.insert(1, PitchPoint(rng.randint(lead + 1, tail - 1), rng.choice((-10, 5, 10))))
    vibrato = Vibrato(length=rng.choice((30, 50, 70))) if duration >= 720 else Vibrato()
    expressions = tuple(PhonemeExpression(i, "vel", 200)
                        for i in range(rng.randint(1, 3))) if rng.random() < 0.4 else ()
    overrides: tuple[PhonemeOverride, ...] = ()
    if rng.random() < 0.05:
        overrides = (PhonemeOverride(0, offset=rng.randint(-40, 20)),)
    elif rng.random() < 0.03:
        overrides = (PhonemeOverride(0, preutter_delta=round(rng.uniform(-40, 10), 5)),)
    return Note(position=position, duration=duration, tone=tone, lyric=lyric,
                pitch=tuple(points), vibrato=vibrato, phoneme_expressions=expressions,
                phoneme_overrides=overrides)


def _squeeze(notes: tuple[Note, ...], natural: int, target: int) -> tuple[tuple[Note, ...], int]:
    """Scale note positions so the part lasts about `target` ticks (>= 1 tick per note)."""
    starts: list[int] = []
    for note in notes:
        scaled = note.position * target // natural
        starts.append(max(scaled, starts[-1] + 1) if starts else scaled)
    limits = starts[1:] + [max(target, starts[-1] + 1)]
    squeezed = tuple(
        Note(position=start, tone=note.tone, lyric=note.lyric, pitch=note.pitch,
             duration=max(1, min(limit, note.end * target // natural) - start),
             vibrato=note.vibrato, phoneme_expressions=note.phoneme_expressions,
             phoneme_overrides=note.phoneme_overrides)
        for note, start, limit in zip(notes, starts, limits, strict=True))
    return squeezed, max(target, squeezed[-1].end)


def _curve(rng: random.Random, abbr: str, duration: int, points: int) -> Curve:
    x = rng.randrange(0, max(1, duration // 2), 5)
    xs = []
    for _ in range(max(2, points)):
        xs.append(x)
        x += rng.choice((5, 5, 10, 15, 20))
    level = rng.randint(-50, 50)
    ys = tuple(max(-100, min(100, level + rng.randint(-8, 8))) for _ in xs)
    return Curve(abbr=abbr, xs=tuple(xs), ys=ys)
