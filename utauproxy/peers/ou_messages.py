"""The lines the simulated OpenUtau writes, per version (PROTOCOL.md §3.2-§3.4, §5.1).

Line versions serialise with Newtonsoft's conventions (field declaration order, compact,
`0.0`), v1.2 with System.Text.Json's (no forced `.0`, `\\uXXXX` escapes, hashes as strings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from utauproxy.peers.project import Project
from utauproxy.peers.rules import VersionRules


@dataclass(frozen=True, slots=True)
class LayoutPart:
    track_no: int
    start_ms: float
    end_ms: float
    audio_hash: int


def init_request(rules: VersionRules, request_id: str, ustx: str) -> bytes:
    # S's InitRequest has no fields; v1.2 sends the open project with it (§3.2, §5.1).
    payload = rules.ou_json.dumpb({"ustx": ustx}) if rules.bridge else b"{}"
    return f"request:{request_id}:init ".encode() + payload


def ustx_notification(rules: VersionRules, ustx: str) -> bytes:
    return b"notification:updateUstx " + rules.ou_json.dumpb({"ustx": ustx})


def tracks_notification(rules: VersionRules, project: Project) -> bytes:
    tracks: list[dict[str, object]] = []
    for track in project.tracks:
        entry: dict[str, object] = {"name": track.track_name, "volume": float(track.volume),
                                    "pan": float(track.pan)}
        if rules.bridge:  # API 1.1 -> 1.2 added singer and engine (§5.1)
            entry.update(muted=track.mute, singer=track.singer or "", engine=track.renderer or "")
        tracks.append(entry)
    return b"notification:updateTracks " + rules.ou_json.dumpb({"tracks": tracks})


def project_info_notification(rules: VersionRules, project: Project) -> bytes:
    return b"notification:updateProjectInfo " + rules.ou_json.dumpb(
        {"name": project.name, "saved": project.saved})


def layout_request(rules: VersionRules, request_id: str, parts: Sequence[LayoutPart]) -> bytes:
    body = {"parts": [
        {"trackNo": p.track_no, "startMs": float(p.start_ms), "endMs": float(p.end_ms),
         "audioHash": str(p.audio_hash) if rules.hashes_as_strings else p.audio_hash}
        for p in parts]}
    return f"request:{request_id}:updatePartLayout ".encode() + rules.ou_json.dumpb(body)


def audio_notification(audios: Sequence[tuple[int, str]]) -> bytes:
    """`{"audios":{"<hash>":"<base64>",…}}` in the given order. Keys are decimal and base64
    needs no escaping, so the (possibly huge) line is joined without a JSON encoder."""
    members = b",".join(b'"%d":"%s"' % (key, b64.encode("ascii")) for key, b64 in audios)
    return b'notification:updateAudio {"audios":{' + members + b"}}"


def frame_header(audio_hash: int, length: int) -> bytes:
    return b"audio %d %d" % (audio_hash, length)


def get_audio_failure(rules: VersionRules, request_id: str, error: str) -> bytes:
    body = {"success": False, "data": None, "error": error}
    return f"response:{request_id} ".encode() + rules.ou_json.dumpb(body)
