"""Keep freed heap memory in the process, so large per-step arrays do not page-fault on every step.

A vector env with many sessions allocates several MB of fresh arrays per step (observations,
utilities). With glibc's defaults, freed memory at the top of the heap goes back to the system and
the next step's arrays page-fault on first touch: at N = 1,024 that doubled the step time here.
``keep_freed_heap`` asks glibc (``mallopt(M_TOP_PAD)``) to keep a pad of freed memory instead.
It is process-wide, changes no result, and is skipped off glibc; ``FreshRecVectorEnv(tune_malloc=False)``
opts out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TOP_PAD = -2  # glibc's mallopt parameter number
_done = False


def keep_freed_heap(pad_bytes: int = 256 << 20) -> bool:
    """Ask glibc to keep ``pad_bytes`` of freed heap; True when it took effect (once per process)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        _done = bool(libc.mallopt(M_TOP_PAD, ctypes.c_int(pad_bytes)))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return _done
