"""The message kinds of each dialect, their form (request or notification) and the side
that sends them (PROTOCOL.md §3.2 for the line protocol, §5.1 for API v1.2)."""

from __future__ import annotations

from utauproxy.records import Direction

OU = Direction.OU_TO_PLUGIN
PLUGIN = Direction.PLUGIN_TO_OU

LINE_KINDS: dict[tuple[str, str], Direction] = {
    ("request", "init"): OU,
    ("request", "updatePartLayout"): OU,
    ("notification", "updateUstx"): OU,
    ("notification", "updateTracks"): OU,
    ("notification", "updateAudio"): OU,
    ("notification", "ping"): PLUGIN,
    ("notification", "playbackStarted"): PLUGIN,  # R fork (PROTOCOL.md §4 row R)
}
V1_2_KINDS: dict[tuple[str, str], Direction] = {
    ("request", "init"): OU,
    ("request", "updatePartLayout"): OU,
    ("notification", "updateUstx"): OU,
    ("notification", "updateTracks"): OU,
    ("notification", "updateProjectInfo"): OU,
    ("notification", "ping"): PLUGIN,
    ("notification", "playbackStarted"): PLUGIN,
    ("notification", "playhead"): PLUGIN,
    ("notification", "bpm"): PLUGIN,
    ("request", "getAudio"): PLUGIN,
}
ALL_KINDS = {**LINE_KINDS, **V1_2_KINDS}


def sender_name(direction: Direction) -> str:
    return "OpenUtau" if direction is OU else "the plugin"
