"""Which reorders the protocol allows between two messages of one sender. Pure.

Matching is by kind and order: the n-th arrival of a kind is compared with the n-th recorded
message of that kind. Across kinds, a replayed peer may legitimately change the order:

* OpenUtau runs two independent debounces, (a) `updateUstx` → `updateTracks` (→
  `updateProjectInfo` in v1.2) and (b) `updatePartLayout` → `updateAudio`; the order *between*
  (a) and (b) varies, the order inside each is fixed (PROTOCOL.md §3.6.5, §5.1). P2 had a
  single debounce that sends everything in sequence (§4), so there nothing may move.
* The S plugin answers each request on its own thread: responses come back in any order and
  are matched by id (§2.2, §6.2).
* `init` comes first and `close` last.

Messages in the same order group must keep their recorded order; messages in different groups
may swap. `None` means "free" (responses).
"""

from __future__ import annotations

from utauproxy.records import Direction
from utauproxy.replay.script import Role, ScriptMessage

ALL = "all"  # must keep its place relative to everything
_OU_GROUPS = {
    "updateUstx": "ustx-debounce",
    "updateTracks": "ustx-debounce",
    "updateProjectInfo": "ustx-debounce",
    "updatePartLayout": "layout-debounce",
    "updateAudio": "layout-debounce",
}


def order_group(message: ScriptMessage, *, single_sequence: bool = False) -> str | None:
    """The order group of a recorded message (see the module docstring)."""
    if message.role in (Role.RESPONSE, Role.PING):
        return None
    if message.role in (Role.CLOSE, Role.OTHER) or single_sequence:
        return ALL
    if message.direction is Direction.OU_TO_PLUGIN:
        if message.role is Role.FRAME:
            return "layout-debounce"  # v1.2 pulls are answered from the layout debounce
        return _OU_GROUPS.get(message.kind or "", ALL)
    if message.role is Role.REQUEST:
        return "plugin-requests"
    return "plugin-notifications"


def must_keep_order(first: str | None, second: str | None) -> bool:
    """Whether two messages of these groups must arrive in their recorded order."""
    if first is None or second is None:
        return False
    return ALL in (first, second) or first == second


def single_sequence_protocol(messages: list[ScriptMessage]) -> bool:
    """P2 (one debounce, bare `ping {}`, PROTOCOL.md §4) sends everything in sequence."""
    return any(m.role is Role.PING and m.label == "other:ping" for m in messages)


def allowed_reorder_reason(first: ScriptMessage, second: ScriptMessage) -> str:
    """Why the protocol allows `second` to arrive before `first`."""
    if first.role is Role.RESPONSE or second.role is Role.RESPONSE:
        return "responses are matched by id and may come in any order (PROTOCOL.md §6.2)"
    return "independent debounces of OpenUtau (PROTOCOL.md §3.6.5)" \
        if first.direction is Direction.OU_TO_PLUGIN else "independent plugin messages"
