"""Fewer page faults for a process that reads big captures (Linux with glibc only).

Reading a capture allocates and frees buffers of tens of MB per big line (the chunk, its
decompressed records, the line, its text). By default glibc hands freed memory at the top of
the heap back to the kernel at once, so the next line faults every page in again: about a
third of `show`'s CPU time was the kernel zeroing pages. Keeping up to 256 MiB of freed heap
(trim threshold and top pad) removes most of it; the peak RSS does not grow (the memory is
reused, not added), it is only returned at exit.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_KEEP_BYTES = 256 << 20


def keep_freed_heap() -> bool:
    """Ask glibc to keep freed heap for reuse; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TOP_PAD, _KEEP_BYTES))
