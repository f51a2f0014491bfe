"""The ``allocate`` subcommand's functions: a tiny file end to end, and every bad input."""

import argparse
import math
import subprocess
import sys

import numpy as np
import pytest

from scalebayes.cli._allocate import add_allocate, run_allocate

TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}


def parser():
    top = argparse.ArgumentParser(prog="scalebayes")
    sub = top.add_subparsers(dest="command", required=True)
    add_allocate(sub)
    return top


def tiny_file(tmp_path, use_c=False):
    """36 runs on a 6 x 6 grid of the Chinchilla law, with 1% multiplicative noise."""
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e8, 1e10, 6), 6)
    d = np.tile(np.geomspace(2e9, 2e11, 6), 6)
    loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
    loss *= np.exp(0.01 * rng.standard_normal(loss.size))
    lines = ["n,C,Loss" if use_c else "N,D,loss"]
    lines += [
        f"{a:.6g},{6 * a * b if use_c else b:.6g},{c:.6f}"
        for a, b, c in zip(n, d, loss, strict=True)
    ]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow  # 15-25 s: NUTS at the command's full default length (4 x 2000 steps)
def test_allocate_prints_the_allocation(tmp_path, capsys):
    path = tiny_file(tmp_path, use_c=True)
    args = parser().parse_args(["allocate", str(path), "--compute", "1e21,5.76e23", "--seed", "1"])
    assert run_allocate(args) == 0
    out = capsys.readouterr().out
    assert "36 runs from runs.csv" in out
    assert "max r-hat" in out
    for header in ("N* params [90%]", "D* tokens [90%]", "L* loss [90%]", "D*/N* [90%]"):
        assert header in out
    row = next(line for line in out.splitlines() if line.startswith("5.76e+23"))
    # the true N* lies inside the printed 90% interval
    a = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])
    g = (TRUTH["alpha"] * TRUTH["A"] / (TRUTH["beta"] * TRUTH["B"])) ** (
        1 / (TRUTH["alpha"] + TRUTH["beta"])
    )
    n_star = g * (5.76e23 / 6) ** a
    lo, hi = (float(v) for v in row.split("[")[1].split("]")[0].split(","))
    assert lo < n_star < hi, (lo, n_star, hi)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--compute", "abc"], "is not a number"),
        (["--compute", "-1"], "must be finite and > 0"),
        (["--compute", "1e21", "--prob", "1.5"], "probability"),
        (["--compute", "1e21", "--chains", "0"], "positive integer"),
        (["--compute", "1e21", "--likelihood", "cauchy"], "invalid choice"),
        (["--compute", "1e21", "--seed", "99999999999999999999999"], "[0, 2**63 - 1]"),
        (["--compute", "1e21", "--seed", "-1"], "[0, 2**63 - 1]"),
        ([], "--compute"),
    ],
)
def test_bad_options_are_argparse_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        parser().parse_args(["allocate", str(tiny_file(tmp_path)), *argv])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, message",
    [
        ("N,D\n1,2\n", r"missing column\(s\) loss"),
        ("N,D,loss\n1e8,2e9,3\n2e8,x,2.9\n", "line 3, column 'D': 'x' is not a number"),
        ("N,D,loss\n1e8,2e9,3\n-2e8,2e9,2.9\n", "line 3: N = -2e\\+08 must be > 0"),
        ("N,D,loss\n1e8,2e9,3\n2e8,2e9,2.9\n", "only 2 distinct N"),
        ("\n\nN,N,loss\n1e8,2e9,3\n", "line 3: column 'N' appears twice"),
        ("N,C,loss\n1e-300,1e300,3\n", r"line 2: D = C / \(6 N\) = inf is not a usable"),
    ],
)
def test_bad_files_raise_one_line_value_errors(tmp_path, text, message):
    path = tmp_path / "runs.csv"
    path.write_text(text)
    args = parser().parse_args(["allocate", str(path), "--compute", "1e21"])
    with pytest.raises(ValueError, match=message) as info:
        run_allocate(args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--samples", "3"], "--samples must be at least 4"),
        (["--compute", "5e-324"], "below 6 FLOPs"),
    ],
)
def test_options_checked_before_the_fit(tmp_path, monkeypatch, extra, message):
    import scalebayes.compute as compute

    def no_fit(*args, **kwargs):
        raise AssertionError("the options should have been refused before the fit")

    monkeypatch.setattr(compute, "fit_joint_law", no_fit)
    argv = ["allocate", str(tiny_file(tmp_path)), "--compute", "1e21", *extra]
    with pytest.raises(ValueError, match=message):
        run_allocate(parser().parse_args(argv))


def test_missing_file_and_bad_drop(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:  # checked when the arguments are parsed
        parser().parse_args(["allocate", str(tmp_path / "nope.csv"), "--compute", "1e21"])
    assert stop.value.code == 2
    assert "cannot read" in capsys.readouterr().err
    path = tiny_file(tmp_path)
    args = parser().parse_args(["allocate", str(path), "--compute", "1e21", "--drop-highest", "36"])
    with pytest.raises(ValueError, match="--drop-highest"):
        run_allocate(args)
    # dropping leaves too few distinct sizes
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:14]) + "\n")  # 13 runs at 3 sizes: readable as they are
    args = parser().parse_args(["allocate", str(path), "--compute", "1e21", "--drop-highest", "11"])
    with pytest.raises(ValueError, match=r"after --drop-highest 11: .*distinct N.*drop fewer"):
        run_allocate(args)


def test_importing_the_cli_module_does_not_load_jax():
    code = (
        "import sys, scalebayes.cli._allocate, scalebayes.compute as c; "
        "assert 'jax' not in sys.modules and 'numpyro' not in sys.modules, 'heavy import'; "
        "c.Runs; assert 'numpy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_resolve():
    import scalebayes.compute as compute

    for name in compute.__all__:
        assert getattr(compute, name) is not None, name
    assert set(compute.__all__) <= set(dir(compute))
    with pytest.raises(AttributeError):
        compute.not_a_name  # noqa: B018
    assert math.isclose(compute.CHINCHILLA_BUDGET, 5.76e23)


def test_a_budget_far_below_the_runs_is_warned_about_before_the_fit(tmp_path, monkeypatch):
    import scalebayes.compute as compute

    class Fitted(Exception):
        pass

    def stop_at_fit(*args, **kwargs):
        raise Fitted

    monkeypatch.setattr(compute, "fit_joint_law", stop_at_fit)
    path = tiny_file(tmp_path)  # the smallest run: 6 x 1e8 x 2e9 = 1.2e18 FLOPs
    with pytest.warns(UserWarning, match=r"--compute 1e\+10 lies more than 10x below .*1\.2e\+18"):
        with pytest.raises(Fitted):
            run_allocate(parser().parse_args(["allocate", str(path), "--compute", "1e10,1e21"]))
    with pytest.raises(Fitted):  # 1e21 alone: no warning (pytest turns one into an error)
        run_allocate(parser().parse_args(["allocate", str(path), "--compute", "1e21"]))
    # a review: a repeated --compute kept its last value, dropping the first; now it adds
    repeated = parser().parse_args(
        ["allocate", str(path), "--compute", "1e10", "--compute", "1e21"]
    )
    assert repeated.compute == [1e10, 1e21]
    with pytest.warns(UserWarning, match=r"--compute 1e\+10 lies more than 10x below"):
        with pytest.raises(Fitted):
            run_allocate(repeated)
    # the largest run: 6 x 1e10 x 2e11 = 1.2e22 FLOPs; 1e26 is 8,300x above it
    with pytest.warns(
        UserWarning, match=r"--compute 1e\+26 lies more than 1000x above .*1\.2e\+22"
    ):
        with pytest.raises(Fitted):
            run_allocate(parser().parse_args(["allocate", str(path), "--compute", "1e21,1e26"]))
    # a review: N and D in millions keep D/N plausible; the far-budget note asks about units
    millions = tmp_path / "millions.csv"
    rows = path.read_text().splitlines()
    millions.write_text("\n".join([rows[0], *(_in_millions(row) for row in rows[1:])]) + "\n")
    with pytest.warns(UserWarning, match=r"N = 1e\+04: if N and D are in millions or billions"):
        with pytest.raises(Fitted):
            run_allocate(parser().parse_args(["allocate", str(millions), "--compute", "1e26"]))


def _in_millions(row: str) -> str:
    n, d, loss = row.split(",")
    return f"{float(n) / 1e6:.6g},{float(d) / 1e6:.6g},{loss}"


def test_allocate_says_it_is_sampling_on_a_terminal(tmp_path, capsys, monkeypatch, stop_at):
    """A review: `allocate` was silent for 27 s on 8 runs, where `extrapolate --method
    mcmc-m4` says it is sampling."""
    import scalebayes.compute

    Sampled = stop_at(scalebayes.compute, "fit_joint_law")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    args = parser().parse_args(["allocate", str(tiny_file(tmp_path)), "--compute", "1e21"])
    with pytest.raises(Sampled):
        run_allocate(args)
    err = capsys.readouterr().err
    assert err.startswith("sampling the 5-parameter law with NUTS on 36 runs (4 chains"), err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    with pytest.raises(Sampled):
        run_allocate(args)
    assert capsys.readouterr().err == ""  # a log file gets no notice


def test_a_repeated_budget_is_one_question(tmp_path, stop_at):
    """A new user's audit: `--compute 1e21 --compute 1e22,1e22` printed the 1e22 row twice."""
    import scalebayes.compute

    Sampled = stop_at(scalebayes.compute, "fit_joint_law")
    argv = ["allocate", str(tiny_file(tmp_path)), "--compute", "1e22", "--compute", "1e21,1e22"]
    args = parser().parse_args(argv)
    with pytest.raises(Sampled):
        run_allocate(args)
    # once each, smallest first (a review: rows in the order asked read as unsorted)
    assert args.compute == [1e21, 1e22]
