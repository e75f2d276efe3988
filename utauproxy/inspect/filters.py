"""Which timeline lines `show` prints: by kind, direction, connection and time range."""

from __future__ import annotations

from dataclasses import dataclass

from utauproxy.inspect.timeline import TimelineLine
from utauproxy.records import Direction

_DIRECTIONS = {
    "to-plugin": Direction.OU_TO_PLUGIN,
    "ou>plugin": Direction.OU_TO_PLUGIN,
    "→": Direction.OU_TO_PLUGIN,
    "to-ou": Direction.PLUGIN_TO_OU,
    "plugin>ou": Direction.PLUGIN_TO_OU,
    "←": Direction.PLUGIN_TO_OU,
}
DIRECTION_NAMES = ("to-plugin", "to-ou", "ou>plugin", "plugin>ou")
_ABBREVIATIONS = {"request": "req", "response": "res", "notification": "ntf"}


def parse_direction(text: str) -> Direction:
    """`to-plugin`/`ou>plugin`/`→` or `to-ou`/`plugin>ou`/`←`; ValueError otherwise."""
    try:
        return _DIRECTIONS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown direction {text!r} (use to-plugin or to-ou)") from None


def line_names(line: TimelineLine) -> set[str]:
    """Every name a `--kind` value may use for this line, lower case: `updateaudio`,
    `notification`, `notification:updateaudio`, `ntf:updateaudio`, `conn`, `conn:open`..."""
    kind, type_name = line.kind.lower(), line.type.lower()
    names = {type_name, f"{type_name}:{kind}"}
    if kind:
        names.add(kind)
    abbreviation = _ABBREVIATIONS.get(type_name)
    if abbreviation is not None:
        names.update({abbreviation, f"{abbreviation}:{kind}"})
    return names


@dataclass(frozen=True, slots=True)
class LineFilter:
    """Empty sets and None mean "any". Records without a connection or direction (discovery,
    marks, notices) are left out as soon as a connection or direction is asked for."""

    kinds: frozenset[str] = frozenset()
    direction: Direction | None = None
    conns: frozenset[int] = frozenset()
    since_ns: int | None = None
    until_ns: int | None = None

    @classmethod
    def build(cls, kinds: tuple[str, ...] = (), direction: str | None = None,
              conns: tuple[int, ...] = (), since_s: float | None = None,
              until_s: float | None = None) -> LineFilter:
        """From command-line values (seconds since the capture started)."""
        return cls(
            kinds=frozenset(k.strip().lower() for k in kinds),
            direction=parse_direction(direction) if direction else None,
            conns=frozenset(conns),
            since_ns=round(since_s * 1e9) if since_s is not None else None,
            until_ns=round(until_s * 1e9) if until_s is not None else None,
        )

    def accepts(self, line: TimelineLine) -> bool:
        if self.since_ns is not None and line.ts_ns < self.since_ns:
            return False
        if self.until_ns is not None and line.ts_ns > self.until_ns:
            return False
        if self.conns and line.conn not in self.conns:
            return False
        if self.direction is not None and line.direction is not self.direction:
            return False
        return not self.kinds or bool(self.kinds & line_names(line))
