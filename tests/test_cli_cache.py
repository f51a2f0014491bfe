"""The command line's persistent compilation cache (``scalebayes.cli._cache``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scalebayes.cli._cache import CACHE_ENV, cache_directory, cache_warning

RUNS = "x,y\n1e18,3.2\n4e18,2.9\n1.6e19,2.65\n6.4e19,2.45\n"


def test_the_environment_chooses_the_directory(tmp_path):
    assert cache_directory({CACHE_ENV: str(tmp_path / "a" / "b")}) == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()  # created
    assert cache_directory({CACHE_ENV: ""}) is None  # set but empty: off
    assert cache_directory({CACHE_ENV: "  "}) is None
    xdg = cache_directory({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert xdg == tmp_path / "xdg" / "scalebayes" / "jax" and xdg.is_dir()
    # SCALEBAYES_CACHE_DIR wins over XDG_CACHE_HOME
    assert cache_directory({CACHE_ENV: str(tmp_path / "c"), "XDG_CACHE_HOME": "x"}) == (
        tmp_path / "c"
    )


def test_the_default_is_under_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_directory({}) == tmp_path / ".cache" / "scalebayes" / "jax"

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert cache_directory({}) is None  # no home, no XDG_CACHE_HOME: no cache, no error


def test_a_directory_that_cannot_be_made_turns_the_cache_off(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert cache_directory({CACHE_ENV: str(a_file)}) is None
    assert cache_directory({CACHE_ENV: str(a_file / "sub")}) is None


def test_a_directory_that_cannot_be_written_turns_the_cache_off(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # pragma: no cover - running as root
        pytest.skip("permissions are not enforced for this user")
    assert cache_directory({CACHE_ENV: str(locked)}) is None
    assert cache_directory({CACHE_ENV: str(locked / "sub")}) is None


def _scalebayes(args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "scalebayes", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
    )


def test_a_second_run_loads_what_the_first_compiled(tmp_path):
    """A command writes compiled programs into the cache; the next run answers the same; a
    cache chosen through JAX is used as it is (next test)."""
    (tmp_path / "runs.csv").write_text(RUNS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    args = ["fit", "runs.csv", "--family", "m1", "--predict", "1e21"]
    first = _scalebayes(args, {**env, CACHE_ENV: str(tmp_path / "cache")}, tmp_path)
    assert first.returncode == 0, first.stderr
    written = set(os.listdir(tmp_path / "cache"))
    assert len(written) >= 2  # the fit's programs, small ones included
    logged = {**env, CACHE_ENV: str(tmp_path / "cache"), "JAX_LOG_COMPILES": "1"}
    second = _scalebayes(args, logged, tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    # every program the second run needed came from the cache (JAX logs each program it
    # compiles or loads as "Finished XLA compilation", and each load as a cache hit)
    programs = second.stderr.count("Finished XLA compilation of")
    hits = second.stderr.count("Persistent compilation cache hit for")
    assert programs >= 2 and hits == programs, second.stderr[-2000:]
    # an entry damaged (a run killed while JAX wrote it): compiled again, said once
    for name in written:
        (tmp_path / "cache" / name).write_bytes(b"cut off")
    third = _scalebayes(args, {**env, CACHE_ENV: str(tmp_path / "cache")}, tmp_path)
    assert third.returncode == 0, third.stderr
    assert third.stdout == first.stdout
    damaged = [line for line in third.stderr.splitlines() if "damaged entry" in line]
    assert damaged == [
        f"warning: the compilation cache {tmp_path / 'cache'} has a damaged entry (or one "
        "another process was still writing); the program was compiled again (`scalebayes "
        "cache --clear` empties the cache)"
    ], third.stderr


def test_a_cache_jax_already_uses_is_left_alone(tmp_path):
    import jax

    from scalebayes.cli._cache import enable_compilation_cache

    current = jax.config.jax_compilation_cache_dir
    if not current:  # SCALEBAYES_TEST_JAX_CACHE=0: enabling would change this process
        pytest.skip("the test run has no JAX compilation cache")
    assert enable_compilation_cache({CACHE_ENV: str(tmp_path / "unused")}) == Path(current)
    assert jax.config.jax_compilation_cache_dir == current
    assert not (tmp_path / "unused").exists()


def test_python_users_turn_on_the_same_cache(tmp_path):
    """``scalebayes.enable_compilation_cache()`` (a notebook, a script): the command line's
    directory, every program kept, and a second process loads what the first compiled."""
    script = (
        "import sys, jax, jax.numpy as jnp, scalebayes\n"
        "print(scalebayes.enable_compilation_cache())\n"
        "print(float(jax.jit(lambda v: jnp.sin(v) * 2.0)(jnp.arange(3.0)).sum()))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env = {**env, CACHE_ENV: str(tmp_path / "cache"), "JAX_LOG_COMPILES": "1"}
    runs = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[0] == str(tmp_path / "cache")
    assert runs[0].stdout == runs[1].stdout
    assert any(p.name.endswith("-cache") for p in (tmp_path / "cache").iterdir())
    compiled = runs[1].stderr.count("Finished XLA compilation of")
    hits = runs[1].stderr.count("Persistent compilation cache hit for")
    assert compiled >= 1 and hits == compiled, runs[1].stderr[-2000:]
    off = subprocess.run(  # and importing it imports neither JAX nor NumPy
        [
            sys.executable,
            "-c",
            "import sys, scalebayes, scalebayes.cli; heavy = {'jax', 'numpy'} & set(sys.modules);"
            " print(scalebayes.enable_compilation_cache(), sorted(heavy))",
        ],
        env={**env, CACHE_ENV: ""},
        capture_output=True,
        text=True,
    )
    assert off.stdout.strip() == "None []", off.stderr


def test_jax_cache_warnings_are_said_once_in_the_command_lines_words(capsys):
    import warnings

    from scalebayes.cli._main import _one_line_warnings

    assert cache_warning("something else") is None
    entry = "persistent compilation cache entry for"
    read = f"Error reading {entry} 'jit_f': error: Error -3 while decompressing data: bad header"
    unreadable = f"Error reading {entry} 'jit_f': NotADirectoryError: [Errno 20] Not a dir: '/a/f'"
    write = f"Error writing {entry} 'jit_g': OSError: [Errno 28] No space left: '/c/jit_g-cache'"
    assert "damaged entry" in cache_warning(read)
    line = cache_warning(unreadable, {})
    assert "cannot read from" in line and "damaged" not in line
    assert "(NotADirectoryError: [Errno 20] Not a dir)" in line and CACHE_ENV in line
    line = cache_warning(write, {})
    assert "cannot write to" in line and "No space left)" in line and "/c/" not in line
    jax_chose = cache_warning(write, {"JAX_COMPILATION_CACHE_DIR": "/c"})
    assert "unset it" in jax_chose and CACHE_ENV not in jax_chose
    other_program = write.replace("jit_g", "jit_h")
    with _one_line_warnings():
        warnings.simplefilter("always")  # the test run turns warnings into errors
        for text in (read, read.replace("jit_f", "jit_h"), write, other_program, "other"):
            warnings.warn(text, UserWarning, stacklevel=1)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    assert lines[0] == f"warning: {cache_warning(read)}"
    assert lines[1] == f"warning: {cache_warning(write)}"
    assert lines[2] == "warning: other"


def test_the_cache_command_shows_and_clears_only_jaxs_entries(tmp_path, monkeypatch, capsys):
    from scalebayes.cli import main

    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    assert main(["cache"]) == 0
    assert capsys.readouterr().out == f"compilation cache: {cache}, 0 entries, 0.0 MiB\n"
    assert not cache.exists()  # looking does not create it
    cache.mkdir()
    (cache / "jit_f-1a2b-cache").write_bytes(b"x" * 2**20)
    (cache / "jit_f-1a2b-atime").write_bytes(b"t")
    (cache / "notes.txt").write_text("not the cache's")
    (cache / "sub-cache").mkdir()  # a directory, whatever its name
    assert main(["cache"]) == 0
    assert capsys.readouterr().out == f"compilation cache: {cache}, 2 entries, 1.0 MiB\n"
    assert main(["cache", "--clear"]) == 0
    assert capsys.readouterr().out == f"removed 2 entries (1.0 MiB) from {cache}\n"
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt", "sub-cache"]
    monkeypatch.setenv(CACHE_ENV, str(cache / "notes.txt"))  # a file: the commands run without
    assert main(["cache"]) == 0
    assert f"off ({cache / 'notes.txt'} is not a directory;" in capsys.readouterr().out
    monkeypatch.setenv(CACHE_ENV, "")
    assert main(["cache"]) == 0
    assert "off (SCALEBAYES_CACHE_DIR is set but empty)" in capsys.readouterr().out
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"compilation cache: {tmp_path / 'jax'} (chosen by JAX_COMPILATION")
