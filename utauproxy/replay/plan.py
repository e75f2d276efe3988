"""What we send on one replayed connection, when, and after what (pure).

Each outgoing message is either
* an *answer* (a response, or a v1.2 audio frame answering `getAudio`): sent once the live
  request it answers has arrived, with that request's live id, never in place of it; or
* *scheduled*: sent in recorded order, at its recorded offset from the anchor, and only after
  the incoming messages it causally follows (`needs`) have arrived. Playing OpenUtau, that is
  the plugin's replies (and v1.2 `getAudio` pulls) recorded before it (PROTOCOL.md §6: send
  `updateAudio` only after the layout response). Playing the plugin, it is the last OpenUtau message recorded before it; a
  ping follows nothing unless the pace is `max` (pings are periodic, not causal).
A need that does not arrive within the reply timeout stops blocking (the matcher reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from utauproxy.records import Direction
from utauproxy.replay.schedule import Pace, schedule_offsets
from utauproxy.replay.script import ConnectionScript, Role, ScriptMessage


@dataclass(frozen=True, slots=True)
class Outgoing:
    message: ScriptMessage
    due: float  # seconds after the anchor
    needs: tuple[int, ...] = ()  # script indices of incoming messages to wait for
    answers: int | None = None  # answers: the request's script index

    @property
    def is_answer(self) -> bool:
        return self.answers is not None


def plan_outgoing(script: ConnectionScript, sending: Direction, pace: Pace) -> tuple[list[Outgoing], list[float]]:
    """The outgoing messages of `script` for the side that sends `sending`, and the schedule
    offset of every message of the script (by index)."""
    offsets = schedule_offsets([m.ts_ns for m in script.messages], pace)
    plan: list[Outgoing] = []
    since_last: list[int] = []  # incoming replies since the previous scheduled message
    last_incoming: int | None = None
    for message in script.messages:
        if message.direction is not sending:
            if message.role is Role.PING:
                continue
            last_incoming = message.index
            if message.role in (Role.RESPONSE, Role.REQUEST):
                since_last.append(message.index)  # replies, and v1.2 pulls (PROTOCOL.md §5.1)
            continue
        due = offsets[message.index]
        if message.role in (Role.RESPONSE, Role.FRAME) and message.answers is not None:
            plan.append(Outgoing(message, due, (message.answers,), message.answers))
            continue
        if sending is Direction.OU_TO_PLUGIN:
            needs = tuple(since_last)
        elif message.role is Role.PING and pace.speed is not None:
            needs = ()
        else:
            needs = () if last_incoming is None else (last_incoming,)
        plan.append(Outgoing(message, due, needs))
        since_last = []
    return plan, offsets
