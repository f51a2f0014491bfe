"""``calibrated(method, reference=...)``: a probabilistic method worn with a conformal scale.

The base method is a log-normal predictive whose sd is half the truth's on the reference
curves, so the scale it needs is about 2; the independent reference for the fitted scale is
``conformal_scale`` on the base's own predictions of the reference curves.
"""

import functools

import numpy as np
import pytest

from scalebayes.data import Curve
from scalebayes.evaluate import ScaledPredictive, conformal_scale
from scalebayes.inference import MCMCPredictive
from scalebayes.studies import METHODS, Method, calibrated, run_study

SD = 0.1


def _curves(seed, n_curves=40, dataset="toy"):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_curves):
        x = np.geomspace(1e3, 1e6, 8)
        y = 2.0 * x**-0.3 * np.exp(2 * SD * rng.standard_normal(8))  # truth: sd 2 SD
        out.append(Curve(x, y, name=f"c{i}", dataset=dataset, is_context=np.arange(8) < 5))
    return out


def _write_runs(path):
    """Four toy curves (c0-c3) as a runs file."""
    curves = _curves(3, 4)
    rows = [f"{x:.17g},{y:.17g},{c.name}" for c in curves for x, y in zip(c.x, c.y, strict=True)]
    path.write_text("x,y,curve\n" + "\n".join(rows) + "\n")
    return path


class Toy:
    """A probabilistic method: log-normal at the curve's true mean, sd SD; counts its calls."""

    batch_size = 7

    def __init__(self):
        self.calls = 0

    def __call__(self, curves):
        self.calls += 1
        return [
            MCMCPredictive(loc=np.log(2.0 * c.x_target**-0.3)[None], scale=np.full(1, SD))
            for c in curves
        ]

    def settings(self):
        return "toy v1"


@pytest.fixture
def toy(monkeypatch):
    fn = Toy()
    monkeypatch.setitem(METHODS, "toy", Method("toy", fn, probabilistic=True))
    return fn


def test_scale_is_the_conformal_scale_of_the_reference_and_is_worn(toy):
    reference, new = _curves(0), _curves(1)
    method = calibrated("toy", reference)
    assert method.name == "toy+cal" and method.probabilistic
    assert toy.calls == 0  # nothing is fitted before first use
    base_ref = Toy()(reference)
    want = conformal_scale(base_ref, [c.y_target for c in reference], 0.9)
    assert method.fn.scale == pytest.approx(want, rel=1e-12)
    assert 1.4 < method.fn.scale < 2.8  # the truth is 2
    assert toy.calls == 6  # 40 reference curves in batches of 7, once
    preds = method(new)
    assert all(isinstance(p, ScaledPredictive) and p.scale == method.fn.scale for p in preds)
    base_new = Toy()(new)
    for p, b in zip(preds, base_new, strict=True):
        np.testing.assert_allclose(p.median(), b.median(), rtol=1e-12)
    method(new)
    assert toy.calls == 8  # the scale is not refitted


def test_settings_name_everything_that_changes_the_predictions(toy):
    reference = _curves(0)
    settings = {
        calibrated("toy", reference).fn.settings(),
        calibrated("toy", reference, level=0.8).fn.settings(),
        calibrated("toy", reference, weight="target").fn.settings(),
        calibrated("toy", reference[:-1]).fn.settings(),
    }
    assert len(settings) == 4
    assert all("toy v1" in s for s in settings)
    assert calibrated("toy", reference).fn.settings() == calibrated("toy", reference).fn.settings()


def test_dataset_weighting_balances_the_datasets(toy):
    big, small = _curves(0, 60, "big"), _curves(2, 6, "small")
    method = calibrated("toy", big + small, weight="dataset")
    preds = Toy()(big + small)
    want = conformal_scale(
        preds,
        [c.y_target for c in big + small],
        0.9,
        weight="group",
        groups=["big"] * 60 + ["small"] * 6,
    )
    assert method.fn.scale == pytest.approx(want, rel=1e-12)


@pytest.mark.filterwarnings("ignore::scalebayes.data.EarlyRiseWarning")  # noisy toy curves
def test_runs_in_a_study(tmp_path, toy, monkeypatch):
    import csv

    path = tmp_path / "runs.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "curve"])
        for c in _curves(3, 4):
            for x, y in zip(c.x, c.y, strict=True):
                writer.writerow([repr(float(x)), repr(float(y)), c.name])
    cal = calibrated("toy", _curves(0))
    monkeypatch.setitem(METHODS, "toy+cal", cal)
    fitted = []
    real = type(cal.fn).scale.func  # the scale's fit, to see when the study runs it

    def fit(self):
        fitted.append(toy.calls)
        return real(self)

    monkeypatch.setattr(type(cal.fn), "scale", functools.cached_property(fit))
    monkeypatch.setattr(type(cal.fn).scale, "attrname", "scale", raising=False)
    result = run_study(["toy", "toy+cal"], [], tmp_path / "out", csv_paths=[path], progress=False)
    assert "toy+cal" in result.summary
    assert len(fitted) == 1  # fitted once, by prepare(), before the +cal rows' first batch
    # the summary names the scale and what it was fitted on (a review found it nowhere)
    row = f"| toy+cal | toy | toy (40 curves) | 0.9 | curve | {cal.fn.scale:.4g} |"
    assert "## Recalibration" in result.summary and row in result.summary
    again = run_study(["toy", "toy+cal"], [], tmp_path / "out", csv_paths=[path], progress=False)
    assert again.n_computed == 0 and len(fitted) == 1  # all rows resumed: nothing fitted
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", _curves(0)))  # a new process's
    fresh = run_study(["toy", "toy+cal"], [], tmp_path / "out", csv_paths=[path], progress=False)
    assert fresh.n_computed == 0 and len(fitted) == 1
    # the scale that made the resumed rows is still reported (a review saw it vanish)
    earlier = f"| toy+cal | toy | toy (40 curves) | 0.9 | curve | {cal.fn.scale:.4g} (fitted by"
    assert earlier in fresh.summary
    (tmp_path / "out" / "recalibration.json").unlink()  # no record: said, not invented
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", _curves(0)))
    bare = run_study(["toy", "toy+cal"], [], tmp_path / "out", csv_paths=[path], progress=False)
    assert "| toy+cal | toy | toy (40 curves) | 0.9 | curve | not fitted" in bare.summary


def test_a_curve_named_twice_in_the_reference_counts_once(toy):
    """A review: "nlp,nmt" (NMT is part of NLP) fitted on 25 curves, NMT's five twice, and
    "nmt,nmt" on 10 copies of 5, without the too-few-curves warning."""
    from scalebayes.data import load_benchmark

    nlp = calibrated("toy", "nlp")
    assert len(calibrated("toy", "nlp,nmt").fn.reference) == len(nlp.fn.reference) == 20
    twice = calibrated("toy", ["nmt", "nmt"]).fn.reference
    assert [c.name for c in twice] == [c.name for c in calibrated("toy", "nmt").fn.reference]
    curves = _curves(0, 12)
    assert calibrated("toy", [*curves, curves[3]]).fn.reference == tuple(curves)  # the objects
    copy = Curve(curves[3].x, curves[3].y, name="c3", dataset="toy", is_context=np.arange(8) < 5)
    assert len(calibrated("toy", [*curves, copy]).fn.reference) == 12  # the same data and name
    other = Curve(curves[3].x, curves[3].y, name="c3", dataset="toy", is_context=np.arange(8) < 4)
    assert len(calibrated("toy", [*curves, other]).fn.reference) == 13  # another split: another
    with pytest.warns(UserWarning, match="5 reference curves are too few"):
        calibrated("toy", "nmt,nmt").prepare()
    assert len(load_benchmark("nmt")) == 5


class Stopping(Toy):
    """The toy, interrupted at its call number ``stop_at`` (a Ctrl-C mid-study)."""

    def __init__(self, stop_at):
        super().__init__()
        self.stop_at = stop_at

    def __call__(self, curves):
        if self.calls + 1 == self.stop_at:
            raise KeyboardInterrupt
        return super().__call__(curves)


@pytest.mark.filterwarnings("ignore::scalebayes.data.EarlyRiseWarning")  # noisy toy curves
def test_a_study_stopped_after_the_fit_resumes_without_refitting(tmp_path, monkeypatch):
    """The fit is recorded as soon as it is made, and a resumed study (a new process: new
    method objects) takes it back instead of predicting every reference curve again (hours
    for a NUTS base); its rows are a straight run's."""
    path = _write_runs(tmp_path / "runs.csv")

    def study(fn, out):
        monkeypatch.setitem(METHODS, "toy", Method("toy", fn, probabilistic=True))
        monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", _curves(0)))
        return run_study(["toy+cal"], [], out, csv_paths=[path], progress=False, batch_size=1)

    fit_calls = -(-40 // Toy.batch_size)  # the 40 reference curves in batches of 7
    with pytest.raises(KeyboardInterrupt):  # after the fit and the first curve's row
        study(Stopping(fit_calls + 2), tmp_path / "out")
    assert (tmp_path / "out" / "recalibration.json").exists()
    again = Toy()
    resumed = study(again, tmp_path / "out")
    assert (resumed.n_resumed, resumed.n_computed) == (1, 3)
    assert again.calls == 3  # the three curves left, no reference curve
    assert "(fitted by an earlier run)" in resumed.summary
    straight = study(Toy(), tmp_path / "straight")
    assert [r.ll for r in resumed.scores] == [r.ll for r in straight.scores]
    assert "(fitted by an earlier run)" not in straight.summary


@pytest.mark.filterwarnings("ignore::scalebayes.data.EarlyRiseWarning")  # noisy toy runs
def test_a_study_refuses_to_score_a_recalibration_on_its_own_reference(tmp_path, toy, monkeypatch):
    # in-sample: the scale fitted on the very curves it is judged on (a review found the
    # Python path unchecked; the command line checked benchmark names only)
    from scalebayes.data import read_curves_csv
    from scalebayes.studies import mixture

    path = _write_runs(tmp_path / "runs.csv")
    own = [c.with_default_split(0.3) for c in read_curves_csv(path)]  # raw y, unnormalised
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", [*_curves(0, 12), own[2]]))
    monkeypatch.setitem(METHODS, "avg", mixture("toy", "toy+cal"))
    for method in ("toy+cal", "avg"):
        with pytest.raises(
            ValueError,
            match=r"recalibrated on targets of 1 of the curves .* \(runs.csv:c2\)",
        ):
            run_study(["toy", method], [], tmp_path / method, csv_paths=[path], progress=False)
        assert not (tmp_path / method).exists()  # refused before any work
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", _curves(0, 12)))  # others: fine
    run_study(["toy+cal"], [], tmp_path / "ok", csv_paths=[path], progress=False)
    # a reference that shares targets without being the same curve: another split of it,
    # or inside a recalibration of a recalibration
    resplit = own[2].with_default_split(0.5)
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", [*_curves(0, 12), resplit]))
    with pytest.raises(ValueError, match=r"targets of 1 of the curves .*c2"):
        run_study(["toy+cal"], [], tmp_path / "resplit", csv_paths=[path], progress=False)
    inner = calibrated("toy", [*_curves(0, 12), own[2]], name="inner")
    monkeypatch.setitem(METHODS, "toy+cal", calibrated(inner, _curves(1, 12)))
    with pytest.raises(ValueError, match=r"targets of 1 of the curves .*c2"):
        run_study(["toy+cal"], [], tmp_path / "nested", csv_paths=[path], progress=False)


@pytest.mark.filterwarnings("ignore::scalebayes.data.EarlyRiseWarning")  # noisy toy runs
def test_a_study_predicts_each_batch_once_for_a_method_and_those_built_on_it(
    tmp_path, toy, monkeypatch
):
    # `--calibrate-on` scores M and M+cal side by side, and a mixture may hold a method the
    # study also scores alone: each batch of the study's curves is predicted once, the others
    # reuse it (with its seconds), and the scores are those of each method run alone
    import time

    from scalebayes.studies import mixture

    path = _write_runs(tmp_path / "runs.csv")
    seen = []
    real = Toy.__call__

    def predict(self, curves):
        seen.append(curves[0].dataset)
        time.sleep(0.02)
        return real(self, curves)

    monkeypatch.setattr(Toy, "__call__", predict)
    import scalebayes.studies._shared as shared_module

    made = []

    class Recorded(shared_module.SharedPredictions):
        def __init__(self, planned):
            super().__init__(planned)
            made.append(self)

    monkeypatch.setattr(shared_module, "SharedPredictions", Recorded)
    monkeypatch.setitem(METHODS, "toy+cal", calibrated("toy", _curves(0)))
    monkeypatch.setitem(METHODS, "avg", mixture("toy", "toy+cal"))
    names = ["toy+cal", "toy", "avg"]
    result = run_study(names, [], tmp_path / "all", csv_paths=[path], progress=False)
    assert seen.count("runs") == 1  # one batch of 4 curves, predicted once for all three
    assert made[-1].kept == 0  # nothing held once the last use has had it
    alone = {}
    for name in names:
        one = run_study([name], [], tmp_path / name, csv_paths=[path], progress=False)
        alone.update({(s.method, s.curve): s for s in one.scores})
    assert seen.count("runs") == 4  # each study alone predicts it again
    for score in result.scores:
        other = alone[(score.method, score.curve)]
        assert (score.rmsle, score.ll, score.msce) == (other.rmsle, other.ll, other.msce)
        assert score.seconds >= 0.02 / 4  # a reused batch is timed with what it took
    again = run_study(names, [], tmp_path / "all", csv_paths=[path], progress=False)
    assert again.n_computed == 0 and seen.count("runs") == 4
    # a reused batch that itself reused another's is timed with both (a review saw
    # (pfn-far+pfn-default)+cal timed without pfn-far's part)

    class Sleeper(Toy):
        def __init__(self, seconds, batch_size=7):
            super().__init__()
            self.seconds, self.batch_size = seconds, batch_size

        def __call__(self, curves):
            time.sleep(self.seconds)
            return real(self, curves)

        def settings(self):
            return f"sleeps {self.seconds} s in batches of {self.batch_size}"

    for name, seconds in (("pause", 0.3), ("slow", 0.05)):
        monkeypatch.setitem(METHODS, name, Method(name, Sleeper(seconds), probabilistic=True))
    monkeypatch.setitem(METHODS, "mix", mixture("pause", "slow", name="mix"))
    monkeypatch.setitem(METHODS, "mix+cal", calibrated("mix", _curves(0)))
    nested = run_study(["pause", "mix", "mix+cal"], [], tmp_path / "nested", csv_paths=[path])
    seconds = {s.method: s.seconds for s in nested.scores}
    assert seconds["mix+cal"] >= (0.3 + 0.05) / 4 and made[-1].kept == 0
    # two closures of one factory, without settings, share a name but not their predictions
    # (a review saw one's answer scored as the other's; their code digests now differ too)

    def make(k):
        return lambda curves: [
            MCMCPredictive(loc=np.log(k * 2.0 * c.x_target**-0.3)[None], scale=np.full(1, SD))
            for c in curves
        ]

    for name, k in (("w1", 1.0), ("w2", 3.0)):
        base = Method("m", make(k), probabilistic=True)
        monkeypatch.setitem(METHODS, name, calibrated(base, _curves(0), name=name))
    twins = run_study(["w1", "w2"], [], tmp_path / "twins", csv_paths=[path], progress=False)
    rmsle = {s.method: s.rmsle for s in twins.scores}
    assert rmsle["w1"] != rmsle["w2"]
    # a mixture asks its members in its own (smaller) batches: nothing to share, nothing kept
    monkeypatch.setitem(METHODS, "small", Method("small", Sleeper(0.0, 3), probabilistic=True))
    monkeypatch.setitem(METHODS, "toy+small", mixture("toy", "small"))
    before = seen.count("runs")
    run_study(["toy", "toy+small"], [], tmp_path / "sizes", csv_paths=[path], progress=False)
    assert seen.count("runs") - before == 1 + 2 and made[-1].kept == 0


def test_bad_input(toy, monkeypatch):
    monkeypatch.setitem(METHODS, "pt", Method("pt", lambda cs: [], probabilistic=False))
    with pytest.raises(ValueError, match="point method"):
        calibrated("pt", _curves(0))
    with pytest.raises(KeyError, match="unknown method 'nope'"):
        calibrated("nope", _curves(0))
    with pytest.raises(ValueError, match="weight must be one of"):
        calibrated("toy", _curves(0), weight="group")
    with pytest.raises(ValueError, match="holds no curves"):
        calibrated("toy", "")
    with pytest.raises(TypeError, match="benchmark names or Curves"):
        calibrated("toy", [3])
    with pytest.raises(TypeError, match=r"reference must be benchmark names .* or Curves; got int"):
        calibrated("toy", 3)
    with pytest.raises(ValueError, match="no curve of 'bnsl_addition' spans enough for the far100"):
        calibrated("toy", "bnsl_addition", split="far100")
    one = _curves(0)[0]  # one Curve is a reference of one curve
    assert calibrated("toy", one).fn.reference == (one,)
