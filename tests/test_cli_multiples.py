"""x asked as multiples of each curve's largest run: ``--to 10x,100x`` (extrapolate, fit),
``--candidates 3x --target 100x`` (suggest), and the fan charts that draw each curve's own x."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import scalebayes.inference as inference_module
from scalebayes.cli import main
from scalebayes.cli._argtypes import Times, resolve_x, x_values
from scalebayes.evaluate import GaussianPredictive, fan_grid, per_curve_x, plot_fans

X = 1e7 * 4.0 ** np.arange(5)


def truth(x):
    return 1.7 + 30.0 * np.asarray(x) ** -0.25


def _sweep(tmp_path, short: int = 3):
    """Curve ``a`` with the runs X, curve ``b`` with the first ``short`` of them: their
    largest runs differ by ``4 ** (5 - short)``."""
    rows = [f"a,{x:.17g},{truth(x):.17g}\n" for x in X]
    rows += [f"b,{x:.17g},{truth(x):.17g}\n" for x in X[:short]]
    path = tmp_path / "sweep.csv"
    path.write_text("curve,x,y\n" + "".join(rows))
    return path


def _rows(out: str) -> list[list[str]]:
    """The answer table's rows (curve, x, five quantiles)."""
    lines = [line.split() for line in out.splitlines() if line and not line.startswith("curve")]
    return [cells for cells in lines if len(cells) == 8]


def test_the_parser_reads_numbers_and_multiples():
    parse = x_values("x values", "1e21 or 10x")
    assert parse("10x, 2.5X,1e21,3\N{MULTIPLICATION SIGN}") == [
        Times(10.0),
        Times(2.5),
        1e21,
        Times(3.0),
    ]
    assert str(Times(10.0)) == "10x" and str(Times(2.5)) == "2.5x"
    for bad, says in [
        ("x", "'x' in 'x' is neither a number nor a multiple"),
        ("1e21,abc", "'abc' in '1e21,abc' is neither"),
        ("0x", "the multiple in 0x must be finite and > 0"),
        ("-2x", "the multiple in -2x must be finite and > 0"),
        ("infx", "the multiple in infx must be finite and > 0"),
        ("nanx", "the multiple in nanx must be finite and > 0"),
        ("1_0x", "neither a number"),  # a typo, not 10 (plain_float)
        ("0", "x = 0 must be finite and > 0"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse(bad)


def test_resolve_x_takes_each_curves_own_multiples_sorted_and_once():
    asked = [Times(10.0), 5e3, Times(2.0), 2e3]
    assert resolve_x(asked, 1e3) == [2e3, 5e3, 1e4]  # 2x of 1e3 is the 2e3 asked: once
    assert resolve_x(asked, 10.0) == [20.0, 100.0, 2e3, 5e3]


def test_extrapolate_asks_each_curve_its_own_multiples(tmp_path, capsys):
    """The question "the next 10x and 100x" of a sweep whose curves end at different x: each
    curve is asked at 10 and 100 times its own largest run, and answers as it does alone
    with those x written out (a review: one set of x for all curves made this impossible)."""
    path = _sweep(tmp_path)
    assert main(["extrapolate", str(path), "--to", "10x,100x"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [(r[0], float(r[1])) for r in rows] == [
        ("a", 10 * X[4]),
        ("a", 100 * X[4]),
        ("b", 10 * X[2]),
        ("b", 100 * X[2]),
    ]
    for name, top in (("a", X[4]), ("b", X[2])):
        to = f"{10 * top:.17g},{100 * top:.17g}"
        assert main(["extrapolate", str(path), "--curve", name, "--to", to]) == 0
        alone = _rows(capsys.readouterr().out)
        assert [r[2:] for r in alone] == [r[2:] for r in rows if r[0] == name]


def test_multiples_and_numbers_mix(tmp_path, capsys):
    path = _sweep(tmp_path)
    assert main(["extrapolate", str(path), "--to", "2x", "--to", f"{8 * X[4]:g}"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [(r[0], float(r[1])) for r in rows] == [
        ("a", 2 * X[4]),
        ("a", 8 * X[4]),
        ("b", 2 * X[2]),
        ("b", 8 * X[4]),
    ]


def test_a_multiple_not_beyond_the_runs_is_named_as_asked(tmp_path, capsys):
    assert main(["extrapolate", str(_sweep(tmp_path)), "--to", "1x"]) == 2
    err = capsys.readouterr().err
    assert f"--to {X[4]:g} (1x the largest run) is not beyond the largest x of curve 'a'" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("value", ["-2x", "-2x,10x", "-2\N{MULTIPLICATION SIGN}"])
def test_a_negative_multiple_reaches_the_type_check(tmp_path, capsys, value):
    """``--to -2x`` reads as a value, not an option, so the message says what is wrong."""
    assert main(["extrapolate", str(_sweep(tmp_path)), "--to", value]) == 2
    err = capsys.readouterr().err
    assert f"the multiple in {value.split(',')[0]} must be finite and > 0" in err
    assert "Traceback" not in err


class _FakePosterior:
    """Stands in for ``sample_posterior``: draws of log y around the true curve, recording
    the x each curve is asked at."""

    n_chains, n_draws = 4, 300

    def __init__(self):
        self.asked = None

    def __call__(self, key, family, xs, ys, noise="ou", **kwargs):
        return self

    def predictive(self, xs):
        self.asked = [np.asarray(x) for x in xs]
        rng = np.random.default_rng(0)
        out = []
        for x in xs:
            loc = np.log(truth(x))[None, :] + 0.02 * rng.standard_normal((200, 1))
            out.append(inference_module.MCMCPredictive(loc=loc, scale=np.full(loc.shape, 0.01)))
        return out


def test_mcmc_asks_each_curve_its_own_multiples_inside_and_beyond(tmp_path, capsys, fake_nuts):
    path = _sweep(tmp_path)
    plot = tmp_path / "fan.png"
    assert (
        main(
            [
                "extrapolate",
                str(path),
                "--method",
                "mcmc-m4",
                "--to",
                "0.5x,10x",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    rows = _rows(capsys.readouterr().out)
    assert [(r[0], float(r[1])) for r in rows] == [
        ("a", 0.5 * X[4]),
        ("a", 10 * X[4]),
        ("b", 0.5 * X[2]),
        ("b", 10 * X[2]),
    ]
    assert plot.is_file()


def test_fit_predicts_each_curve_at_its_own_multiples(tmp_path, capsys):
    path = _sweep(tmp_path, short=4)
    assert main(["fit", str(path), "--family", "m2", "--to", "10x"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("predictions (m2):") :].splitlines()[3:]
    asked = [(cells[0], float(cells[1])) for cells in (line.split() for line in table) if cells]
    assert asked == [("a", 10 * X[4]), ("b", 10 * X[3])]


def test_suggest_reads_multiples_of_the_largest_run(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    runs.write_text("x,y\n" + "".join(f"{x:.17g},{truth(x):.17g}\n" for x in X))
    top = X[-1]
    costs = tmp_path / "cost.csv"
    # the candidates written out: the same ranking as asked by their multiples
    costs.write_text(f"x,cost\n{3 * top:g},1\n{10 * top:g},4\n")
    common = ["--cost", str(costs), "--fantasies", "7"]
    assert main(["suggest", str(runs), "--candidates", "3x,10x", "--target", "100x", *common]) == 0
    by_multiple = capsys.readouterr().out
    absolute = ["--candidates", f"{3 * top:g},{10 * top:g}", "--target", f"{100 * top:g}"]
    assert main(["suggest", str(runs), *absolute, *common]) == 0
    assert capsys.readouterr().out == by_multiple
    assert main(["suggest", str(runs), "--candidates", "3x", "--target", "10x,100x"]) == 2
    assert (
        "expected one positive number, or a multiple of the largest run (e.g. 1e12 or 100x)"
        in capsys.readouterr().err
    )


def test_per_curve_x_reads_one_set_for_all_or_one_per_curve():
    for same in (1e3, [1e3, 1e4], np.array([1e3, 1e4])):
        got = per_curve_x(same, 2)
        assert len(got) == 2 and all(np.array_equal(g, np.atleast_1d(same)) for g in got)
    got = per_curve_x([[1e3], [1e4, 1e5]], 2)
    assert [list(g) for g in got] == [[1e3], [1e4, 1e5]]
    assert [list(g) for g in per_curve_x(np.array([[1.0, 2.0], [3.0, 4.0]]), 2)] == [
        [1.0, 2.0],
        [3.0, 4.0],
    ]
    with pytest.raises(ValueError, match="one sequence per curve \\(3 curves\\); got 2 items"):
        per_curve_x([[1e3], [1e4]], 3)
    with pytest.raises(ValueError, match="some of them numbers and some sequences"):
        per_curve_x([1e3, [1e4]], 2)


def test_plot_fans_marks_each_panels_own_x(tmp_path, written_figures):
    import scalebayes.evaluate._fan as fan_module

    figures = written_figures(fan_module)
    asked = [[10 * X[4]], [10 * X[2], 100 * X[2]]]
    observed = [(X, truth(X)), (X[:3], truth(X[:3]))]
    grids = [fan_grid(x, to) for (x, _), to in zip(observed, asked, strict=True)]
    preds = [GaussianPredictive(truth(g), 0.05 * truth(g)) for g in grids]
    plot_fans(preds, grids, observed, tmp_path / "f.png", names=["a", "b"], x_to=asked)
    (fig,) = figures

    def dotted(ax):
        return sorted(
            float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_linestyle() == ":"
        )

    for ax, to in zip(fig.axes[:2], asked, strict=True):
        assert dotted(ax) == pytest.approx(to)


def test_a_multiple_too_large_for_a_number_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"--to 1e\+300x: 1e\+300 times the largest run"):
        resolve_x([Times(1e300)], 1e10)
    with pytest.raises(ValueError, match="--candidates: x = -3 must be finite and > 0"):
        resolve_x([-3.0], 1e10, "--candidates")
    path = _sweep(tmp_path)
    for command in (["extrapolate", str(path)], ["fit", str(path), "--family", "m2"]):
        assert main([*command, "--to", "1e300x"]) == 2
        err = capsys.readouterr().err
        assert "1e+300 times the largest run" in err and len(err.splitlines()) == 1


def _one_curve(tmp_path, top=1.23456789e21):
    """Four runs whose largest, ``top``, makes 3x and 10x of it inexact in binary."""
    x = top / 4.0 ** np.arange(3, -1, -1)
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n" + "".join(f"{a:.17g},{1.7 + 2000 * a**-0.2:.17g}\n" for a in x))
    return path, top


def test_a_cost_file_takes_multiples_and_a_missing_cost_prints_x_that_match(tmp_path, capsys):
    """A review: with candidates as multiples of an odd largest run, the error printed x to 6
    digits, which copied into the cost file still did not match, and ``3x`` was refused."""
    path, _ = _one_curve(tmp_path)
    ask = ["suggest", str(path), "--candidates", "3x,10x", "--target", "100x", "--fantasies", "7"]
    as_multiples = tmp_path / "m.csv"
    as_multiples.write_text("x,cost\n3x,1\n10x,4\n")
    assert main([*ask, "--cost", str(as_multiples)]) == 0
    by_multiple = capsys.readouterr().out
    partial = tmp_path / "p.csv"
    partial.write_text("x,cost\n1e30,1\n")
    assert main([*ask, "--cost", str(partial)]) == 2
    err = capsys.readouterr().err
    shown = err.split("gives no cost for the candidates ")[1].split(";")[0].split(", ")
    copied = tmp_path / "c.csv"  # the x the error names, written into the file as printed
    copied.write_text(f"x,cost\n{shown[0]},1\n{shown[1]},4\n")
    assert main([*ask, "--cost", str(copied)]) == 0
    assert capsys.readouterr().out == by_multiple
    bad = tmp_path / "b.csv"
    bad.write_text("x,cost\nthree,1\n")
    assert main([*ask, "--cost", str(bad)]) == 2
    assert "x may be a multiple of the largest run, 3x); got 'three'" in capsys.readouterr().err


def test_suggest_errors_name_the_multiples_asked(tmp_path, capsys):
    path, top = _one_curve(tmp_path)
    assert main(["suggest", str(path), "--candidates", "4x", "--target", "2x"]) == 2
    err = capsys.readouterr().err
    assert f"below --target {2 * top:g} (2x the largest run); got {4 * top:g} (4x the" in err
    assert main(["suggest", str(path), "--candidates", "0.5x", "--target", "10x"]) == 2
    assert f"--candidates {0.5 * top:g} (0.5x the largest run) lie inside" in (
        capsys.readouterr().err
    )
    assert main(["suggest", str(path), "--candidates", "2x", "--target", "-100x"]) == 2
    assert "the multiple in -100x must be finite and > 0" in capsys.readouterr().err


@pytest.fixture
def fake_nuts(monkeypatch):
    from types import SimpleNamespace

    fake = _FakePosterior()
    monkeypatch.setattr(inference_module, "sample_posterior", fake)
    monkeypatch.setattr(
        inference_module,
        "check_mixing",
        lambda result, **options: SimpleNamespace(failed=(), reasons={}),
    )
    return fake


@pytest.mark.filterwarnings("default::UserWarning")
def test_a_multiple_raises_no_units_question(tmp_path, capsys, fake_nuts):
    """A multiple of the largest run is in the runs' units: below the runs or far beyond them,
    the warnings do not ask whether the units match (a number asked does)."""
    path = _sweep(tmp_path)
    ask = ["extrapolate", str(path), "--curve", "b", "--method", "mcmc-m4"]
    assert main([*ask, "--to", "1e-3x,1e6x"]) == 0
    err = capsys.readouterr().err
    assert "lies below its smallest run" in err and "0.001x the largest run" in err
    assert "units" not in err
    low, high = 1e-3 * X[2], 1e6 * X[2]
    assert main([*ask, "--to", f"{low:.17g},{high:.17g}"]) == 0
    err = capsys.readouterr().err
    assert "(are --to and the runs in the same units?)" in err and "same units (e.g." in err


def test_pfn_and_mcmc_averaged_ask_each_curve_its_own_multiples(tmp_path, capsys, fake_nuts):
    path = _sweep(tmp_path)
    assert main(["extrapolate", str(path), "--method", "pfn+mcmc-m4", "--to", "2x,10x"]) == 0
    rows = _rows(capsys.readouterr().out)
    expected = [("a", 2 * X[4]), ("a", 10 * X[4]), ("b", 2 * X[2]), ("b", 10 * X[2])]
    assert [(r[0], float(r[1])) for r in rows] == expected
    assert [list(x) for x in fake_nuts.asked] == [[2 * X[4], 10 * X[4]], [2 * X[2], 10 * X[2]]]


def test_the_shipped_fan_marks_each_curves_own_x(tmp_path, written_figures):
    import scalebayes.evaluate._fan as fan_module
    from scalebayes.data import read_curves_csv
    from scalebayes.pfn import plot_fan

    figures = written_figures(fan_module)
    curves = read_curves_csv(_sweep(tmp_path))
    asked = [[10 * X[4], 100 * X[4]], [3 * X[2]]]
    plot_fan(None, curves, asked, tmp_path / "fan.png")
    (fig,) = figures
    for ax, to in zip(fig.axes[:2], asked, strict=True):
        dotted = sorted(
            float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_linestyle() == ":"
        )
        assert dotted == pytest.approx(to)
    with pytest.raises(ValueError, match="x_to gives curve 'b' no x"):
        plot_fan(None, curves, [[10 * X[4]], []], tmp_path / "bare.png")


def test_the_table_says_how_far_beyond_the_largest_run_each_x_lies(tmp_path, capsys):
    """The last column, reach, is each x over its curve's largest run: what a sweep asked
    --to 10x reads back, for x asked either way."""
    from scalebayes.cli._pfn import _times

    path = _sweep(tmp_path)
    assert main(["extrapolate", str(path), "--to", "10x", "--to", f"{8 * X[4]:g}"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[-1] == "reach"
    assert [(r[0], r[-1]) for r in _rows(out)] == [
        ("a", "8x"),
        ("a", "10x"),
        ("b", "10x"),
        ("b", "128x"),
    ]
    cases = [(2000.0, "2000x"), (316.2277, "316x"), (31.6227, "31.6x"), (0.5, "0.5x")]
    cases += [(999.7, "1000x"), (1e-3, "0.001x"), (1.23e7, "1.23e+07x"), (5.04, "5.04x")]
    assert [_times(r) for r, _ in cases] == [text for _, text in cases]
