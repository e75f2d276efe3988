"""The client side of workloads (a) and (b): plain blocking sockets, timed with perf_counter_ns,
so the client adds the same small, steady cost to every route."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass

import zstandard

from utauproxy.protocol.audio import signed_xxh32

REQUEST_BYTES = 300
_RECEIVE = 256 * 1024


def request_line(request_id: str) -> bytes:
    """An OpenUtau-style `updatePartLayout` request (compact Newtonsoft JSON, PROTOCOL.md §3.3)
    of about REQUEST_BYTES, LF included."""
    head = f"request:{request_id}:updatePartLayout ".encode()
    parts = []
    body = b""
    n = 0
    while len(head) + len(body) + 1 < REQUEST_BYTES - 45:
        parts.append({"trackNo": n % 3, "startMs": 1500.0 * n, "endMs": 1500.0 * n + 1200.5,
                      "audioHash": -630150190 + n})
        body = json.dumps({"parts": parts}, separators=(",", ":")).encode()
        n += 1
    return head + body + b"\n"


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class LineReader:
    """Reads LF-terminated lines from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def line(self) -> bytes:
        while (end := self._buf.find(b"\n")) < 0:
            data = self._sock.recv(_RECEIVE)
            if not data:
                raise ConnectionError("the server closed the connection")
            self._buf += data
        line = bytes(self._buf[:end + 1])
        del self._buf[:end + 1]
        return line


@dataclass
class Traffic:
    """What a client sent and received on one route: `record` must have captured exactly this."""

    sent: int = 0
    received: int = 0
    messages: int = 0

    @property
    def wire_bytes(self) -> int:
        return self.sent + self.received


def round_trips(port: int, count: int, warmup: int, traffic: Traffic) -> list[int]:
    """`count` timed request/response round trips (ns) after `warmup` untimed ones, on one
    connection, one request in flight at a time."""
    lines = [request_line(str(uuid.UUID(int=i + 1))) for i in range(count + warmup)]
    rtts: list[int] = []
    with _connect(port) as sock:
        reader = LineReader(sock)
        for i, line in enumerate(lines):
            started = time.perf_counter_ns()
            sock.sendall(line)
            answer = reader.line()
            elapsed = time.perf_counter_ns() - started
            if not answer.startswith(b"response:"):
                raise RuntimeError(f"unexpected answer {answer[:60]!r}")
            if i >= warmup:
                rtts.append(elapsed)
            traffic.sent += len(line)
            traffic.received += len(answer)
            traffic.messages += 2
    return rtts


_EXPONENT = bytes((b & 0x80) | 0x3C for b in range(256))  # keep the sign, |x| in [2^-7, 2^-5)
_ZSTD_RATIO = 0.884  # what zstd -3 leaves of these floats (measured)


def audio_line(target_bytes: int) -> bytes:
    """A fresh `notification:updateAudio` line of about `target_bytes`: base64 of zstd of
    float32 audio with random mantissas (it compresses like a real render, PROTOCOL.md §3.4),
    keyed by its signed XXH32. Every call gives different audio, so a recorder cannot
    shortcut one line against the previous one."""
    floats = int(target_bytes * 3 / 4 / _ZSTD_RATIO) // 8 * 2  # whole stereo frames
    noise = bytearray(os.urandom(floats * 4))
    noise[3::4] = bytes(noise[3::4]).translate(_EXPONENT)
    samples = bytes(noise)
    packed = zstandard.ZstdCompressor(level=3, write_content_size=True).compress(samples)
    payload = base64.b64encode(packed)
    return b'notification:updateAudio {"audios":{"%d":"' % signed_xxh32(samples) + payload + b'"}}\n'


def send_big_line(port: int, line: bytes, traffic: Traffic) -> float:
    """Seconds from the first byte of `line` until the server has read all of it: a small
    request goes right behind it and its answer marks the end (one extra round trip)."""
    sync = request_line(str(uuid.uuid4()))
    with _connect(port) as sock:
        reader = LineReader(sock)
        started = time.perf_counter()
        sock.sendall(line)
        sock.sendall(sync)
        answer = reader.line()
        elapsed = time.perf_counter() - started
    traffic.sent += len(line) + len(sync)
    traffic.received += len(answer)
    traffic.messages += 3
    return elapsed
