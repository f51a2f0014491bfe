"""Test-session set-up: one persistent JAX compilation cache shared by every test process.

The suite is bound by XLA compilation, and the same programs (Levenberg-Marquardt fits, the
sampler, the PFN) are compiled by both xdist workers, by the notebook kernels and by the CLI
subprocesses. Pointing them all at one on-disk cache (``.pytest_cache/jax-compilation``, set
through the environment so that subprocesses inherit it) compiles each program once per run.
The cache only stores compiled executables keyed by the program, the jax version and the
backend, so a hit returns the same executable a compilation would; a fresh clone starts empty.
Set ``SCALEBAYES_TEST_JAX_CACHE=0`` to compile everything in every process (the command
line's own cache, ``scalebayes.cli._cache``, is then turned off too; with the test cache on,
the command line uses it and never writes to the user's ``~/.cache``).

The ``build_once`` fixture runs an expensive on-disk fixture once per run, shared by the
workers.

Scheduling (``make test`` runs ``-n 2 --dist loadgroup``): a test file goes to one worker as a
whole, so its module fixtures run once and no worker waits for the other's ``build_once``;
files that compile the same expensive program (the NSL-PFN generator's batch, the M4 sampler)
carry one ``xdist_group`` mark and run on one worker one after the other, so the second finds
the program compiled in its own process instead of compiling it at the same time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

_CACHE_DIR = "JAX_COMPILATION_CACHE_DIR"
_MIN_SECONDS = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
_COMPILE_LOG = "SCALEBAYES_TEST_COMPILE_LOG"


def pytest_configure(config) -> None:
    if os.environ.get("SCALEBAYES_TEST_JAX_CACHE", "1") == "0":
        os.environ["SCALEBAYES_CACHE_DIR"] = ""  # nor the command line's cache in ~/.cache
        return
    cache = Path(str(config.rootpath)) / ".pytest_cache" / "jax-compilation"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(_CACHE_DIR, str(cache))
    # Every program, however small: thousands of sub-second compilations (eager operations,
    # small jits) repeat across the workers and subprocesses. Measured from a fresh clone on
    # the 2-core machine: 5 min 47 s - 5 min 59 s caching programs that took 0.2 s or more
    # to compile, 5 min 0 s caching all (4,237 entries, 36 MB).
    os.environ.setdefault(_MIN_SECONDS, "0")
    import jax  # after the environment is set; jax reads it on import and on config access

    jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_DIR])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(os.environ[_MIN_SECONDS]))
    if os.environ.get(_COMPILE_LOG):
        _log_compilations(Path(os.environ[_COMPILE_LOG]))


def _log_compilations(directory: Path) -> None:
    """``SCALEBAYES_TEST_COMPILE_LOG=DIR``: every process writes JAX's compilation log to
    ``DIR/compile.<worker>.<pid>``, one line per traced, lowered or compiled program with the
    test (and phase) that was running; ``python tools/compile_profile.py DIR`` sums it."""
    import logging

    import jax

    directory.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = open(directory / f"compile.{worker}.{os.getpid()}", "a")

    class ToFile(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("Finished "):
                test = os.environ.get("PYTEST_CURRENT_TEST", "(collection)")
                out.write(f"{test}\t{message}\n")
                out.flush()

    jax.config.update("jax_log_compiles", True)
    logger = logging.getLogger("jax")
    logger.addHandler(ToFile(logging.DEBUG))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the log goes to the file, not to pytest's captured output


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadgroup``: one work unit per ``xdist_group`` mark, else per test file."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FileOrGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return nodeid.split("::", 1)[0] if scope == nodeid else f"group:{scope}"

    return FileOrGroupScheduling(config, log)


@pytest.fixture(scope="session")
def build_once(tmp_path_factory):
    """``build_once(name, build) -> Path``: ``build(directory)`` runs once per test run.

    For expensive fixtures whose result lives on disk (a trained checkpoint, a demo's output):
    with xdist the workers share one directory under the run's base temporary directory, and
    a file lock makes the first worker build it while the other waits and reuses it. Tests
    must treat the directory as read-only.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run

    def run(name: str, build) -> Path:
        target = root / f"shared-{name}"
        with open(root / f"shared-{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (target / ".built").exists():
                    shutil.rmtree(target, ignore_errors=True)
                    target.mkdir()
                    build(target)
                    (target / ".built").write_text("")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return target

    return run


class StopHere(Exception):
    """Raised by a function that `stop_at` replaced: the test has seen what it wanted."""


@pytest.fixture
def stop_at(monkeypatch):
    """``stop_at(module, name)`` replaces ``module.name`` with a function that raises
    `StopHere`, so a test can check what a command says before its long work starts."""

    def patch(module, name: str) -> type[StopHere]:
        def stop(*args, **kwargs):
            raise StopHere

        monkeypatch.setattr(module, name, stop)
        return StopHere

    return patch


@pytest.fixture
def written_figures(monkeypatch):
    """``written_figures(module, ...)``: the list that every figure the modules hand to their
    ``write_figure`` is appended to, each still written (a test reads the figure's axes)."""
    figures = []

    def capture(*modules):
        for module in modules:
            real = module.write_figure

            def keep(fig, path, real=real, **kwargs):
                figures.append(fig)
                return real(fig, path, **kwargs)

            monkeypatch.setattr(module, "write_figure", keep)
        return figures

    return capture
