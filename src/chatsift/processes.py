"""Child processes that never outlive chatsift."""

from __future__ import annotations

import os
import signal

try:  # loaded in the parent: a child after fork (preexec_fn) must not import anything
    import ctypes

    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except (OSError, AttributeError, ImportError):  # not Linux
    _LIBC = None


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Linux: have the kernel send ``sig`` to this process when ``parent`` dies (a kill -9, a plain kill that
    ends the parent before its cleanup runs, the OOM killer), instead of it living on as an orphan that
    holds memory and ports. Call it in the child (a pool initializer, or ``preexec_fn``)."""
    if _LIBC is None:
        return
    _LIBC.prctl(1, sig)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
