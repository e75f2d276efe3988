"""A plugin-like echo server for the benchmark: it listens on 127.0.0.1, advertises itself with
a discovery entry as the real plugin does (PROTOCOL.md §1.2), and answers every
`request:<id>:<kind>` line with a ~300 B `response:<id>` line in the plugin's choc style.
Everything else (notifications, 64 MiB updateAudio lines) is read and dropped.

Plain blocking sockets and one thread per connection: it must cost as little as possible so
the figures are about the path between client and server, not about the server.

    python scripts/bench/echo_server.py --dir FOLDER      # prints the port, then serves
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import uuid
from pathlib import Path

_HEAD_BYTES = 128  # enough of a line to read its header
_RECEIVE = 256 * 1024
RESPONSE_BYTES = 300


def response_for(request_id: bytes) -> bytes:
    """A choc-style success envelope padded so the whole line is RESPONSE_BYTES long."""
    head = b"response:" + request_id + b' {"success": true, "data": {"missingAudios": [], "note": "'
    tail = b'"}}\n'
    return head + b"x" * max(0, RESPONSE_BYTES - len(head) - len(tail)) + tail


def _answer(sock: socket.socket, head: bytes) -> None:
    if head.startswith(b"request:"):
        request_id = head[len(b"request:"):].split(b":", 1)[0]
        sock.sendall(response_for(request_id))


def serve_connection(sock: socket.socket) -> None:
    """Answer requests until the peer closes; only a line's first bytes are ever kept."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head = bytearray()
    with sock:
        try:
            while data := sock.recv(_RECEIVE):
                pos = 0
                while (end := data.find(b"\n", pos)) >= 0:
                    if len(head) < _HEAD_BYTES:
                        head += data[pos:min(end, pos + _HEAD_BYTES - len(head))]
                    _answer(sock, bytes(head))
                    head.clear()
                    pos = end + 1
                if len(head) < _HEAD_BYTES:
                    head += data[pos:pos + _HEAD_BYTES - len(head)]
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="discovery folder to advertise in")
    parser.add_argument("--name", default="bench echo")
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    port = listener.getsockname()[1]
    args.dir.mkdir(parents=True, exist_ok=True)
    entry = args.dir / f"{uuid.uuid4()}.json"
    entry.write_text(json.dumps({"port": port, "name": args.name}), encoding="utf-8")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(port, flush=True)
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        entry.unlink(missing_ok=True)  # the plugin deletes its entry when unloaded (§1.3)
        listener.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
