"""The recorder's own fault: the capture cannot be written any more (disk full). `utauproxy
record` runs as a real process whose file-size limit (RLIMIT_FSIZE) makes writes past it fail,
as a full disk does; forwarding must go on, the user is warned once, and what reached the disk
stays readable."""

from __future__ import annotations

import random
import resource
import signal
import socket
import time
from pathlib import Path

from faults_helpers import EchoPlugin, entry_port, publish_entry, start_recorder, wait_for

from utauproxy.capture.reader import CaptureReader
from utauproxy.records import MessageRecord

LIMIT_BYTES = 256 << 10
REQUESTS = 60


def limit_file_size() -> None:
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG instead of killing us.
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


def test_a_full_disk_stops_the_capture_not_the_forwarding(tmp_path: Path) -> None:
    plugin = EchoPlugin()
    folder = tmp_path / "PluginServers"
    entry = publish_entry(folder, plugin.port)
    original = entry.read_text()
    capture = tmp_path / "full.utpcap"
    proc = start_recorder(folder, capture, preexec=limit_file_size)
    rng = random.Random(9)
    answered = 0
    try:
        wait_for(lambda: entry_port(entry) not in (None, plugin.port))
        port = entry_port(entry)
        assert port is not None
        with socket.create_connection(("127.0.0.1", port)) as ou, ou.makefile("rb") as replies:
            for i in range(REQUESTS):  # ~1.2 MB of random hex against a 256 KiB file limit
                if i % 10 == 0:
                    time.sleep(0.3)  # let the recorder seal a chunk now and then
                ustx = rng.randbytes(10_000).hex()
                ou.sendall(b'request:%d:updateUstx {"ustx":"%s"}\n' % (i, ustx.encode()))
                assert replies.readline() == b'response:%d {"success": true, "data": {}}\n' % i
                answered += 1
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        plugin.close()
    assert answered == REQUESTS  # forwarding never stopped
    warnings = [line for line in err.decode().splitlines() if "capture write failed" in line]
    assert len(warnings) == 1, err.decode()
    assert entry.read_text() == original
    assert capture.stat().st_size <= LIMIT_BYTES
    with CaptureReader.open(capture) as reader:
        assert reader.footer is None  # it could not be written: the file ends at the failure
        kept = [r.raw for r in reader.records() if isinstance(r, MessageRecord)
                and r.raw.startswith(b"request:")]
    assert kept, "the chunks written before the disk filled up are readable"
    assert [int(raw.split(b":")[1]) for raw in kept] == list(range(len(kept)))
