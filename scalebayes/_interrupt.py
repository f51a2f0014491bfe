"""Ctrl-C that a callback swallowed, remembered and raised again where work can stop.

Python raises ``KeyboardInterrupt`` wherever the main thread is when SIGINT arrives; inside a
callback that ignores exceptions (JAX's garbage-collection hook is one) it is printed as
"Exception ignored" and lost, so a long command would run on and exit 0. Within
[`watch_interrupts`][scalebayes._interrupt.watch_interrupts] the signal is also recorded, and
[`raise_if_interrupted`][scalebayes._interrupt.raise_if_interrupted], called between units of
work (a study's batches, a training's steps), raises it again. Outside such a block the check
does nothing, so library callers see Python's own behaviour.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

_received = threading.Event()


@contextlib.contextmanager
def watch_interrupts() -> Iterator[None]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` as usual and is remembered; one
    that a callback swallows is not printed as "Exception ignored" (it is raised again by
    `raise_if_interrupted`)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return

    def handler(signum, frame) -> None:
        _received.set()
        raise KeyboardInterrupt

    def unraisable(info) -> None:  # a callback swallowed it: recorded, so no traceback
        if isinstance(info.exc_value, KeyboardInterrupt) and _received.is_set():
            return
        previous_hook(info)

    previous = signal.signal(signal.SIGINT, handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    _received.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        _received.clear()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if SIGINT arrived within `watch_interrupts` (and was
    swallowed on the way, since otherwise it would have been raised already)."""
    if _received.is_set():
        raise KeyboardInterrupt
