"""The command line's persistent JAX compilation cache.

Most of a command's time on a CPU is XLA compiling the same programs every run (a point fit
or an extrapolation: 3-5 s of a 6-8 s command). The command line therefore keeps JAX's
persistent compilation cache on disk, so that the second run of a command loads the compiled
programs instead. Where it lives, and how Python users turn on the same cache, is
``scalebayes._compile_cache`` ([`enable_compilation_cache`][scalebayes.enable_compilation_cache];
a library must not change JAX's global configuration on import, so Python users call it).

A directory that cannot be created or written leaves the cache off; the command runs as
without it. JAX writes its entries in place, so a command killed while writing one can leave
it damaged, and a command reading an entry that another one is still writing reads it cut
short: JAX then warns and compiles the program again, and the command line says so once per
run, naming the directory to delete (``cache_warning``). JAX stores
serialised executables keyed by the program, the JAX version and the backend (nothing is
unpickled); deleting the directory is always safe.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from .._compile_cache import CACHE_ENV, cache_directory, enable_compilation_cache

__all__ = [
    "CACHE_ENV",
    "add_cache",
    "cache_directory",
    "cache_warning",
    "enable_compilation_cache",
    "run_cache",
]

_JAX_CACHE_WARNING = re.compile(
    r"Error (?P<verb>reading|writing) persistent compilation cache entry for '[^']*': "
    r"(?P<reason>.*)",
    re.S,
)


def cache_warning(text: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The command line's one line for one of JAX's cache warnings (``None``: not one).

    An entry that does not decompress or deserialise is "damaged" (delete the directory);
    any other read or write error says JAX's reason (without file names) and how to move or
    turn off the cache: with ``SCALEBAYES_CACHE_DIR``, or with ``JAX_COMPILATION_CACHE_DIR``
    when that chose it. JAX warns once per program; the line returned is the same for every
    program with the same reason, so that the caller can show it once.
    """
    match = _JAX_CACHE_WARNING.match(text)
    if match is None:
        return None
    import jax

    environ = os.environ if environ is None else environ
    where = jax.config.jax_compilation_cache_dir or "(none)"
    reason = " ".join(re.sub(r":? ?'[^']*'", "", match["reason"]).split())
    reading = match["verb"] == "reading"
    if reading and any(word in reason.lower() for word in ("decompress", "deserializ")):
        return (
            f"the compilation cache {where} has a damaged entry (or one another process was "
            "still writing); the program was compiled again (`scalebayes cache --clear` "
            "empties the cache)"
        )
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        fix = "set JAX_COMPILATION_CACHE_DIR to another directory, or unset it"
    else:
        fix = f"set {CACHE_ENV} to another directory, or to nothing to turn the cache off"
    return (
        f"cannot {'read from' if reading else 'write to'} the compilation cache {where} "
        f"({reason}); programs are compiled as without it ({fix})"
    )


# JAX's file cache names its entries "<key>-cache" (and "<key>-atime" with eviction on): only
# such files directly in the directory are counted or removed, so a cache pointed at a
# directory that holds anything else never loses it.
_ENTRY_SUFFIXES = ("-cache", "-atime")


def _entries(directory: Path) -> list[Path]:
    try:
        return sorted(
            p for p in directory.iterdir() if p.is_file() and p.name.endswith(_ENTRY_SUFFIXES)
        )
    except (FileNotFoundError, NotADirectoryError):
        return []


def add_cache(subparsers):
    """``scalebayes cache``: where the compilation cache is and how big; ``--clear``."""
    parser = subparsers.add_parser(
        "cache",
        help="show or clear the compilation cache the commands keep",
        description=(
            "Show where the commands keep the programs they compile and how much it holds "
            f"({CACHE_ENV}=DIR moves it, {CACHE_ENV}= turns it off, and a cache set with "
            "JAX_COMPILATION_CACHE_DIR is used as it is); --clear removes the entries (only "
            "JAX's cache files, nothing else in the directory)."
        ),
    )
    parser.add_argument("--clear", action="store_true", help="remove the cached programs")
    return parser


def _unusable(directory: Path) -> str | None:
    """Why the commands could not use ``directory`` as their cache (None if they could, as
    far as permissions tell without creating it: looking does not create it)."""
    if directory.exists():
        if not directory.is_dir():
            return "is not a directory"
        return None if os.access(directory, os.W_OK | os.X_OK) else "is not writable"
    parent = directory.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created ({parent} is not a writable directory)"
    return None


def run_cache(args) -> int:
    """The body of ``scalebayes cache``."""
    jax_dir = os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip()
    if jax_dir:
        directory, origin = Path(jax_dir), " (chosen by JAX_COMPILATION_CACHE_DIR)"
    else:
        if os.environ.get(CACHE_ENV) is not None and not os.environ[CACHE_ENV].strip():
            print(f"compilation cache: off ({CACHE_ENV} is set but empty)")
            return 0
        directory, origin = cache_directory(os.environ, create=False), ""
        if directory is None:
            print(f"compilation cache: off (no home directory; set {CACHE_ENV}=DIR)")
            return 0
        problem = _unusable(directory)
        if problem is not None:  # the commands run with the cache off (cache_directory)
            print(
                f"compilation cache: off ({directory} {problem}; set {CACHE_ENV} to another "
                "directory)"
            )
            return 0
    entries = _entries(directory)
    size = sum(p.stat().st_size for p in entries)
    if args.clear:
        for entry in entries:
            entry.unlink(missing_ok=True)
        print(f"removed {len(entries)} entries ({size / 2**20:.1f} MiB) from {directory}{origin}")
        return 0
    print(f"compilation cache: {directory}{origin}, {len(entries)} entries, {size / 2**20:.1f} MiB")
    return 0
