"""The command line's persistent JAX compilation cache.

Most of a command's time on a CPU is XLA compiling the same programs every run (a point fit
or an extrapolation: 3-5 s of a 6-8 s command). The command line therefore keeps JAX's
persistent compilation cache on disk, so that the second run of a command loads the compiled
programs instead. Only the command line does this: a library must not change JAX's global
configuration on import, so Python users who want the same set ``JAX_COMPILATION_CACHE_DIR``
(JAX's own switch) before their first computation.

Where, in order:

1. a cache JAX already uses (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) is left alone;
2. ``SCALEBAYES_CACHE_DIR``: that directory; set but empty turns the cache off;
3. else ``$XDG_CACHE_HOME/scalebayes/jax`` (``~/.cache/scalebayes/jax`` without it).

A directory that cannot be created or written leaves the cache off; the command runs as
without it. JAX writes its entries in place, so a command killed while writing one can leave
it damaged: JAX then warns on every read and compiles the program again, and the command line
says so once per run, naming the directory to delete (``cache_warning``). JAX stores
serialised executables keyed by the program, the JAX version and the backend (nothing is
unpickled); deleting the directory is always safe.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_directory", "cache_warning", "enable_compilation_cache"]

CACHE_ENV = "SCALEBAYES_CACHE_DIR"


def cache_directory(environ: Mapping[str, str]) -> Path | None:
    """The command line's cache directory, created if missing; ``None`` when the environment
    turns the cache off or the directory cannot be created or written."""
    chosen = environ.get(CACHE_ENV)
    if chosen is not None:
        if not chosen.strip():
            return None
        directory = Path(chosen).expanduser()
    else:
        base = environ.get("XDG_CACHE_HOME", "").strip()
        directory = (Path(base) if base else Path.home() / ".cache") / "scalebayes" / "jax"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory if os.access(directory, os.W_OK | os.X_OK) else None


def enable_compilation_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Point JAX's persistent compilation cache at the command line's directory.

    Call before the first JAX computation of the process (JAX decides whether it caches at
    its first compilation). Returns the directory in use, ``None`` when the cache is off.
    """
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    directory = cache_directory(os.environ if environ is None else environ)
    if directory is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    # every program: the small ones add up to a second per command (measured: extrapolate
    # 3.6 s with only programs that took 0.1 s or more to compile cached, 2.5 s with all)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return directory


_READ_ERROR = "Error reading persistent compilation cache entry"
_WRITE_ERROR = "Error writing persistent compilation cache entry"


def cache_warning(text: str) -> str | None:
    """The command line's one line for one of JAX's cache warnings (``None``: not one).

    JAX warns once per program; the line returned is the same for every program of one kind,
    so that the caller can show it once.
    """
    if not text.startswith((_READ_ERROR, _WRITE_ERROR)):
        return None
    import jax

    where = jax.config.jax_compilation_cache_dir or "(none)"
    if text.startswith(_READ_ERROR):
        return (
            f"the compilation cache {where} has a damaged entry; the program was compiled "
            "again (delete that directory to clear it)"
        )
    return (
        f"cannot write to the compilation cache {where}; programs are compiled as without it "
        f"(free space there, or set {CACHE_ENV} to another directory, or to nothing to turn "
        "the cache off)"
    )
