"""Audio rules: what the plugin says is missing comes from the layout and is then sent; every
audio payload decodes, carries its content size, hashes to its key and is as long as its part
(PROTOCOL.md §3.2, §3.4, §3.6, §5.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from utauproxy.check.context import CheckContext, json_object
from utauproxy.check.findings import Finding
from utauproxy.check.shape import hash_value, is_number, same_hash_key
from utauproxy.inspect.audio import AudioCheck, check_audio_value, check_frame
from utauproxy.inspect.correlate import Outcome
from utauproxy.inspect.decode import Decoded, DecodedMessage, OtherRecord
from utauproxy.protocol.audio import BYTES_PER_FLOAT, CHANNELS, SAMPLE_RATE
from utauproxy.protocol.events import AudioFrame, Message
from utauproxy.protocol.header import HeaderType
from utauproxy.protocol.versions import ProtocolVersion
from utauproxy.records import ConnectionRecord, ConnEvent, Direction

FAMILY = "audio"
RULES = ("missing-not-in-layout", "missing-audio-not-sent", "unrequested-audio", "audio-undecodable",
         "audio-codec", "zstd-without-content-size", "audio-not-stereo-float32", "audio-hash-mismatch",
         "audio-length-mismatch", "frame-hash-mismatch", "frame-length")
_FRAME_BYTES = CHANNELS * BYTES_PER_FLOAT
# P4 and P5 hashes are not XXH32 of the samples at all (PROTOCOL.md §4).
_UNVERIFIABLE_HASHES = frozenset({ProtocolVersion.P4, ProtocolVersion.P5})


def expected_floats(start_ms: float, end_ms: float) -> int:
    """Floats OpenUtau sends for a part: C#'s `(int)((endMs-startMs)*44100/1000)*2` (§3.4)."""
    return int((end_ms - start_ms) * SAMPLE_RATE / 1000) * CHANNELS


@dataclass(frozen=True, slots=True)
class _Owed:
    index: int
    ts_ns: int
    conn: int
    text: str


@dataclass(slots=True)
class _ConnAudio:
    layouts: dict[int, set[int]] = field(default_factory=dict)  # request index -> hashes
    lengths: dict[int, tuple[int, float, float]] = field(default_factory=dict)  # hash -> floats, span
    owed: dict[int, _Owed] = field(default_factory=dict)  # missing hashes not yet sent


class AudioRules:
    name = FAMILY

    def __init__(self) -> None:
        self._conns: dict[int, _ConnAudio] = {}

    def observe(self, item: Decoded, ctx: CheckContext) -> list[Finding]:
        if isinstance(item, OtherRecord):
            record = item.record
            if isinstance(record, ConnectionRecord) and record.event is ConnEvent.CLOSED:
                state = self._conns.pop(record.conn, None)
                return self._unsent(state, ctx, closed=True) if state else []
            return []
        state = self._conns.setdefault(item.conn, _ConnAudio())
        event = item.event
        if isinstance(event, AudioFrame) and item.direction is Direction.OU_TO_PLUGIN:
            return self._frame(item, event, state, ctx)
        if not isinstance(event, Message):
            return []
        header = event.header
        if header.type is HeaderType.REQUEST and header.kind == "updatePartLayout":
            self._layout(item, state)
        elif header.type is HeaderType.RESPONSE:
            return self._layout_response(item, state, ctx)
        elif (header.type is HeaderType.NOTIFICATION and header.kind == "updateAudio"
              and item.direction is Direction.OU_TO_PLUGIN):
            return self._update_audio(item, state, ctx)
        return []

    def finish(self, ctx: CheckContext) -> list[Finding]:
        findings = []
        for state in self._conns.values():
            findings.extend(self._unsent(state, ctx, closed=False))
        return findings

    # -- layout and missingAudios ---------------------------------------------------------------

    def _layout(self, item: DecodedMessage, state: _ConnAudio) -> None:
        payload = json_object(item) or {}
        parts = payload.get("parts")
        hashes: set[int] = set()
        for part in parts if isinstance(parts, list) else []:
            value = hash_value(part.get("audioHash")) if isinstance(part, dict) else None
            if value is None:
                continue
            key = same_hash_key(value)
            hashes.add(key)
            start, end = part.get("startMs"), part.get("endMs")
            if is_number(start) and is_number(end):
                state.lengths[key] = (expected_floats(start, end), start, end)
        state.layouts[item.index] = hashes

    def _layout_response(self, item: DecodedMessage, state: _ConnAudio, ctx: CheckContext) -> list[Finding]:
        answer = ctx.answer
        if answer is None or answer.outcome is not Outcome.MATCHED or answer.request is None:
            return []
        layout = state.layouts.pop(answer.request.index, None)
        envelope = json_object(item) or {}
        data = envelope.get("data")
        missing = data.get("missingAudios") if isinstance(data, dict) else None
        if layout is None or not isinstance(missing, list):
            return []
        findings = []
        for value in missing:
            number = hash_value(value)
            if number is None:
                continue  # the shapes family reports it
            key = same_hash_key(number)
            if key not in layout:
                text = (f"missingAudios lists {value}, which is not a hash of layout request "
                        f"[{answer.request.index}]")
                findings.append(ctx.finding("missing-not-in-layout", FAMILY, "§3.2", text, item))
            else:
                state.owed[key] = _Owed(item.index, item.ts_ns, item.conn, str(value))
        return findings

    def _unsent(self, state: _ConnAudio, ctx: CheckContext, *, closed: bool) -> list[Finding]:
        grace = int(ctx.options.end_grace_s * 1e9)
        findings = []
        for owed in state.owed.values():
            if not closed and ctx.last_ts_ns - owed.ts_ns < grace:
                continue
            when = "before the connection closed" if closed else "by the end of the capture"
            text = f"the plugin reported {owed.text} missing, but its audio was never sent {when}"
            findings.append(ctx.finding("missing-audio-not-sent", FAMILY, "§3.4", text, owed))
        state.owed.clear()
        return findings

    # -- audio payloads -------------------------------------------------------------------------

    def _update_audio(self, item: DecodedMessage, state: _ConnAudio, ctx: CheckContext) -> list[Finding]:
        audios = (json_object(item) or {}).get("audios")
        if not isinstance(audios, dict):
            return []
        findings = []
        for key, value in audios.items():
            number = hash_value(key)
            if number is None or not isinstance(value, str):
                continue  # the shapes family reports it
            check = check_audio_value(key, value)
            findings.extend(self._payload_findings(item, check, ctx))
            findings.extend(self._delivered(item, same_hash_key(number), key, check, state, ctx))
        return findings

    def _frame(self, item: DecodedMessage, frame: AudioFrame, state: _ConnAudio,
               ctx: CheckContext) -> list[Finding]:
        check = check_frame(frame)
        findings = []
        if not check.hash_ok:
            text = f"frame hash {frame.hash} is not the XXH64 of its payload ({check.actual_hash})"
            findings.append(ctx.finding("frame-hash-mismatch", FAMILY, "§5.1", text, item))
        if frame.length % _FRAME_BYTES:
            text = f"frame length {frame.length} is not a whole number of stereo float32 frames"
            findings.append(ctx.finding("frame-length", FAMILY, "§5.1", text, item))
        # A frame answers a getAudio pull: what it delivers is the hash that was asked for.
        delivered = ctx.frame_pulled_hash if ctx.frame_pulled_hash is not None else frame.hash
        findings.extend(self._delivered(item, same_hash_key(delivered), str(delivered), check, state, ctx))
        return findings

    def _payload_findings(self, item: DecodedMessage, check: AudioCheck, ctx: CheckContext) -> list[Finding]:
        if check.error is not None:
            return [ctx.finding("audio-undecodable", FAMILY, "§3.4", f"audio {check.hash}: {check.error}", item)]
        findings = []
        if check.codec == "raw":
            text = f"audio {check.hash} is neither zstd (KLUv…) nor gzip (H4sI…)"
            findings.append(ctx.finding("audio-codec", FAMILY, "§3.4", text, item))
        if check.content_size is False:
            text = (f"audio {check.hash}: the zstd frame has no content size; the real plugin then "
                    "truncates it to ~128 KiB")
            findings.append(ctx.finding("zstd-without-content-size", FAMILY, "§3.4", text, item))
        if check.samples_bytes % _FRAME_BYTES:
            text = f"audio {check.hash}: {check.samples_bytes} bytes is not whole stereo float32 frames"
            findings.append(ctx.finding("audio-not-stereo-float32", FAMILY, "§3.4", text, item))
        if not check.hash_ok and ctx.options.version not in _UNVERIFIABLE_HASHES:
            actual = check.actual_hash or 0
            signed = actual - (1 << 32) if actual >= 1 << 31 else actual
            text = (f"audio key {check.hash} is not the XXH32 of the decoded samples ({signed} signed, "
                    f"{actual} unsigned); only P4/P5 hashes are not XXH32 (--protocol P5 to accept)")
            findings.append(ctx.finding("audio-hash-mismatch", FAMILY, "§3.4", text, item))
        return findings

    def _delivered(self, item: DecodedMessage, key: int, shown: str, check: AudioCheck,
                   state: _ConnAudio, ctx: CheckContext) -> list[Finding]:
        findings = []
        if state.owed.pop(key, None) is None:
            text = f"audio {shown} sent although the plugin did not report it missing"
            findings.append(ctx.finding("unrequested-audio", FAMILY, "§3.4", text, item))
        length = state.lengths.get(key)
        if check.error is None and length is not None and check.floats != length[0]:
            floats, start, end = length
            text = (f"audio {shown} decodes to {check.floats} floats; its part ({start}–{end} ms) "
                    f"needs {floats}")
            findings.append(ctx.finding("audio-length-mismatch", FAMILY, "§3.4", text, item))
        return findings

