"""``scalebayes extrapolate --method mcmc-*`` and the fan charts of any predictive.

The default run replaces NUTS by a fake posterior (a mixture of draws around the true curve),
so it checks the plumbing: which model answers, that a far query does not warn (MCMC has no
reach), that the fan chart is drawn from the same model, and the errors. One slow test runs
NUTS end to end.
"""

import warnings
from types import SimpleNamespace

import jax
import numpy as np
import pytest

import scalebayes.evaluate as evaluate_module
import scalebayes.inference as inference_module
from scalebayes.cli import main
from scalebayes.evaluate import GaussianPredictive, fan_grid, plot_fans
from scalebayes.inference import MCMCPredictive

X = 1e7 * 4.0 ** np.arange(5)


def truth(x):
    return 1.7 + 30.0 * np.asarray(x) ** -0.25


def _runs(tmp_path, y=None):
    path = tmp_path / "runs.csv"
    y = truth(X) if y is None else y
    path.write_text("x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(X, y, strict=True)))
    return path


class _FakePosterior:
    """Stands in for ``sample_posterior``: 200 draws of log y around the true curve."""

    n_chains, n_draws = 4, 300

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, key, family, xs, ys, noise="ou", **kwargs):
        self.calls.append(family if noise == "ou" else f"{family}, {noise}")
        return self

    def predictive(self, xs):
        rng = np.random.default_rng(0)
        out = []
        for x in xs:
            loc = np.log(truth(x))[None, :] + 0.02 * rng.standard_normal((200, 1))
            out.append(MCMCPredictive(loc=loc, scale=np.full(loc.shape, 0.01)))
        return out


@pytest.fixture
def fake_nuts(monkeypatch):
    calls = []
    monkeypatch.setattr(inference_module, "sample_posterior", _FakePosterior(calls))
    monkeypatch.setattr(inference_module, "check_mixing", _fake_check([], failed=()))
    return calls


def _fake_check(calls, failed):
    """Stands in for ``check_mixing``: records its options, fails the curves named."""

    def check(result, **options):
        calls.append(options)
        return SimpleNamespace(failed=failed, reasons={n: "r_hat 1.300 > 1.05" for n in failed})

    return check


def test_mcmc_method_answers_far_queries_without_a_reach_warning(tmp_path, capsys, fake_nuts):
    far = X[-1] * 300
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the PFN's ReachWarning would fail here
        status = main(
            ["extrapolate", str(_runs(tmp_path)), "--to", f"{far:g}", "--method", "mcmc-m4"]
        )
    out = capsys.readouterr()
    assert status == 0 and out.err == "", out.err
    assert fake_nuts == ["m4"]
    row = out.out.splitlines()[1].split()
    median = float(row[4])  # curve, x, q05, q25, q50, ...
    assert median == pytest.approx(truth(far), rel=1e-3)


def test_nuts_says_it_is_running_on_a_terminal(tmp_path, capsys, monkeypatch, fake_nuts):
    """A review: `extrapolate --method mcmc-m4` on 21 curves was silent for 29 s."""
    import sys

    args = ["extrapolate", str(_runs(tmp_path)), "--to", "1e12", "--method", "mcmc-m4"]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(args) == 0
    err = capsys.readouterr().err
    said = "sampling m4 (ou noise) with NUTS on 1 curve: seconds to a minute per curve on a CPU"
    assert err == said + " ...\n", err


@pytest.mark.filterwarnings("default::UserWarning")  # the command line prints it
def test_chains_that_did_not_mix_get_a_one_line_warning(tmp_path, capsys, monkeypatch, fake_nuts):
    """The answer is printed, and each curve whose chains did not mix (``check_mixing``) is
    named in one line with what to do."""
    args = ["extrapolate", str(_runs(tmp_path)), "--to", "1e12", "--method", "mcmc-m4-irw"]
    checks = []
    monkeypatch.setattr(inference_module, "check_mixing", _fake_check(checks, ()))
    assert main(args) == 0
    assert capsys.readouterr().err == ""  # every curve mixed: nothing to say
    assert checks == [{"warn": False}]  # the command line words the warning itself
    monkeypatch.setattr(inference_module, "check_mixing", _fake_check([], ("runs",)))
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2  # the header and the answer
    assert err.splitlines() == [
        "warning: curve 'runs': the NUTS chains did not mix (r_hat 1.300 > 1.05), so its "
        "quantiles may not be the posterior's: rerun with another --seed to see how far they "
        "move, and compare with --method pfn, or average the two: --method pfn+mcmc-m4-irw (the "
        "most accurate answer measured 10x beyond a few runs, docs/results/far.md)"
    ]
    assert main([*args[:-1], "pfn+mcmc-m4-irw"]) == 0  # an average is pointed at the PFN alone
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "did not mix" in line]
    assert warning.endswith("the average's NUTS half may move; --method pfn answers without it")


def test_mcmc_fan_chart_is_drawn_from_the_same_posterior(tmp_path, capsys, monkeypatch, fake_nuts):
    drawn = {}
    real = evaluate_module.plot_fans

    def spy(predictions, grids, observed, path, **kwargs):
        drawn.update(kwargs, medians=[p.median() for p in predictions], grids=grids)
        return real(predictions, grids, observed, path, **kwargs)

    monkeypatch.setattr(evaluate_module, "plot_fans", spy)
    png = tmp_path / "fan.png"
    args = ["extrapolate", str(_runs(tmp_path)), "--to", "1e11", "--method", "mcmc-bnsl"]
    assert main([*args, "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert fake_nuts == ["bnsl"]  # one posterior: the table and the chart
    assert drawn["label"] == "MCMC(BNSL) median"
    np.testing.assert_allclose(drawn["medians"][0], truth(drawn["grids"][0]), rtol=1e-3)
    assert f"wrote {png}" in capsys.readouterr().out


@pytest.mark.filterwarnings("default::UserWarning")  # the command line prints it
def test_mcmc_inside_and_below_the_runs_is_drawn_and_below_is_warned(
    tmp_path, capsys, monkeypatch, fake_nuts
):
    """A review: an x asked inside or below the runs got a chart with no fan (the grid began
    past the last run), and one below the runs no word, where `fit --predict` warns."""
    grids = []
    monkeypatch.setattr(evaluate_module, "plot_fans", lambda *a, **k: grids.extend(a[1]) or a[3])
    runs = str(_runs(tmp_path))
    for asked, warned in ((X[2] * 1.5, False), (X[0] / 10, True)):
        grids.clear()
        argv = ["extrapolate", runs, "--to", f"{asked:g}", "--method", "mcmc-m4"]
        assert main([*argv, "--plot", str(tmp_path / "f.png")]) == 0
        err = capsys.readouterr().err
        assert grids[0][0] == pytest.approx(asked) and grids[0][-1] > X[-1], grids[0]
        said = f"--to {asked:g} lies below its smallest run ({X[0]:g}); the model extrapolates"
        assert (said in err) == warned and err.count("\n") == warned, err
    grids.clear()
    assert (
        main(
            [
                "extrapolate",
                runs,
                "--to",
                "1e11",
                "--method",
                "mcmc-m4",
                "--plot",
                str(tmp_path / "f.png"),
            ]
        )
        == 0
    )
    assert grids[0][0] == pytest.approx(X[-1] * 1.0001)  # beyond the runs: as before


def test_irw_methods_sample_the_growing_misfit_model(tmp_path, capsys, monkeypatch, fake_nuts):
    labels = []
    monkeypatch.setattr(
        evaluate_module, "plot_fans", lambda *a, **k: labels.append(k["label"]) or a[3]
    )
    args = ["extrapolate", str(_runs(tmp_path)), "--to", "1e12", "--method", "mcmc-m4-irw"]
    assert main([*args, "--plot", str(tmp_path / "f.png")]) == 0
    assert fake_nuts == ["m4, ou_irw"] and labels == ["MCMC(M4, ou_irw) median"]


def test_pfn_plus_mcmc_answers_with_the_mixture(tmp_path, capsys, monkeypatch, fake_nuts):
    """``--method pfn+mcmc-*``: the equal-weight mixture of the PFN chosen by distance and
    NUTS's predictive, in the table and in the fan chart."""
    from scalebayes.evaluate import MixturePredictive
    from scalebayes.pfn import PFN

    drawn = {}
    real = evaluate_module.plot_fans

    def spy(predictions, grids, observed, path, **kwargs):
        drawn.update(kwargs, predictions=predictions)
        return real(predictions, grids, observed, path, **kwargs)

    monkeypatch.setattr(evaluate_module, "plot_fans", spy)
    far = X[-1] * 100
    png = tmp_path / "fan.png"
    args = ["extrapolate", str(_runs(tmp_path)), "--to", f"{far:g}", "--plot", str(png)]
    assert main([*args, "--method", "pfn+mcmc-m4-irw"]) == 0
    out = capsys.readouterr()
    assert fake_nuts == ["m4, ou_irw"] and png.read_bytes()[:4] == b"\x89PNG"
    assert "far model" in out.err  # the PFN part is chosen by distance, as for --method pfn
    assert drawn["label"] == "PFN + MCMC(M4, ou_irw) median"
    assert all(isinstance(p, MixturePredictive) for p in drawn["predictions"])
    # where the PFN half changes model, as on --method pfn's chart (a review missed it)
    assert drawn["panel_marks"] == [[(pytest.approx(5 * X[-1]), "PFN's far model beyond (5x)")]]
    # the printed quantiles are the mixture's of the two answers
    x = np.array([far])
    pfn_pred = PFN.load_for(100.0).predict(X, truth(X), x)
    nuts_pred = _FakePosterior([]).predictive([x])[0]
    expected = MixturePredictive([pfn_pred, nuts_pred]).quantile([0.05, 0.25, 0.5, 0.75, 0.95])
    row = [float(v) for v in out.out.splitlines()[1].split()[2:7]]
    np.testing.assert_allclose(row, expected[:, 0], rtol=1e-3)  # printed to 4 digits
    assert main([*args[:4], "--method", "pfn+mcmc-m4", "--model", "mixture-tiny"]) == 0


def test_pfn_plus_mcmc_within_5x_mixes_the_stacked_pfns_with_nuts(tmp_path, capsys, fake_nuts):
    """Within ``FAR_SWITCH`` the PFN half of ``pfn+mcmc-*`` is the stacked answer of both
    shipped PFNs (as ``--method pfn`` answers); with ``--model`` the named model alone."""
    from scalebayes.evaluate import MixturePredictive
    from scalebayes.pfn import (
        DEFAULT_MODEL,
        FAR_MODEL,
        NEAR_SCALE,
        PFN,
        StackedPrediction,
        predict_stacked,
    )

    x = np.array([X[-1] * 2])
    args = ["extrapolate", str(_runs(tmp_path)), "--to", f"{x[0]:.17g}", "--method"]
    nuts_pred = _FakePosterior([]).predictive([x])[0]
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    models = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
    stacked = StackedPrediction(predict_stacked(models, [X], [truth(X)], [x])[0], NEAR_SCALE)
    alone = PFN.load(DEFAULT_MODEL).predict(X, truth(X), x)
    for extra, pfn_pred in (([], stacked), (["--model", DEFAULT_MODEL], alone)):
        assert main([*args, "pfn+mcmc-m4-irw", *extra]) == 0
        out = capsys.readouterr()
        expected = MixturePredictive([pfn_pred, nuts_pred]).quantile(levels)[:, 0]
        row = [float(v) for v in out.out.splitlines()[1].split()[2:7]]
        np.testing.assert_allclose(row, expected, rtol=1e-3)  # printed to 4 digits
    # the two PFN halves differ by more than the printing, so the check above can tell them
    assert not np.allclose(stacked.quantile(levels), alone.quantile(levels), rtol=3e-3)


def test_suggest_with_mcmc_draws_its_fan_from_mcmc(tmp_path, capsys, monkeypatch, fake_nuts):
    labels = []
    monkeypatch.setattr(
        evaluate_module, "plot_fans", lambda *a, **k: labels.append(k["label"]) or a[3]
    )
    args = ["suggest", str(_runs(tmp_path)), "--candidates", "1e10,4e10", "--target", "1e12"]
    assert main([*args, "--method", "mcmc-m4", "--plot", str(tmp_path / "f.png")]) == 0
    assert labels == ["MCMC(M4) median"]
    assert fake_nuts == ["m4", "m4"]  # the advice, then the chart (same family and seed)


@pytest.mark.filterwarnings("default::UserWarning")  # the command line prints it
def test_suggest_says_once_that_its_chains_did_not_mix(tmp_path, capsys, monkeypatch, fake_nuts):
    """The advice's posterior did not mix: one warning line (the chart's, drawn from the same
    posterior, says nothing more), and the ranking is still printed."""
    monkeypatch.setattr(inference_module, "check_mixing", _fake_check([], ("context", "runs")))
    monkeypatch.setattr(evaluate_module, "plot_fans", lambda *a, **k: a[3])
    args = ["suggest", str(_runs(tmp_path)), "--candidates", "1e10,4e10", "--target", "1e12"]
    assert main([*args, "--method", "mcmc-m4", "--plot", str(tmp_path / "f.png")]) == 0
    out, err = capsys.readouterr()
    assert "1e+10" in out or "1e10" in out
    assert err.splitlines() == [
        "warning: NUTS on the runs did not mix (r_hat 1.300 > 1.05), so the ranking rests on "
        "draws that may not be the posterior's: try another --seed and compare with --method "
        "pfn"
    ]


@pytest.mark.parametrize(
    ("extra", "y", "message"),
    [
        (("--method", "mcmc-m4", "--model", "nslpfn-base"), None, "uses none"),
        (("--method", "mcmc-m4"), np.append(truth(X)[:-1], 0.0), "y = 0 must be > 0"),
        (("--method", "gp"), None, "invalid choice"),
    ],
)
def test_mcmc_method_errors_are_one_line(tmp_path, capsys, fake_nuts, extra, y, message):
    assert main(["extrapolate", str(_runs(tmp_path, y)), "--to", "1e11", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert fake_nuts == []  # refused before any sampling


def test_plot_fans_draws_any_predictive(tmp_path):
    grids = [fan_grid(X, [1e12]), fan_grid(X[:3], [1e10])]
    preds = [GaussianPredictive(truth(g), 0.05 * truth(g)) for g in grids]
    observed = [(X, truth(X)), (X[:3], truth(X[:3]))]
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        path = plot_fans(preds, grids, observed, tmp_path / f"f{suffix}", names=["a", "b"])
        assert path.read_bytes()[: len(magic)] == magic
    assert grids[0][0] > X[-1] and grids[0][-1] == pytest.approx(1e12)
    with pytest.raises(ValueError, match="one grid, observed pair and name per prediction"):
        plot_fans(preds, grids[:1], observed, tmp_path / "g.png", names=["a", "b"])
    with pytest.raises(ValueError, match=r"\.jpg"):
        plot_fans(preds, grids, observed, tmp_path / "g.jpg", names=["a", "b"])
    with pytest.raises(ValueError, match="no curves"):
        plot_fans([], [], [], tmp_path / "g.png", names=[])
    labels = [("compute", "loss"), ("params", "error")]  # one pair per panel
    path = plot_fans(
        preds, grids, observed, tmp_path / "l.svg", names=["a", "b"], axis_labels=labels
    )
    text = path.read_text()
    assert all(word in text for word in ("compute", "params", "error"))
    with pytest.raises(ValueError, match="axis_labels pair"):
        plot_fans(
            preds, grids, observed, tmp_path / "g.png", names=["a", "b"], axis_labels=labels[:1]
        )


def test_plot_fans_draws_each_panels_own_marks_and_explains_them_in_one_legend(
    tmp_path, written_figures
):
    import scalebayes.evaluate._fan as fan_module

    figures = written_figures(fan_module)
    grids = [fan_grid(X, [1e12]), fan_grid(X[:3], [1e10])]
    preds = [GaussianPredictive(truth(g), 0.05 * truth(g)) for g in grids]
    observed = [(X, truth(X)), (X[:3], truth(X[:3]))]
    switch = "far model beyond (5x)"
    plot_fans(
        preds,
        grids,
        observed,
        tmp_path / "f.png",
        names=["a", "b"],
        marks=[(3e11, "target")],
        panel_marks=[[], [(5 * X[2], switch)]],  # only the second panel crosses its 5x
        x_to=[1e12],
    )
    (fig,) = figures
    first, second = fig.axes[:2]

    def dashed(ax):
        return sorted(
            float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_linestyle() == "--"
        )

    assert dashed(first) == [pytest.approx(3e11)]
    assert dashed(second) == [pytest.approx(5 * X[2]), pytest.approx(3e11)]  # sorted
    # one legend, below the panels (a review: on the first panel it hid the lower band)
    (figure_legend,) = fig.legends
    legend = [t.get_text() for t in figure_legend.get_texts()]
    assert "target" in legend and switch in legend  # the second panel's mark, explained
    assert first.get_legend() is None and second.get_legend() is None
    assert len(legend) == len(set(legend))
    # the x asked, on a panel's grid, is drawn as the answer: its median and 90% interval
    (bar,) = first.containers
    median = float(bar.lines[0].get_ydata()[0])
    assert median == pytest.approx(float(preds[0].quantile(0.5)[np.argmin(abs(grids[0] - 1e12))]))
    assert "asked: median and 90% interval" in legend and not second.containers
    with pytest.raises(ValueError, match="one grid, observed pair and name per prediction"):
        plot_fans(preds, grids, observed, tmp_path / "g.png", names=["a", "b"], panel_marks=[[]])
    with pytest.raises(ValueError, match=r"one list of \(x, label\) pairs per prediction"):
        plot_fans(
            preds,
            grids,
            observed,
            tmp_path / "g.png",
            names=["a", "b"],
            panel_marks=[(5.0, "far"), (6.0, "far")],
        )
    # a review: these two reached matplotlib and len() nine frames down
    with pytest.raises(ValueError, match="grid 1 holds 5 x but its prediction 60 targets"):
        plot_fans(preds, [grids[0], grids[1][:5]], observed, tmp_path / "h.png", names=["a", "b"])
    with pytest.raises(TypeError, match=r"one per curve \(for one curve, \[prediction\]\)"):
        plot_fans(preds[0], grids[0], observed[0], tmp_path / "i.png", names=["a"])


@pytest.mark.slow
@pytest.mark.filterwarnings("default::UserWarning")
def test_mcmc_extrapolation_end_to_end(tmp_path, capsys):
    """NUTS on M4 for five runs of an exact law, 300x beyond: the 90% interval holds the truth.

    (Five exact points leave the noise scale's posterior a funnel towards zero: its chains
    diverge a few dozen times, which the command line says in a warning.)"""
    far = X[-1] * 300
    png = tmp_path / "fan.png"
    args = ["extrapolate", str(_runs(tmp_path)), "--to", f"{far:g}", "--method", "mcmc-m4"]
    assert main([*args, "--plot", str(png)]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    q05, q50, q95 = float(row[2]), float(row[4]), float(row[6])
    assert q05 <= truth(far) <= q95 and q50 == pytest.approx(truth(far), rel=0.1)
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.filterwarnings("default::UserWarning")  # the command line's own display
def test_an_accuracy_given_for_a_loss_gets_a_one_line_warning(tmp_path, capsys):
    path = _runs(tmp_path, y=np.linspace(0.5, 0.8, X.size))
    assert main(["extrapolate", str(path), "--to", f"{X[-1] * 3:g}"]) == 0
    err = capsys.readouterr().err
    line = next(s for s in err.splitlines() if "rises" in s)
    assert line.startswith("warning: ") and "curve 'runs'" in line and "1 - accuracy" in line


def test_a_repeated_to_value_is_answered_once(tmp_path, capsys):
    assert main(["extrapolate", str(_runs(tmp_path)), "--to", "2e10,2e10,3e10"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [float(row[1]) for row in rows] == [2e10, 3e10]


def _rows(out: str) -> dict[str, list[str]]:
    """The answer table's rows by curve name."""
    lines = [line.split() for line in out.splitlines() if line and not line.startswith("curve")]
    return {cells[0]: cells[1:7] for cells in lines if len(cells) == 8}


def test_each_curve_is_answered_by_its_own_distance(tmp_path, capsys):
    """A curve's answer does not depend on the other curves in the file: beside a curve whose
    runs stop 256x lower (the far model's question), the near curve keeps the default model."""
    near = "a-curve-name-longer-than-twenty-characters"
    text = "curve,x,y\n" + "".join(f"{near},{x:.17g},{truth(x):.17g}\n" for x in X * 64)
    alone = tmp_path / "alone.csv"
    alone.write_text(text)
    both = tmp_path / "both.csv"
    both.write_text(text + "".join(f"far,{x:.17g},{truth(x):.17g}\n" for x in X[:4]))
    to = f"{2 * X[-1] * 64:.17g}"
    assert main(["extrapolate", str(alone), "--to", to]) == 0
    first = capsys.readouterr()
    assert main(["extrapolate", str(both), "--to", to]) == 0
    second = capsys.readouterr()
    assert "note" not in first.err
    assert "(1 of 2 curves) are answered by the far model" in second.err
    assert _rows(second.out)[near] == _rows(first.out)[near]  # whole name, same answer
    assert set(_rows(second.out)) == {near, "far"}
    fan = tmp_path / "fan.png"  # each panel drawn by its curve's own model
    assert main(["extrapolate", str(both), "--to", to, "--plot", str(fan)]) == 0
    assert fan.stat().st_size > 0 and _rows(capsys.readouterr().out) == _rows(second.out)


def test_mcmc_keys_follow_curve_names_not_rows(tmp_path, capsys, monkeypatch, fake_nuts):
    """The same curve gets the same NUTS key wherever it stands in the file."""
    from scalebayes.inference import curve_keys

    seen = []
    original = inference_module.sample_posterior

    def spy(key, family, xs, ys, names=(), **kwargs):
        seen.append(dict(zip(names, np.asarray(jax.random.key_data(key)).tolist(), strict=True)))
        return original(key, family, xs, ys, **kwargs)

    monkeypatch.setattr(inference_module, "sample_posterior", spy)
    rows = [f"{c},{x:.17g},{truth(x):.17g}\n" for c in ("a", "b") for x in X]
    for order in (rows, rows[len(X) :] + rows[: len(X)]):
        path = tmp_path / "two.csv"
        path.write_text("curve,x,y\n" + "".join(order))
        assert main(["extrapolate", str(path), "--to", "1e12", "--method", "mcmc-m4"]) == 0
    assert seen[0] == seen[1]
    expected = np.asarray(jax.random.key_data(curve_keys(0, ["a", "b"]))).tolist()
    assert [seen[0]["a"], seen[0]["b"]] == expected


def test_a_split_column_is_said_to_condition_the_answer(tmp_path, capsys):
    # a review: `fit` holds out the points a split column marks as targets, `extrapolate`
    # silently read them too
    path = tmp_path / "split.csv"
    path.write_text("x,y,split\n1,3,context\n2,2.7,train\n4,2.5,context\n8,2.35,test\n")
    assert main(["extrapolate", str(path), "--to", "20"]) == 0
    err = capsys.readouterr().err
    assert "note: 1 point(s) marked as targets in the split column condition the answer" in err
    assert f"scalebayes study --methods pfn --csv {path} --out DIR" in err
    path.write_text("x,y\n1,3\n2,2.7\n4,2.5\n8,2.35\n")
    assert main(["extrapolate", str(path), "--to", "20"]) == 0
    assert "split column" not in capsys.readouterr().err


def test_far_notes_skip_an_interval_that_reaches_zero():
    # a review: an interval down to 0 (no width in log y) made every later one "narrower"
    from scalebayes.cli._pfn import _far_roughness

    curve = SimpleNamespace(x=np.array([1.0, 2, 4]), y=np.array([3.0, 2.8, 2.6]))

    def pred(lo, hi):
        return SimpleNamespace(
            median=lambda: np.array([2.0, 1.9, 1.8]), interval=lambda level: (lo, hi)
        )

    far = [100.0, 200.0, 400.0]
    assert (
        _far_roughness(curve, far, pred(np.array([0.0, 1.5, 1.5]), np.array([2.5, 2.3, 2.3]))) == []
    )
    (note,) = _far_roughness(curve, far, pred(np.array([0.0, 1.5, 1.6]), np.array([2.5, 2.3, 2.1])))
    assert "narrows from [1.5, 2.3] at x = 200 to [1.6, 2.1] at x = 400" in note


def test_a_note_when_the_upper_tail_lies_above_every_run():
    # a review: mcmc-bnsl-walk's 95% quantile 300x out was 4.232, above the smallest run's
    # 3.49: 5% that a run 300x larger does worse than every run, unsaid
    from scalebayes.cli._pfn import _above_every_run

    curve = SimpleNamespace(x=np.array([1.0, 3, 9]), y=np.array([3.49, 3.0, 2.6]))

    def pred(q95):
        return SimpleNamespace(quantile=lambda qs: np.array([q95]))

    (note,) = _above_every_run(curve, [30.0, 300.0], pred([3.2, 4.232]), "mcmc-bnsl-walk")
    assert (
        "the 95% quantile at x = 300 (4.232) lies above every run's loss (the highest, 3.49)"
        in note
    )
    assert note.endswith("compare with --method pfn")
    # a review: the note named the first such x, not the further one with the higher tail
    (note,) = _above_every_run(curve, [30.0, 300.0, 900.0], pred([3.6, 4.2, 3.9]), "pfn")
    assert "at x = 30 (3.6) and up to x = 300 (4.2) lies above" in note
    assert _above_every_run(curve, [30.0, 300.0], pred([3.2, 3.4]), "pfn") == []
    rising = SimpleNamespace(x=curve.x, y=curve.y[::-1])  # a rising curve may well go higher
    assert _above_every_run(rising, [30.0, 300.0], pred([3.2, 4.232]), "pfn") == []


def test_tables_name_the_csv_columns(tmp_path, capsys):
    """A review: with --x-column params the table still said `x` (the fan chart's axis
    already said `params`)."""
    path = tmp_path / "runs.csv"
    rows = "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(X, truth(X), strict=True))
    path.write_text("params,val_loss\n" + rows)
    columns = ["--x-column", "params", "--y-column", "val_loss"]
    assert main(["extrapolate", str(path), "--to", f"{2 * X[-1]:g}", *columns]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:3] == ["curve", "params", "q05"]
    assert main(["fit", str(path), "--family", "m2", "--predict", f"{2 * X[-1]:g}", *columns]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[out.index("predictions (m2):") + 1].split() == ["curve", "params", "val_loss"]


def test_the_far_note_does_not_point_an_average_at_itself():
    """A review: `--method pfn+mcmc-m4-irw` printed "so compare with --method
    pfn+mcmc-m4-irw", the method already in use."""
    from scalebayes.cli._pfn import _shipped_note

    curves = [SimpleNamespace(x=np.array([1e9, 4e9, 1.6e10]))]
    alone = _shipped_note(curves, [[1e12]], "pfn")
    averaged = _shipped_note(curves, [[1e12]], "pfn+mcmc-m4-irw")
    assert "so compare with --method pfn+mcmc-m4-irw" in alone
    assert "compare with --method" not in averaged and "here averaged with mcmc-m4-irw" in averaged


def test_a_plot_of_more_curves_than_panels_says_which_it_shows(tmp_path, capsys, monkeypatch):
    """A review: the table listed 100 curves while the plot silently showed 12."""
    import scalebayes.pfn
    from scalebayes.evaluate import MAX_PANELS

    drawn = []  # the drawing itself is plot_fan's (tested there): 13 s of fans skipped here
    monkeypatch.setattr(scalebayes.pfn, "plot_fan", lambda *a, **k: drawn.append(a[1]))

    x = [1e6, 1e7, 1e8, 1e9]
    rows = [f"c{i},{v:g},{2 + 5 * (v / 1e6) ** -0.3:.5f}" for i in range(MAX_PANELS + 2) for v in x]
    path = tmp_path / "many.csv"
    path.write_text("curve,x,y\n" + "\n".join(rows) + "\n")
    assert main(["extrapolate", str(path), "--to", "1e10", "--plot", str(tmp_path / "m.png")]) == 0
    err = capsys.readouterr().err
    assert f"the plot shows the first {MAX_PANELS} of the {MAX_PANELS + 2} curves" in err
    assert len(drawn) == 1


def test_fan_grid_starts_where_the_model_may_answer():
    beyond = fan_grid(X, [3e9, 1e11], n=5)
    np.testing.assert_allclose(beyond[[0, -1]], [X[-1] * 1.0001, 1e11])
    assert np.all(np.diff(np.log(beyond)) > 0)
    inside = fan_grid(X, [3e7, 1e11], n=5, inside=True)  # NUTS answers inside the runs
    np.testing.assert_allclose(inside[[0, -1]], [3e7, 1e11])
    assert fan_grid(X, [1e11], n=5, inside=True)[0] == beyond[0]  # nothing asked inside
    # only inside: to 1% past the last run, as without
    np.testing.assert_allclose(fan_grid(X, [3e7], n=2, inside=True), [3e7, X[-1] * 1.01])


def test_far_notes_read_the_way_to_a_single_far_x():
    """A new-user audit: asked one x 1e4x out, the far model's median there (2.245) lay above
    its own median at 1e3x (2.179) with no note, since the climb was checked between the x
    asked only; the medians on a grid on the way out are checked too."""
    from scalebayes.cli._pfn import _far_roughness

    curve = SimpleNamespace(x=np.array([1.0, 2, 4]), y=np.array([3.0, 2.8, 2.6]))
    pred = SimpleNamespace(median=lambda: np.array([2.3]), interval=lambda level: ([2.0], [2.6]))
    assert _far_roughness(curve, [4000.0], pred) == []  # one x asked: nothing to compare
    grid = (np.array([20.0, 200.0, 4000.0]), np.array([2.25, 2.2, 2.3]))
    (note,) = _far_roughness(curve, [4000.0], pred, grid)
    assert "climbs from 2.2 (x = 200, not asked) to 2.3 (x = 4000) although the runs fall" in note
    falling = (grid[0], np.array([2.4, 2.35, 2.3]))
    assert _far_roughness(curve, [4000.0], pred, falling) == []
    # a review: the note named the first step up from the low, between two x not asked
    # (1.526 to 1.545), where the table showed 1.675 at the x asked: it names the top instead
    grid = (np.array([20.0, 200.0, 300.0, 4000.0]), np.array([2.25, 2.2, 2.25, 2.3]))
    (note,) = _far_roughness(curve, [4000.0], pred, grid)
    assert "climbs from 2.2 (x = 200, not asked) to 2.3 (x = 4000) although" in note


def test_the_far_grid_reads_the_answers_the_table_prints(tmp_path, capsys):
    from scalebayes.cli._pfn import SHIPPED, _far_grids, _pfn_answers
    from scalebayes.data import Curve, read_curves_csv
    from scalebayes.pfn import FAR_MODEL, extrapolate

    curves = read_curves_csv(_runs(tmp_path))
    asked = [X[-1] * 7, X[-1] * 300]
    ((xs, medians),) = _far_grids(curves, [asked])
    assert xs[0] > 5 * X[-1] and xs[-1] == pytest.approx(asked[-1]) and np.all(np.diff(xs) > 0)
    (pred,) = _pfn_answers(SHIPPED, curves, [np.asarray(asked)])
    assert medians[-1] == pytest.approx(np.asarray(pred.median())[-1], rel=1e-6)
    # every x of the grid is the far model's (a review: the first, 5x within 1e-9, was the
    # near answer's, and its lower median read as a climb of the far model's)
    alone = extrapolate(curves[0].x, curves[0].y, xs, model=FAR_MODEL)
    np.testing.assert_allclose(medians, np.asarray(alone.median()), rtol=1e-6)
    assert _far_grids(curves, [[X[-1] * 2]]) == [None]  # nothing beyond the switch
    rising = Curve(X, truth(X)[::-1], name="up")  # no climb is said on it: no grid read
    assert _far_grids([rising], [asked]) == [None]


@pytest.mark.filterwarnings("default::UserWarning")  # the command line prints it
def test_mcmc_asks_about_units_far_beyond_any_study(tmp_path, capsys, fake_nuts):
    """A new-user audit: NUTS answered 1e6x and 1e10x beyond the runs with no word, where the
    PFN asks whether the units match."""
    runs = str(_runs(tmp_path))
    for factor, said in ((1e3, False), (1e6, True)):
        argv = ["extrapolate", runs, "--to", f"{X[-1] * factor:g}", "--method", "mcmc-m4"]
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert ("are the runs' x and the queries in the same units" in err) == said, err


def test_warnings_are_printed_in_the_command_lines_words():
    """A new-user audit: the command line printed the library's Python names (x_query,
    `sample_posterior(...)`, method='pfn') beside its own flags."""
    from scalebayes.cli._main import cli_words

    assert cli_words(
        "curve 'a': x_query up to 1e+04x the largest context x: use the far model "
        "(`PFN.load('mixture-tiny')`, reach 1000x; command line: `--model mixture-tiny`) or "
        "compare with MCMC (`sample_posterior(..., noise='ou_irw')`; command line: `scalebayes "
        "extrapolate --method mcmc-m4-irw`)"
    ) == (
        "curve 'a': --to up to 1e+04x the largest run: use the far model (`--model "
        "mixture-tiny`, reach 1000x) or compare with MCMC (`scalebayes extrapolate --method "
        "mcmc-m4-irw`)"
    )
    assert cli_words(
        "target_x is 2e+03x the largest run: use the far model (model='mixture-tiny', reach "
        "1000x; command line: --model mixture-tiny) or check it with method='mcmc-m4' (command "
        "line: --method mcmc-m4); try another key (command line: --seed)"
    ) == (
        "--target is 2e+03x the largest run: use the far model (--model mixture-tiny, reach "
        "1000x) or check it with --method mcmc-m4; try another --seed"
    )
    assert cli_words("nothing to change (x = 3)") == "nothing to change (x = 3)"
    # errors pass through it too: a file or curve the user named keeps its name (a review)
    for text in ("target_x.csv: line 3", "no curve 'x_query'", "/tmp/x_query/a.csv"):
        assert cli_words(text) == text


def test_a_climb_is_not_news_on_runs_that_end_rising():
    """A new user's audit: on runs that end rising (3.90 ... 3.15, then 3.40), the far model's
    climb was noted 'although the runs fall', after a RisingCurveWarning had said they rise."""
    from types import SimpleNamespace

    from scalebayes.cli._pfn import _falls, _falls_to_the_end

    x = np.array([1e17, 3e17, 1e18, 3e18, 1e19])
    assert _falls_to_the_end(SimpleNamespace(x=x, y=np.array([3.90, 3.62, 3.35, 3.15, 2.97])))
    rising = SimpleNamespace(x=x, y=np.array([3.90, 3.62, 3.35, 3.15, 3.40]))
    assert _falls(rising) and not _falls_to_the_end(rising)  # the other notes still apply
    noisy = SimpleNamespace(x=x, y=np.array([3.90, 3.62, 3.35, 3.15, 3.16]))
    assert _falls_to_the_end(noisy)


def test_the_curve_column_can_be_named(tmp_path, capsys):
    """A review: a sweep's `model` column could not be named as the curves' names."""
    rows = "".join(
        f"{m},{x:.17g},{y:.17g}\n" for m in ("a", "b") for x, y in zip(X, truth(X), strict=True)
    )
    path = tmp_path / "sweep.csv"
    path.write_text("model,compute,val_loss\n" + rows)
    to = f"{2 * X[-1]:g}"
    assert main(["extrapolate", str(path), "--to", to, "--curve-column", "model"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["a", "b"] and err == ""
    argv = ["extrapolate", str(path), "--to", to, "--curve-column", "compute"]
    assert main([*argv, "--x-column", "compute"]) == 2
    assert capsys.readouterr().err.strip().endswith("also holds x or y; give its own column")


def test_curves_that_end_at_other_x_are_pointed_at_curve(tmp_path, capsys):
    """A review: a sweep whose curves end at different x was refused for an x beyond some of
    them, and the message did not say how to ask those alone."""
    rows = [f"a,{x:.17g},{y:.17g}\n" for x, y in zip(X, truth(X), strict=True)]
    rows += [f"b,{x:.17g},{y:.17g}\n" for x, y in zip(X[:4], truth(X[:4]), strict=True)]
    path = tmp_path / "sweep.csv"
    path.write_text("curve,x,y\n" + "".join(rows))
    assert main(["extrapolate", str(path), "--to", f"{2 * X[3]:g}"]) == 2
    err = capsys.readouterr().err
    assert f"ask beyond every curve's runs (above {X[-1]:g}, or as multiples of each " in err
    assert "e.g. --to 10x), or ask the others alone with --curve NAME" in err
    assert len(err.splitlines()) == 1
