"""The command line's one error path: every user error is one line on stderr, exit status 2.

Each case runs ``main([...])`` in process (one runs the real entry point in a subprocess) and
checks the exit status, that stderr is exactly one line naming the problem, and that no
traceback leaks. Nothing here runs MCMC or trains a PFN: the checks fire before that work,
or the expensive function is replaced by a fake.
"""

import csv
import errno
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scalebayes.cli import _main as cli
from scalebayes.cli import main
from scalebayes.data import CurveDataError
from scalebayes.studies import METHODS, Method

BETA, C = (2.0, 3.0), -0.3  # curve i: y = BETA[i] * x^C


def _write_laws(path: Path) -> Path:
    """Two exact power laws ``a``, ``b`` over x in [1e3, 1e6] (7 points each)."""
    x = np.geomspace(1e3, 1e6, 7)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "curve"])
        for name, beta in zip("ab", BETA, strict=True):
            writer.writerows([repr(float(xj)), repr(float(beta * xj**C)), name] for xj in x)
    return path


def _write_runs(path: Path, n: int) -> Path:
    """``n`` training runs of the Chinchilla law, N and D both distinct per run."""
    N = np.geomspace(1e8, 1e10, n)
    D = np.geomspace(2e9, 6e11, n)  # D/N from 20 to 60: a law can tell N from D
    loss = 1.8 + 480.0 / N**0.35 + 2000.0 / D**0.37
    rows = [f"{a:.6g},{b:.6g},{c:.6f}" for a, b, c in zip(N, D, loss, strict=True)]
    path.write_text("N,D,loss\n" + "\n".join(rows) + "\n")
    return path


def _one_error_line(capsys, prog: str) -> str:
    """The only line on stderr, checked to be ``<prog>: error: ...`` without a traceback."""
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"scalebayes {prog}: error: "), err
    return err


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory where files cannot be created (even by root, who ignores mode bits)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)

    def writable(directory) -> bool:
        try:
            with tempfile.TemporaryFile(dir=directory):
                return True
        except OSError:
            return False

    try:
        if not writable(locked):
            yield locked
        elif Path("/sys").is_dir() and not writable("/sys"):  # root on Linux: sysfs refuses
            yield Path("/sys")
        else:
            pytest.skip("no unwritable directory available")
    finally:
        locked.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# 1 and 8: one error path for every subcommand; missing files and directories


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ValueError("--x must be > 0"), "--x must be > 0"),
        (
            CurveDataError("bad.csv: line 3: y = -1 must be > 0"),
            "bad.csv: line 3: y = -1 must be > 0",
        ),
        (
            FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "gone.csv"),
            "cannot access gone.csv: No such file or directory",
        ),
        (
            IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), "adir"),
            "cannot access adir: Is a directory",
        ),
        (
            PermissionError(errno.EACCES, os.strerror(errno.EACCES), "locked.csv"),
            "cannot access locked.csv: Permission denied",
        ),
        (
            OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out.png"),
            "cannot access out.png: No space left on device; free some space and rerun (a study, "
            "ntk-study or train-pfn --resume goes on from what it wrote)",
        ),
        (
            FileExistsError("run already holds a checkpoint; pass --resume"),
            "run already holds a checkpoint; pass --resume",
        ),
        (ValueError("first line\n  second line"), "first line second line"),
    ],
)
def test_main_reports_every_user_error_in_one_line(monkeypatch, capsys, tmp_path, error, message):
    def fail(args):
        raise error

    monkeypatch.setitem(cli._SUBCOMMANDS, "fit", (cli._add_fit, fail))
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1"]) == 2
    assert _one_error_line(capsys, "fit").endswith(f"error: {message}\n")


def test_checkpoint_error_is_one_line(tmp_path, capsys):
    data = _write_laws(tmp_path / "laws.csv")
    nowhere = tmp_path / "no-model"
    assert main(["extrapolate", str(data), "--to", "1e7", "--model", str(nowhere)]) == 2
    assert "no PFN checkpoint at" in _one_error_line(capsys, "extrapolate")
    assert main(["extrapolate", str(data), "--to", "1e7", "--model", " "]) == 2
    err = _one_error_line(capsys, "extrapolate")
    assert "named by an empty string: give a shipped model (['mixture-tiny'" in err


def test_bad_csv_data_in_extrapolate_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,0.5\n2,-0.4\n3,0.3\n")
    assert main(["extrapolate", str(path), "--to", "10", "--model", str(tmp_path)]) == 2
    err = _one_error_line(capsys, "extrapolate")
    assert "bad.csv: line 3" in err and "y = -0.4 must be > 0" in err


@pytest.mark.parametrize("command", ["extrapolate", "suggest", "fit", "study"])
def test_csv_columns_named_on_the_command_line(tmp_path, capsys, command):
    path = tmp_path / "runs.csv"
    path.write_text("budget,dev_loss\n1,0.5\n2,0.4\n3,0.3\n4,0.25\n")
    argv = {
        "extrapolate": ["extrapolate", str(path), "--to", "10", "--model", str(tmp_path)],
        "suggest": ["suggest", str(path), "--candidates", "5", "--target", "9"],
        "fit": ["fit", str(path), "--family", "m1"],
        "study": ["study", "--csv", str(path), "--methods", "m1", "--out", str(tmp_path / "o")],
    }[command]
    if command == "suggest":
        argv += ["--model", str(tmp_path)]
    assert main(argv) == 2
    err = _one_error_line(capsys, command)
    assert "(--x-column NAME --y-column NAME)" in err and "x_column" not in err
    # with the columns named the file is read: a PFN command's next error is the missing model
    rc = main([*argv, "--x-column", "Budget", "--y-column", "dev_loss"])
    if command in ("fit", "study"):
        assert rc == 0
        assert "runs" in capsys.readouterr().out
    else:
        assert rc == 2
        assert "no checkpoint at" in _one_error_line(capsys, command)


@pytest.mark.parametrize("command", ["extrapolate", "suggest"])
def test_repeated_x_names_the_command_line_option(tmp_path, capsys, command):
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n1,0.5\n2,0.4\n2,0.41\n3,0.3\n")
    argv = [command, str(path)]
    argv += ["--to", "10"] if command == "extrapolate" else ["--candidates", "5", "--target", "9"]
    assert main([*argv, "--model", str(tmp_path)]) == 2
    err = _one_error_line(capsys, command)
    assert "x = 2 appears on lines 3, 4" in err and "their y with --dedupe mean" in err
    # with --dedupe mean the file is read: the next error is the missing model
    assert main([*argv, "--model", str(tmp_path), "--dedupe", "mean"]) == 2
    assert "no checkpoint at" in _one_error_line(capsys, command)


@pytest.mark.parametrize("kind", ["missing", "directory"])
@pytest.mark.parametrize(
    "argv",
    [
        ["extrapolate", "{}", "--to", "10"],
        ["fit", "{}", "--family", "m1"],
        ["allocate", "{}", "--compute", "1e21"],
        ["study", "--methods", "m1", "--csv", "{}", "--out", "OUT"],
    ],
    ids=["extrapolate", "fit", "allocate", "study"],
)
def test_unreadable_input_files(tmp_path, capsys, argv, kind):
    path = tmp_path / "adir" if kind == "directory" else tmp_path / "missing.csv"
    if kind == "directory":
        path.mkdir()
    reason = "Is a directory" if kind == "directory" else "No such file or directory"
    argv = [str(path) if a == "{}" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    assert f"cannot read {path}: {reason}" in _one_error_line(capsys, argv[0])
    assert not (tmp_path / "out").exists()


def test_a_dependency_that_cannot_be_imported_is_one_line(tmp_path):
    # e.g. equinox 0.11.10 under jax 0.11.2 (module 'jax.core' has no attribute 'Primitive'):
    # the command line printed a traceback ending in "cannot import name 'PFN'"
    runs = tmp_path / "runs.csv"
    runs.write_text("x,y\n1,3\n10,2\n100,1.5\n")
    code = (
        "import sys; sys.modules['equinox'] = None; from scalebayes.cli import main; "
        f"sys.exit(main(['extrapolate', {str(runs)!r}, '--to', '1000']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith("scalebayes extrapolate: error: scalebayes.pfn.")
    assert "could not be imported" in result.stderr and "equinox" in result.stderr


def test_entry_point_reports_a_missing_file_without_a_traceback(tmp_path):
    missing = tmp_path / "missing.csv"
    result = subprocess.run(
        [sys.executable, "-m", "scalebayes", "extrapolate", str(missing), "--to", "10"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("scalebayes extrapolate: error: argument FILE.csv: ")
    assert f"cannot read {missing}: No such file or directory" in result.stderr


# ---------------------------------------------------------------------------------------------
# 2: --plot is checked before any work, and the extension names the format


def _plot_argv(command: str, tmp_path: Path, plot: str) -> list[str]:
    """Arguments whose work would fail with another message if it ever started."""
    data = _write_laws(tmp_path / "laws.csv")
    if command == "fit":
        return ["fit", str(data), "--family", "m1", "--predict", "1e8", "--plot", plot]
    if command == "extrapolate":  # a missing model: loading it would raise CheckpointError
        model = str(tmp_path / "no-model")
        return ["extrapolate", str(data), "--to", "1e7", "--model", model, "--plot", plot]
    missing = str(tmp_path / "never-read.npz")  # reading it would fail with "cannot read"
    return ["ntk-study", "--npz", missing, "--task", "regression", "--plot", plot]


@pytest.mark.parametrize("command", ["fit", "extrapolate", "ntk-study"])
@pytest.mark.parametrize(
    "kind", ["directory", "parent is a file", "ancestor is a file", "extension", "empty"]
)
def test_plot_path_is_checked_before_any_work(tmp_path, capsys, command, kind):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    plot, message = {
        "empty": ("", "empty; give a file name such as plot.png"),
        "directory": (tmp_path / "adir", "is a directory; give a file name"),
        "parent is a file": (tmp_path / "afile" / "p.png", "afile is a file, so"),
        "ancestor is a file": (tmp_path / "afile" / "no" / "p.png", "afile is a file, so"),
        "extension": (tmp_path / "p.jpg", "name a .png"),
    }[kind]
    assert main(_plot_argv(command, tmp_path, str(plot))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no results were printed: nothing ran
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1
    assert captured.err.startswith(f"scalebayes {command}: error: argument --plot: ")
    assert message in captured.err
    assert not (tmp_path / "p.jpg").exists()


@pytest.mark.parametrize("command", ["fit", "extrapolate", "ntk-study"])
def test_plot_in_an_unwritable_directory(tmp_path, capsys, unwritable_dir, command):
    before = sorted(os.listdir(unwritable_dir))
    assert main(_plot_argv(command, tmp_path, str(unwritable_dir / "p.png"))) == 2
    err = _one_error_line(capsys, command)
    assert f"argument --plot: cannot write in {unwritable_dir}: Permission denied" in err
    assert sorted(os.listdir(unwritable_dir)) == before


def test_ntk_plot_refuses_an_unknown_format_before_the_work(tmp_path, capsys):
    # the --plot check runs at parse time, before the (missing) data file is read
    assert main(_plot_argv("ntk-study", tmp_path, str(tmp_path / "p.jpg"))) == 2
    assert "name a .png, .pdf or .svg file" in _one_error_line(capsys, "ntk-study")


def test_fit_plot_creates_its_missing_directories(tmp_path, capsys):
    # as --out does: `--out OUT --plot OUT/fit.png` must not need OUT made first
    data = _write_laws(tmp_path / "laws.csv")
    plot = tmp_path / "new" / "deeper" / "fit.png"
    assert main(["fit", str(data), "--family", "m1", "--plot", str(plot)]) == 0
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert f"wrote {plot}" in capsys.readouterr().out


MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-", ".svg": b"<?xml"}


@pytest.mark.parametrize("suffix", sorted(MAGIC))
def test_fit_plot_is_written_in_the_format_its_extension_names(tmp_path, capsys, suffix):
    data = _write_laws(tmp_path / "laws.csv")
    plot = tmp_path / f"fit{suffix.upper() if suffix == '.pdf' else suffix}"
    assert main(["fit", str(data), "--family", "m1", "--plot", str(plot)]) == 0
    content = plot.read_bytes()
    assert content.startswith(MAGIC[suffix])
    if suffix == ".svg":
        assert b"<svg" in content[:2000]
    assert f"wrote {plot}" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", sorted(MAGIC))
def test_fan_plot_is_written_in_the_format_its_extension_names(tmp_path, suffix):
    from scalebayes.data import Curve
    from scalebayes.pfn._plot import plot_fan

    class Quantiles:  # a stand-in predictive: fixed quantiles around y = 1 / x
        def __init__(self, x):
            self.x = np.asarray(x)

        def quantile(self, levels):
            return np.stack([(0.5 + q) / self.x for q in levels])

    class FakePFN:
        def predict_many(self, xs, ys, grids, names=None):
            return [Quantiles(g) for g in grids]

    curve = Curve(x=np.arange(1.0, 7.0), y=1 / np.arange(1.0, 7.0), name="c")
    path = plot_fan(FakePFN(), [curve], [20.0], tmp_path / f"fan{suffix}")
    assert path.read_bytes().startswith(MAGIC[suffix])
    with pytest.raises(ValueError, match=r"name a \.png, \.pdf or \.svg file"):
        plot_fan(FakePFN(), [curve], [20.0], tmp_path / "fan.jpg")


# ---------------------------------------------------------------------------------------------
# 3: Ctrl-C


def test_interrupted_study_keeps_its_rows_and_resumes(tmp_path, capsys, monkeypatch):
    calls = []

    def interrupted_on_second_call(curves):
        calls.append([c.name for c in curves])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return [1.5 * c.y_target for c in curves]

    monkeypatch.setitem(METHODS, "fake", Method("fake", interrupted_on_second_call, False))
    data = _write_laws(tmp_path / "laws.csv")
    out = tmp_path / "study"
    argv = ["study", "--methods", "fake", "--csv", str(data), "--out", str(out)]
    argv += ["--batch-size", "1", "--no-progress"]
    assert main(argv) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err == "scalebayes study: interrupted; rerun the same command to resume\n"
    with (out / "per_curve.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["curve"] for r in rows] == calls[0]  # the first batch's row is kept
    assert float(rows[0]["rmsle"]) == pytest.approx(np.log(1.5), rel=1e-9)

    assert main(argv) == 0  # the rerun scores only the curve that was interrupted
    assert calls[2] == calls[1]
    assert "1 curve scores computed, 1 resumed" in capsys.readouterr().out


def test_interrupt_of_another_command(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._SUBCOMMANDS, "fit", (cli._add_fit, interrupted))
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1"]) == 130
    assert capsys.readouterr().err == "scalebayes fit: interrupted\n"


@pytest.mark.parametrize(
    "written",
    [None, "checkpoint", "checkpoint.old"],
    ids=["no-checkpoint-yet", "checkpointed", "cut-between-the-renames"],
)
def test_interrupted_training_says_how_to_go_on(tmp_path, capsys, monkeypatch, written):
    """A review: a Ctrl-C before the first checkpoint said "rerun with --resume", which then
    failed with "no checkpoint"; the hint now follows what the run wrote."""
    out = tmp_path / "run"

    def interrupted(args):
        if written:
            (out / written).mkdir(parents=True)
            (out / written / "meta.json").write_text("{}")
        raise KeyboardInterrupt

    add = cli._SUBCOMMANDS["train-pfn"][0]
    monkeypatch.setitem(cli._SUBCOMMANDS, "train-pfn", (add, interrupted))
    assert main(["train-pfn", "--steps", "2", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    if written:
        assert err == (
            "scalebayes train-pfn: interrupted; rerun with --resume to continue from the last "
            "checkpoint\n"
        )
    else:
        assert "no checkpoint was written yet" in err and "without --resume" in err


def test_a_closed_pipe_is_not_bad_input(tmp_path, capsys, monkeypatch):
    """A review: `scalebayes fit ... | head -1` printed "error: [Errno 32] Broken pipe" and
    exited 2, the bad-input status; it now ends quietly with 141, as SIGPIPE would."""

    def reader_gone(args):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setitem(cli._SUBCOMMANDS, "fit", (cli._add_fit, reader_gone))
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1"]) == 141
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_from_a_real_process(tmp_path):
    """With stdout block-buffered (no PYTHONUNBUFFERED) and more output than a pipe holds, so
    that the broken pipe shows within the command or at its last flush, whichever comes."""
    data = _write_laws(tmp_path / "laws.csv")
    many = ",".join(f"{1e3 * 10.0 ** (k / 1000):.6g}" for k in range(1, 3000))  # 180 kB out
    command = [sys.executable, "-m", "scalebayes", "fit", str(data), "--family", "m1"]
    command += ["--to", many]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 141, err
    assert "Broken pipe" not in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# 4: --out that is a file


@pytest.mark.parametrize(
    "argv",
    [
        ["study", "--methods", "m1", "--datasets", "nano", "--out", "{}"],
        ["train-pfn", "--steps", "2", "--out", "{}"],
        ["demo", "--out", "{}"],
        ["study", "--methods", "m1", "--datasets", "nano", "--out", "{}/sub"],
    ],
    ids=["study", "train-pfn", "demo", "study-below-a-file"],
)
def test_out_that_is_a_file(tmp_path, capsys, argv):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    argv = [a.replace("{}", str(afile)) for a in argv]
    assert main(argv) == 2
    err = _one_error_line(capsys, argv[0])
    assert f"argument --out: {afile} is a file" in err and "give a directory" in err
    assert afile.read_text() == "keep me"


def test_out_that_is_a_broken_link(tmp_path, capsys):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere" / "x")
    assert main(["study", "--methods", "m1", "--datasets", "nano", "--out", str(link)]) == 2
    err = _one_error_line(capsys, "study")
    assert f"{link} is a link to {tmp_path / 'nowhere' / 'x'}, which does not exist" in err


@pytest.mark.parametrize("command", ["study", "train-pfn", "demo"])
def test_an_empty_out_is_refused_not_the_current_directory(capsys, command):
    extra = {"study": ["--methods", "m1", "--datasets", "nano"], "train-pfn": ["--steps", "2"]}
    assert main([command, *extra.get(command, []), "--out", ""]) == 2
    assert "expected a directory name, got an empty string" in _one_error_line(capsys, command)


def test_out_in_an_unwritable_directory(capsys, unwritable_dir):
    out = unwritable_dir / "study"
    assert main(["study", "--methods", "m1", "--datasets", "nano", "--out", str(out)]) == 2
    assert "Permission denied" in _one_error_line(capsys, "study")
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# 5: negative numbers in scientific notation reach the type parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["allocate", "RUNS", "--compute", "-1e21"], "budget = -1e21 must be finite and > 0"),
        (["allocate", "RUNS", "--compute", "-inf"], "budget = -inf must be finite and > 0"),
        (["allocate", "RUNS", "--compute", "1e21", "--prob", "-1e-3"], "probability"),
        (["fit", "LAWS", "--family", "m1", "--predict", "-1E5"], "x = -1E5 must be finite"),
        (["allocate", "RUNS", "--compute", "-.5e3"], "budget = -.5e3 must be finite and > 0"),
    ],
)
def test_negative_numbers_in_scientific_notation(tmp_path, capsys, argv, message):
    paths = {"RUNS": _write_runs(tmp_path / "runs.csv", 8), "LAWS": _write_laws(tmp_path / "l")}
    argv = [str(paths[a]) if a in paths else a for a in argv]
    assert main(argv) == 2
    err = _one_error_line(capsys, argv[0])
    assert message in err and "expected one argument" not in err


def test_negative_values_are_attached_only_to_options():
    attach = cli._negative_values_attached
    assert attach(["--b-std", "-1e-3", "--seed", "-2"]) == ["--b-std=-1e-3", "--seed=-2"]
    assert attach(["--x=1", "-1e3"]) == ["--x=1", "-1e3"]  # the option has its value
    assert attach(["--x", "-abc", "--", "--y", "-1e3"]) == ["--x", "-abc", "--", "--y", "-1e3"]


# ---------------------------------------------------------------------------------------------
# 6: too few runs for the law; warnings in one line


@pytest.mark.filterwarnings("default::UserWarning")
@pytest.mark.parametrize("n_runs", [3, 5, 6])
def test_allocate_warns_when_runs_do_not_determine_the_law(tmp_path, capsys, monkeypatch, n_runs):
    def no_nuts(*args, **kwargs):
        raise ValueError("stopped before NUTS")

    monkeypatch.setattr("scalebayes.compute.fit_joint_law", no_nuts)
    path = _write_runs(tmp_path / "runs.csv", n_runs)
    assert main(["allocate", str(path), "--compute", "1e21"]) == 2
    err = capsys.readouterr().err.splitlines()
    warning = (
        f"warning: {n_runs} runs for a 5-parameter law: the allocation is not determined by "
        "the data; intervals reflect the prior"
    )
    expected = [warning] if n_runs <= 5 else []
    assert err == [*expected, "scalebayes allocate: error: stopped before NUTS"]


@pytest.mark.filterwarnings("always::UserWarning")
def test_allocate_warns_once_about_the_runs_it_fits(tmp_path, capsys, monkeypatch):
    # a review: with --drop-highest, the runs' warnings came twice (all runs, then the kept)
    def no_nuts(*args, **kwargs):
        raise ValueError("stopped before NUTS")

    monkeypatch.setattr("scalebayes.compute.fit_joint_law", no_nuts)
    N = np.geomspace(1e8, 1e10, 7)
    D = N * np.linspace(20, 30, 7)  # D/N 20-30: a narrow span of ratios
    loss = 1.8 + 480.0 / N**0.35 + 2000.0 / D**0.37
    rows = [f"{a:.6g},{b:.6g},{c:.6f}" for a, b, c in zip(N, D, loss, strict=True)]
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "\n".join(rows) + "\n")
    for extra in ([], ["--drop-highest", "1"]):
        assert main(["allocate", str(path), "--compute", "1e21", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("D/N spans only") == 1, err
    assert "D/N spans only 21.7 to 30 " in err  # the kept runs'
    # a C column that is not 6 N D is about the file: said with --drop-highest too (it was lost)
    path.write_text(
        "N,D,C,loss\n"
        + "\n".join(
            f"{a:.6g},{b:.6g},{a * b:.6g},{c:.6f}" for a, b, c in zip(N, D, loss, strict=True)
        )
        + "\n"
    )
    for extra in ([], ["--drop-highest", "1"]):
        assert main(["allocate", str(path), "--compute", "1e21", *extra]) == 2
        assert capsys.readouterr().err.count("C is not 6 N D on 7 of 7 runs") == 1


def test_allocate_reads_the_files_own_column_names(tmp_path, capsys, monkeypatch):
    seen = {}

    def no_nuts(key, runs, **kwargs):
        seen["runs"] = runs
        raise ValueError("stopped before NUTS")

    monkeypatch.setattr("scalebayes.compute.fit_joint_law", no_nuts)
    path = _write_runs(tmp_path / "runs.csv", 8)
    text = path.read_text().splitlines()
    path.write_text("\n".join(["width,tokens,val_loss", *text[1:]]) + "\n")
    argv = ["allocate", str(path), "--compute", "1e21"]
    assert main(argv) == 2  # tokens and val_loss are usual names of D and loss; width is not N
    assert "missing column(s) N; the header has 'width'" in capsys.readouterr().err
    path.write_text("\n".join(["params,tokens,val_loss", *text[1:]]) + "\n")
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == "scalebayes allocate: error: stopped before NUTS"
    names = ["--n-column", "params", "--d-column", "tokens", "--loss-column", "val_loss"]
    assert main([*argv, *names]) == 2
    assert capsys.readouterr().err.strip() == "scalebayes allocate: error: stopped before NUTS"
    assert len(seen["runs"]) == 8
    assert main([*argv, "--n-column", "size", *names[2:]]) == 2
    err = capsys.readouterr().err
    assert "no column 'size' (given as the N column)" in err and len(err.splitlines()) == 1


@pytest.mark.filterwarnings("default::UserWarning")
def test_warnings_are_one_line_during_a_run_only(tmp_path, capsys, monkeypatch):
    from scalebayes.compute import ConvergenceWarning

    def warn(args):
        warnings.warn("r-hat of sigma is 1.3;\n  run more warm-up", ConvergenceWarning, 2)
        return 0

    shown = warnings.showwarning
    monkeypatch.setitem(cli._SUBCOMMANDS, "fit", (cli._add_fit, warn))
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1"]) == 0
    assert capsys.readouterr().err == "warning: r-hat of sigma is 1.3; run more warm-up\n"
    assert warnings.showwarning is shown  # restored after the run, never set at import


# ---------------------------------------------------------------------------------------------
# 7: fit predicts all curves in one batched call


def test_fit_predicts_with_one_batched_call(tmp_path, capsys, monkeypatch):
    import scalebayes.inference as inference

    calls = []
    batched = inference.predict_fits

    def counted(fits, xs):
        calls.append((len(fits), [list(x) for x in xs]))
        return batched(fits, xs)

    monkeypatch.setattr(inference, "predict_fits", counted)
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1", "--predict", "1e8,1e9"]) == 0
    assert calls == [(2, [[1e8, 1e9], [1e8, 1e9]])]
    out = capsys.readouterr().out.splitlines()
    rows = out[out.index("predictions (m1):") + 3 :]
    for row in rows:
        name, x, y = row.split()
        assert float(y) == pytest.approx(BETA["ab".index(name)] * float(x) ** C, rel=2e-3)
    assert len(rows) == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--methods", "m4", "--datasets", "nano", "--calibrate-on", "dd"],
            "needs a probabilistic",
        ),
        (["--methods", "pfn", "--datasets", "nano,DD", "--calibrate-on", "dd"], "curves (dd)"),
        (
            ["--methods", "pfn", "--datasets", "nano", "--calibrate-on", "nlp+nano"],
            "curves (nlp+nano and nano)",
        ),
        (
            ["--methods", "pfn", "--datasets", "ic,nmt", "--calibrate-on", "nlp"],
            "curves (nlp and nmt)",
        ),
        (
            ["--methods", "pfn", "--datasets", "nano", "--calibrate-on", "zz"],
            "unknown benchmark 'zz'",
        ),
        (
            ["--methods", "bogus", "--datasets", "nano", "--calibrate-on", "dd"],
            "unknown method(s) 'bogus'",
        ),
        (  # a review: the error listed the twin pfn+cal among the valid methods
            ["--methods", "pfn,bogus", "--datasets", "nano", "--calibrate-on", "dd"],
            "unknown method(s) 'bogus'",
        ),
    ],
)
def test_calibrate_on_errors_before_any_work(tmp_path, capsys, monkeypatch, argv, message):
    from scalebayes.studies import METHODS

    before = set(METHODS)
    assert main(["study", *argv, "--out", str(tmp_path / "out")]) == 2
    error = _one_error_line(capsys, "study")
    assert message in error
    assert "+cal" not in error and set(METHODS) == before  # no twin listed or left behind
    assert not (tmp_path / "out" / "per_curve.csv").exists()


def test_calibrate_weight_needs_calibrate_on_and_offers_the_library_weights(tmp_path, capsys):
    import scalebayes.cli._main as cli_main
    from scalebayes.studies import CALIBRATION_WEIGHTS

    argv = ["study", "--methods", "pfn", "--datasets", "nano", "--calibrate-weight", "target"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--calibrate-weight says how --calibrate-on weighs its targets" in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
    sub = next(a for a in cli_main.build_parser()._actions if a.dest == "command")
    study = sub.choices["study"]
    choices = next(a.choices for a in study._actions if a.dest == "calibrate_weight")
    assert tuple(choices) == tuple(CALIBRATION_WEIGHTS)


def test_calibrate_on_adds_a_recalibrated_twin(tmp_path, capsys, monkeypatch):
    from scalebayes.evaluate import GaussianPredictive

    seen = {}

    def fake_run_study(methods, datasets, out_dir, **kwargs):
        seen["methods"] = methods
        return SimpleNamespace(
            summary="", n_computed=0, n_resumed=0, per_curve_path="p", summary_path="s"
        )

    monkeypatch.setitem(
        METHODS,
        "gauss",
        Method("gauss", lambda cs: [GaussianPredictive(c.y_target, 0.1) for c in cs], True),
    )
    monkeypatch.setattr("scalebayes.studies.run_study", fake_run_study)
    argv = ["study", "--methods", "m4,gauss,gauss+pfn", "--datasets", "nano"]
    try:
        assert main([*argv, "--calibrate-on", "dd", "--out", str(tmp_path / "out")]) == 0
        assert seen["methods"] == ["m4", "gauss", "gauss+pfn", "gauss+cal", "gauss+pfn+cal"]
        assert METHODS["gauss+cal"].probabilistic and METHODS["gauss+pfn+cal"].probabilistic
        near = {c.name for c in METHODS["gauss+cal"].fn.reference}
        assert main([*argv, "--calibrate-on", "dd", "--split", "far10", "--out", "o2"]) == 0
        far = METHODS["gauss+cal"].fn.reference  # fitted on the split the study scores
        assert all(c.x_target.min() >= 10**0.5 * c.x_context.max() * (1 - 1e-9) for c in far)
        assert {c.name for c in far} <= near
        assert METHODS["gauss+cal"].fn.weight == "curve"  # the default
        argv3 = [*argv, "--calibrate-on", "dd", "--calibrate-weight", "target", "--out", "o3"]
        assert main(argv3) == 0
        assert METHODS["gauss+cal"].fn.weight == "target"
    finally:
        for name in ("gauss+cal", "gauss+pfn+cal"):
            METHODS.pop(name, None)


@pytest.mark.parametrize(
    ("setting", "prior", "message"),
    [
        ("break_prob", "mixture", "expected FIELD=VALUE with VALUE in JSON"),
        ("break_prob=0,2", "mixture", "expected FIELD=VALUE with VALUE in JSON"),
        ("brake_prob=0.2", "mixture", "--scalefree-set: the scale-free prior has no field brake"),
        ("break_prob=2", "mixture", "break_prob must lie in [0, 1]"),
        ("break_prob=NaN", "mixture", "break_prob must be a finite number, got nan"),
        # a review: "--prior_overrides" (no such option) and "--scalefree-set (--scalefree-set)"
        (
            "break_prob=0.2",
            "nslpfn",
            "--scalefree-set: only a 'scalefree' or 'mixture' run draws the scale-free curves "
            "these settings change; this run's prior is 'nslpfn': set --prior to 'mixture' (or "
            "'scalefree'), or set the NSL-PFN prior's fields with TrainConfig.prior_overrides "
            "(in Python)",
        ),
    ],
)
def test_a_bad_scalefree_setting_is_one_line_before_any_work(
    tmp_path, capsys, setting, prior, message
):
    out = tmp_path / "run"
    argv = ["train-pfn", "--steps", "2", "--out", str(out), "--prior", prior]
    assert main([*argv, "--scalefree-set", setting]) == 2
    assert message in _one_error_line(capsys, "train-pfn")
    assert not out.exists()


def test_review_fixes_on_the_command_line(tmp_path, capsys):
    """--to repeats add x; extrapolate answers one --curve; a list starting with '-' reaches the
    option's own check; fit warns 1000x beyond the runs; a flat curve is warned about."""
    data = _write_laws(tmp_path / "laws.csv")  # curves a, b over x in [1e3, 1e6]
    assert main(["extrapolate", str(data), "--to", "2e6", "--to", "3e6", "--curve", "a"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [["a", "2e+06"], ["a", "3e+06"]]
    assert main(["extrapolate", str(data), "--to", "2e6", "--curve", "c"]) == 2
    assert "no curve 'c'; the file has 'a', 'b'" in _one_error_line(capsys, "extrapolate")
    assert main(["extrapolate", str(data), "--to", "-1e6,2e6"]) == 2
    assert "x = -1e6 must be finite and > 0" in _one_error_line(capsys, "extrapolate")
    flat = tmp_path / "flat.csv"
    flat.write_text("x,y\n1e6,2.5\n4e6,2.5\n1.6e7,2.5\n6.4e7,2.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user's shell: printed, one line each
        assert main(["fit", str(data), "--family", "m1", "--to", "5e8,2e10", "--curve", "a"]) == 0
        err = capsys.readouterr().err
        assert main(["extrapolate", str(flat), "--to", "1e8"]) == 0
        flat_err = capsys.readouterr().err
    # 500x is not named, 20,000x is
    assert "warning: curve 'a': x = 2e+10 lies more than 1000x beyond its largest fitted" in err
    assert "warning: curve 'flat': y does not change across its 4 runs, a flat curve" in flat_err


def test_fit_notes_backward_and_narrow_extrapolation(tmp_path, capsys):
    """A review: `fit` answered 4 decades below the runs, and 10x beyond runs 0.2% apart (at
    370x below every run), without a word."""
    data = _write_laws(tmp_path / "laws.csv")  # curves a, b over x in [1e3, 1e6]
    close = tmp_path / "close.csv"
    close.write_text("x,y\n1e18,3.9\n1.001e18,3.89\n1.002e18,3.88\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["fit", str(data), "--family", "m1", "--to", "10,2e6", "--curve", "a"]) == 0
        err = capsys.readouterr().err
        assert main(["fit", str(close), "--family", "m1", "--to", "1e19"]) == 0
        close_err = capsys.readouterr().err
        assert main(["fit", str(data), "--family", "m1", "--to", "5e8", "--curve", "a"]) == 0
        quiet_err = capsys.readouterr().err  # 2.7 spreads beyond 3 decades of runs
    assert "warning: curve 'a': x = 10 lies below its smallest fitted run (1000)" in err
    assert "2e+06" not in err  # within one spread beyond the runs
    assert "x = 1e+19 lies more than 10 times as far beyond its largest run" in close_err
    assert "add runs further apart" in close_err
    assert "further apart" not in quiet_err and "below" not in quiet_err


def test_subnormal_values_and_one_column_for_both_axes_are_one_line(tmp_path, capsys):
    """A review: x of 1e-320 gave "error: ratio = inf must be finite and > 0" (an internal
    value), and --x-column x --y-column x named the Python arguments."""
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("x,y\n1e-320,3.9\n4e-320,3.5\n1.6e-319,3.2\n")
    assert main(["extrapolate", str(tiny), "--to", "1e22"]) == 2
    err = _one_error_line(capsys, "extrapolate")
    assert "line 2 (data row 1): x = 1e-320 is below 1e-300" in err and "rescale" in err
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m1", "--x-column", "x", "--y-column", "X "]) == 2
    assert "--x-column and --y-column both name 'x'" in _one_error_line(capsys, "fit")


def test_the_same_warning_is_printed_once(tmp_path, capsys):
    """A review: near and far answers of one curve printed the same y-span warning twice."""
    drop = tmp_path / "drop.csv"
    drop.write_text("x,y\n1e18,3.9\n4e18,3.55\n1.6e19,0.3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["extrapolate", str(drop), "--to", "2e19,1e20,1e21"]) == 0
    err = capsys.readouterr().err
    assert err.count("y spans more than 10x") == 1, err


def test_implausible_answers_are_noted(tmp_path, capsys):
    """A review: a last run 100x below the others got a 5% quantile of exactly 0 and, 1.56x
    beyond it, a median 60x its loss, with no note."""
    drop = tmp_path / "drop.csv"
    drop.write_text("x,y\n1e18,3.9\n4e18,3.55\n1.6e19,3.27\n6.4e19,0.03\n")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the y-span warning, as a user's shell prints it
        assert main(["extrapolate", str(drop), "--to", "1e20,1e22"]) == 0
    captured = capsys.readouterr()
    table = {line.split()[1]: line.split()[2:7] for line in captured.out.splitlines()[1:]}
    assert table["1e+22"][0] == "0"  # the far model's mass at or below 0, as printed
    assert "note: curve 'drop': the 5% quantile at x = 1e+22 is 0" in captured.err
    median = float(table["1e+20"][2])
    assert median > 1.5 * 0.03
    assert f"the median at x = 1e+20 ({median:.4g}) is " in captured.err
    assert "the loss of the largest run (0.03) although the runs fall" in captured.err
    data = _write_laws(tmp_path / "laws.csv")  # exact power laws: nothing to note
    assert main(["extrapolate", str(data), "--to", "2e6,1e8"]) == 0
    assert "note:" not in capsys.readouterr().err.replace("note: x beyond", "")


def test_a_flat_context_is_warned_about_in_python():
    from scalebayes.pfn import FlatCurveWarning, extrapolate

    x = np.array([6.0, 12.0, 24.0])
    with pytest.warns(FlatCurveWarning, match=r"changes by only 0\.01% across its 3 runs"):
        extrapolate(x, np.array([1.0, 1.0, 0.9999]), [100.0])
    extrapolate(x, np.array([1.0, 0.98, 0.96]), [100.0])  # falling 4%: no warning (an error)
    extrapolate(x, np.array([1.0, 1.0, 1.0]), [100.0], model="mixture-tiny")  # named: asked


def test_a_full_disk_names_the_file_and_the_way_on(tmp_path, monkeypatch):
    """A review: a write that ran out of space printed "[Errno 28] No space left on device"
    without the file or what to do."""
    import errno

    from scalebayes._io import atomic_write_text
    from scalebayes.cli._main import _error_message

    def full(fd):  # a file system that reports a full disk when the data reach it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "summary.md"
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "x" * 100_000)
    monkeypatch.undo()
    assert caught.value.filename == str(target) and not list(tmp_path.iterdir())
    message = _error_message(caught.value)
    assert message.startswith(f"cannot access {target}: No space left on device; free some")


@pytest.mark.parametrize("typo", ["1_6", "\uff11\uff16"])  # 16 with an underscore, full-width
@pytest.mark.parametrize(
    ("prog", "argv"),
    [
        ("suggest", ["--candidates", "2e6", "--target", "1e7", "--fantasies", "{}"]),
        ("allocate", ["--compute", "1e21", "--samples", "{}"]),
        ("study", ["--methods", "m1", "--datasets", "dd", "--out", "o", "--batch-size", "{}"]),
        ("extrapolate", ["--to", "2e6", "--seed", "{}"]),
        ("ntk-study", ["--dataset", "digits", "--sizes", "{}:64"]),
    ],
)
def test_integer_options_refuse_typos_as_number_options_do(tmp_path, capsys, typo, prog, argv):
    """A review: `int` read 1_6 as 16 and full-width digits as digits, so `--fantasies 1_6`
    ran 16 fantasies, where a number option (plain_float) refused such typos."""
    data = str(_write_laws(tmp_path / "laws.csv"))
    files = [] if prog in ("study", "ntk-study") else [data]
    assert main([prog, *files, *(a.format(typo) for a in argv)]) == 2
    assert typo in _one_error_line(capsys, prog)


def test_result_tables_tell_close_x_apart(tmp_path, capsys):
    """A review: x printed to 6 digits, so a question at 1.0000001e10 read as the run at 1e10
    (which the PFN refuses to answer at)."""
    from scalebayes.cli._argtypes import x_text

    shown = [x_text(v) for v in (1e10, 2.5e-3, 1.0000001e10, 1 / 3)]
    assert shown == ["1e+10", "0.0025", "1.0000001e+10", "0.3333333333333333"]
    data = _write_laws(tmp_path / "laws.csv")
    assert main(["fit", str(data), "--family", "m2", "--curve", "a", "--to", "1.0000003e6"]) == 0
    assert "1000000.3" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("prog", "argv", "shown"),
    [
        ("extrapolate", ["--to", "2e6", "--method", "pfn", "--method", "mcmc-m3"], "pfn and"),
        ("extrapolate", ["--to", "2e6", "--method", "mcmc-m3", "--method", "pfn"], "mcmc-m3 and"),
        ("extrapolate", ["--to", "2e6", "--model", "a", "--model", "b"], "a and b"),
        ("fit", ["--family", "m1", "--family", "m3"], "m1 and m3"),
        ("suggest", ["--candidates", "2e6", "--target", "1e7", "--method", "pfn", "--method",
                     "mcmc-m4"], "pfn and mcmc-m4"),
    ],
)  # fmt: skip
def test_a_single_valued_option_given_twice_is_refused(tmp_path, capsys, prog, argv, shown):
    """A review: `--method pfn --method mcmc-m3` ran NUTS without a word (the last value
    won), also when the first value was the option's default."""
    data = str(_write_laws(tmp_path / "laws.csv"))
    assert main([prog, data, *argv]) == 2
    assert f"given twice ({shown}" in _one_error_line(capsys, prog)


@pytest.mark.parametrize("option", ["--x-column", "--y-column"])
def test_an_empty_column_name_is_said_in_the_options_words(tmp_path, capsys, option):
    """A review: `--x-column ""` was refused as "x_column must be a column's header" (the
    Python argument's name, not the option's)."""
    data = str(_write_laws(tmp_path / "laws.csv"))
    assert main(["fit", data, "--family", "m2", option, " "]) == 2
    err = _one_error_line(capsys, "fit")
    assert f"argument {option}: expected a column's name from the CSV header, got ' '" in err


def test_an_interrupted_ntk_study_says_how_to_resume(tmp_path):
    """A new user's audit: `ntk-study --out DIR` resumes when rerun, but its interrupt said
    only "interrupted" (a study's says how to resume)."""
    from argparse import Namespace

    from scalebayes.cli._main import _resume_hint

    assert _resume_hint(Namespace(command="ntk-study", out=tmp_path)) == (
        "; rerun the same command to resume"
    )
    assert _resume_hint(Namespace(command="ntk-study", out=None)) == ""  # nothing kept


_PYTHON_WORDS = {  # the file, what the error says, the Python word it no longer says
    "dedupe": ("x,y\n1e17,3\n1e17,2.9\n1e18,2.5\n", "their y with --dedupe mean", "dedupe="),
    "x-column": ("Budget,Loss\n1e17,3\n1e18,2.5\n", "to use (--x-column NAME)", "x_column"),
    "y-column": ("x,y,loss\n1e17,3,3\n1e18,2.5,2.5\n", "to read (--y-column NAME)", "y_column"),
    "allocate": ("a,b\n1,2\n", "yours (--n-column, --d-column, --c-column,", "read_runs_csv"),
}


@pytest.mark.parametrize("case", list(_PYTHON_WORDS))
def test_errors_are_in_the_command_lines_words(tmp_path, capsys, case):
    """A new user's audit: errors named Python arguments (dedupe='mean', x_column=NAME,
    read_runs_csv(columns=...)) beside or instead of the flags; warnings had been mended."""
    text, said, not_said = _PYTHON_WORDS[case]
    path = tmp_path / "runs.csv"
    path.write_text(text)
    command = "allocate" if case == "allocate" else "extrapolate"
    argv = [
        command,
        str(path),
        *(["--compute", "1e21"] if case == "allocate" else ["--to", "1e20"]),
    ]
    assert main(argv) == 2
    err = _one_error_line(capsys, command)
    assert said in err and not_said not in err, err


def test_the_far_models_words_and_the_fits_table_in_the_command_lines_terms(tmp_path, capsys):
    """The same audit: the far model's span note kept a Python call; `fit --to X --predict
    X,Y` printed X twice, unsorted; `study --methods M4` was refused where `--family M4` was
    not; repeated suggest candidates were named without their flag."""
    from scalebayes.pfn._predict import _FAR_READS_EVERY_RUN

    assert cli.cli_words(_FAR_READS_EVERY_RUN) == (
        "; the far model (`--model mixture-tiny`) reads every run"
    )
    assert cli.cli_words("candidates (command line: --candidates) must be distinct") == (
        "--candidates must be distinct"
    )
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n1e17,3.9\n3e17,3.62\n1e18,3.35\n3e18,3.15\n1e19,2.97\n")
    assert main(["fit", str(path), "--family", "m2", "--to", "1e21", "--predict", "1e20,1e21"]) == 0
    rows = [line.split()[1] for line in capsys.readouterr().out.splitlines() if "e+2" in line]
    assert rows == ["1e+20", "1e+21"]
    out = tmp_path / "study"
    assert main(["study", "--methods", "M1", "--csv", str(path), "--out", str(out)]) == 0
    assert "| m1 |" in (out / "summary.md").read_text()


def test_nuts_is_not_asked_about_a_run_the_user_has(tmp_path, capsys):
    """A review: `extrapolate --method mcmc-m4 --to X` at one of the runs answered that run's
    loss with q05 = q95 (the misfit path passes through every run)."""
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n1e21,4.2\n4e21,3.9\n1.6e22,3.7\n6.4e22,3.505\n2.56e23,2.895\n")
    argv = ["extrapolate", str(path), "--to", "1e23,6.4e22", "--method", "mcmc-m4-irw"]
    assert main(argv) == 2
    err = _one_error_line(capsys, "extrapolate")
    assert "--to 6.4e+22 is a run of curve 'runs' (its loss there is 3.505)" in err
