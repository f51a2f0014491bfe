"""A one-line notice on a terminal before work that takes seconds and shows no progress."""

from __future__ import annotations

import sys


def say_before_sampling(what: str) -> None:
    """Print ``what`` to stderr when it is a terminal (a pipe or a log file gets nothing):
    NUTS runs as one compiled call, so there is no progress to show while it samples."""
    if sys.stderr.isatty():
        print(f"{what} ...", file=sys.stderr, flush=True)
