"""Benchmark scripts whose output the docs quote, where a cheap check can run."""

import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_pfn_eval_scores_the_default_model_on_curves_above_two():
    """A review: `pfn_eval.py --models nslpfn-base` raised on the held-out scale-free prior
    curves (y up to several times the first run's) since y_scale=1 beyond y = 2 is refused;
    it now reads each curve as a study does."""
    pfn_eval = _script("pfn_eval")
    x = np.geomspace(1.0, 100.0, 10)
    rows = [
        {"xc": x[:7], "yc": 3.0 * x[:7] ** -0.2, "xt": x[7:], "yt": 3.0 * x[7:] ** -0.2},
        {"xc": x[:7], "yc": 0.9 * x[:7] ** -0.2, "xt": x[7:], "yt": 0.9 * x[7:] ** -0.2},
    ]
    assert pfn_eval._protocol_scales(rows) == ["auto", 1.0]
    scores = pfn_eval.score_pfn("nslpfn-base", rows)
    assert scores["n"] == 2 and np.isfinite(scores["rmsle"]) and scores["rmsle"] < 0.2


def test_pfn_eval_point_fits_and_their_best_per_dataset():
    """`pfn_eval.py --point-fits` scores each family on the same curves and its "best point
    fit" row takes, per dataset, the lowest mean RMSLE of any family (issue 13's far bar)."""
    pfn_eval = _script("pfn_eval")
    x = np.geomspace(1.0, 1000.0, 12)
    rows = [
        {"dataset": name, "xc": x[:8], "yc": y[:8], "xt": x[8:], "yt": y[8:]}
        for name, y in (("pure", 2.0 * x**-0.3), ("floor", 0.5 + 2.0 * x**-0.6))
    ]
    m1, m2 = (pfn_eval.score_fit(f, rows) for f in ("m1", "m2"))
    assert m1["by_dataset"]["pure"]["rmsle"] < 1e-3  # a pure power law is M1's own form
    assert m2["by_dataset"]["floor"]["rmsle"] < 1e-3  # and a floor M2's
    assert m1["by_dataset"]["floor"]["rmsle"] > 10 * m2["by_dataset"]["floor"]["rmsle"]
    best = pfn_eval.best_of([m1, m2])
    for name in ("pure", "floor"):
        cells = (m1["by_dataset"][name]["rmsle"], m2["by_dataset"][name]["rmsle"])
        assert best["by_dataset"][name]["rmsle"] == min(cells)
    assert best["rmsle"] == min(m1["rmsle"], m2["rmsle"]) and best["n"] == 2


def test_pfn_eval_refuses_an_unknown_point_fit(capsys):
    pfn_eval = _script("pfn_eval")
    try:
        pfn_eval.main(["--models", "nslpfn-base", "--point-fits", "m4,m9"])
    except SystemExit as stop:
        assert stop.code == 2
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("an unknown family was accepted")
    assert "m9" in capsys.readouterr().err


def test_far_oracle_takes_each_curves_best_method(tmp_path):
    far_oracle = _script("far_oracle")
    header = "method,dataset,curve,rmsle,ll\n"
    rows = ["m4,ic:far10,a,0.3,", "m4,ic:far10,b,0.1,", "pfn-far,ic:far10,a,0.2,1.0"]
    rows += ["pfn-far,ic:far10,b,0.4,1.0", "m3,ic:far10,c,0.5,"]  # c: not every method
    (tmp_path / "per_curve.csv").write_text(header + "\n".join(rows) + "\n")
    methods, curves, values = far_oracle.rmsle_table(tmp_path)
    assert methods == ["m4", "pfn-far", "m3"] and curves == []  # m3 scored only curve c
    (tmp_path / "per_curve.csv").write_text(header + "\n".join(rows[:4]) + "\n")
    methods, curves, values = far_oracle.rmsle_table(tmp_path)
    assert curves == [("ic:far10", "a"), ("ic:far10", "b")]
    assert np.allclose(values.min(axis=1), [0.2, 0.1])


def test_far_bias_reads_the_nsl_protocol_with_nlp_apart(monkeypatch):
    """`far_bias.py --splits nsl` reads the protocol's 132 curves, NLP as NMT, LM and BB."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # it imports pfn_eval
    far_bias = _script("far_bias")
    sets = dict(far_bias._sets("nsl"))
    assert list(sets) == ["ic", "nlp NMT", "nlp LM", "nlp BB", "nano", "dd"]
    assert [len(v) for v in sets.values()] == [72, 5, 5, 10, 24, 16]
    assert all(c.dataset == "BB" for c in sets["nlp BB"])
    try:
        far_bias.far_bias(["nslpfn-base"], splits=("far10", "near"))
    except ValueError as error:
        assert "near" in str(error)
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("an unknown split was accepted")


def test_far_oracle_skips_failed_answers_and_refuses_disjoint_studies(tmp_path, capsys):
    far_oracle = _script("far_oracle")
    header = "method,dataset,curve,rmsle,ll\n"
    rows = ["m4,ic:far10,a,nan,", "m4,ic:far10,b,0.1,", "pfn-far,ic:far10,a,0.2,1.0"]
    rows += ["pfn-far,ic:far10,b,0.4,1.0"]
    (tmp_path / "per_curve.csv").write_text(header + "\n".join(rows) + "\n")
    far_oracle.main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "| m4 | 0.1000 (over 1; 1 failed) | 1 |" in out  # b's best; never a's
    assert "| pfn-far | 0.3000 | 1 |" in out
    assert "| oracle over every method | 0.1500 | |" in out  # (0.2 + 0.1) / 2
    rows = ["m4,ic:far10,a,nan,", "m4,ic:far10,b,0.1,", "pfn-far,ic:far10,a,nan,"]
    (tmp_path / "per_curve.csv").write_text(header + "\n".join([*rows, rows[1]]) + "\n")
    rows.append("pfn-far,ic:far10,b,0.3,1.0")
    (tmp_path / "per_curve.csv").write_text(header + "\n".join(rows) + "\n")
    far_oracle.main([str(tmp_path)])
    out = capsys.readouterr().out
    assert "(1 of them failed by every method: left out of the oracle)" in out
    assert "| m4 | 0.1000 (over 1; 1 failed) | 1 |" in out  # no win for a failed curve
    assert "| pfn-far | 0.3000 (over 1; 1 failed) | 0 |" in out
    assert "ic:far10 (1) 0.1000" in out
    (tmp_path / "per_curve.csv").write_text(header + "m4,ic:far10,a,0.1,\npfn,ic:far10,b,0.2,\n")
    try:
        far_oracle.main([str(tmp_path)])
    except SystemExit as stop:
        assert stop.code == 2
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("studies with no common curve were accepted")
    assert "no curve was scored by every method" in capsys.readouterr().err


def test_handover_mixture_quantiles_are_the_mixture_cdf_roots():
    """`handover.py`'s band quantiles: roots of (1 - t) F_near + t F_far, the near answer's
    at t = 0 and the far one's at t = 1."""
    from scipy import stats

    handover = _script("handover")
    near = stats.lognorm(s=0.1, scale=np.array([1.0, 1.0, 1.0]))
    far = stats.lognorm(s=0.3, scale=np.array([0.8, 0.8, 0.8]))
    t = np.array([0.0, 0.5, 1.0])
    lo, hi = np.full(3, 1e-3), np.full(3, 1e3)
    for q in (0.05, 0.5, 0.95):
        got = handover._mixture_quantile((near.cdf, far.cdf), t, q, lo, hi)
        np.testing.assert_allclose((1 - t) * near.cdf(got) + t * far.cdf(got), q, atol=1e-9)
        np.testing.assert_allclose(got[[0, 2]], [near.ppf(q)[0], far.ppf(q)[0]], rtol=1e-9)


def test_far_backtest_rules_choose_by_the_back_test_alone():
    """`far_backtest.py` (issue 12's question: can the context say which method to trust?):
    a back-test re-splits the context, selection takes the least back-test error, weighting
    leans towards it, and the targets never enter a rule."""
    from scalebayes.data import Curve

    bt = _script("far_backtest")
    x = np.geomspace(1.0, 1000.0, 8)
    curve = Curve(x=x, y=2.0 * x**-0.2, name="c", is_context=np.arange(8) < 6)
    k2 = bt.backtest_curve(curve, "k2")
    assert k2.n_context == 4 and np.array_equal(k2.x_target, x[4:6])
    r10 = bt.backtest_curve(curve, "r10")
    assert np.array_equal(r10.x_context, x[x <= x[5] / 10 * (1 + 1e-9)])
    short = Curve(x=x[:4], y=x[:4] ** -0.2, name="s", is_context=np.arange(4) < 3)
    assert bt.backtest_curve(short, "k2") is None  # one run would be left

    n = len(bt.METHOD_NAMES)
    log_pred = np.log(np.linspace(1.0, 2.0, n))[:, None] * np.ones((1, 2))
    errors = {(t, s): np.full(n, 0.5) for t in (*bt.TESTS, "all") for s in bt.SCALES}
    errors[("k1", "raw")][3] = 0.1  # the back-test favours method 3 (m4)
    s = bt.Scored("d", log_pred, np.zeros(2), errors)
    rules = bt.rules()
    answer, chosen, fell_back = rules["select/k1/raw"](s)
    assert chosen == 3 and not fell_back and np.array_equal(answer, log_pred[3])
    weighted, _, _ = rules["weight/k1/raw"](s)
    equal, _, _ = rules["geo(all 7)"](s)
    assert abs(weighted[0] - log_pred[3, 0]) < abs(equal[0] - log_pred[3, 0])
    moved = bt.Scored("d", log_pred, np.full(2, 9.0), errors)  # other targets: same choice
    assert rules["select/k1/raw"](moved)[1] == 3


def test_suggest_error_rule_is_the_shipped_one_and_the_probs_hook_its_default():
    """`suggest_error.py`'s normal-score rule (written out with scipy.stats) is the library's
    at the shipped span, its error estimate matches a hand count, and `_fantasise_pfn`'s
    ``probs`` hook given the rule's probabilities answers as its default does."""
    from scalebayes.design._suggest import _expectation, _fantasise_pfn, _fantasy_rule

    suggest_error = _script("suggest_error")
    for n in (4, 16, 17):
        probs, weights = suggest_error.normal_score_rule(4.0, n)
        shipped = _fantasy_rule(n)
        np.testing.assert_allclose(probs, shipped[0], rtol=1e-12)
        np.testing.assert_allclose(weights, shipped[1], rtol=1e-12)
    values = np.array([[1.0, 2.0, 4.0, 8.0]])
    weights = np.array([0.1, 0.4, 0.4, 0.1])
    even, odd = (1 * 0.1 + 4 * 0.4) / 0.5, (2 * 0.4 + 8 * 0.1) / 0.5  # 3.4 and 3.2
    # second differences 1 (nodes 0 and 1) and 2 (nodes 2 and 3), by the squared weights
    scatter = np.sqrt((0.1**2 * 1 + 0.4**2 * 1 + 0.4**2 * 4 + 0.1**2 * 4) / 6)
    hand = np.hypot(abs(even - odd) / 2, scatter)
    np.testing.assert_allclose(suggest_error.rule_error(values, weights, True), hand)
    np.testing.assert_allclose(_expectation(values, weights, scattered=True)[1], hand)
    np.testing.assert_allclose(suggest_error.rule_error(values, weights), abs(even - odd) / 2)
    np.testing.assert_allclose(_expectation(values, weights)[1], abs(even - odd) / 2)
    x, y = suggest_error.SYNTHETIC_X, suggest_error.SYNTHETIC_Y
    n = 4
    default = suggest_error.widths(None, x, y, 9.0, _fantasy_rule(n)[0])
    cand = x.max() * suggest_error.CANDIDATE_FACTORS
    own = _fantasise_pfn(x, y, cand, 9.0 * x.max(), None, n, 0.9)[1]
    np.testing.assert_array_equal(default, own)
    other = suggest_error.widths(None, x, y, 9.0, (np.arange(n) + 0.5) / n)
    assert default.shape == (3, n) and not np.array_equal(default, other)
