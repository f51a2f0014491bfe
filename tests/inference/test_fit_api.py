"""fit_curves / fit_curve: batching, BNSL break selection, input validation, recompilation."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scalebayes.inference
from scalebayes.families import bnsl, get_family, m2
from scalebayes.inference import (
    MAX_BREAKS,
    POINT_FAMILIES,
    PointFit,
    _point,
    fit_curve,
    fit_curves,
    predict_fits,
)

X = np.geomspace(1e3, 1e9, 30)


def _noisy(y, seed, sigma=0.01):
    return y * np.exp(sigma * np.random.default_rng(seed).standard_normal(np.shape(y)))


# ---------------------------------------------------------------------------------------------
# batching


M2_TRUTHS = [(0.5, 20.0, -0.3), (0.2, 5.0, -0.25), (1.0, 30.0, -0.35), (0.3, 10.0, -0.3)]
M2_XS = [
    np.geomspace(1e3, 1e9, 30),
    np.geomspace(1e2, 1e8, 12),
    np.geomspace(1e3, 1e9, 20),
    np.geomspace(1e3, 1e8, 9),
]


def _m2_curves():
    with jax.enable_x64(True):
        return [
            _noisy(np.asarray(m2(x, *t)), i, 0.005)
            for i, (x, t) in enumerate(zip(M2_XS, M2_TRUTHS, strict=True))
        ]


def _same(a, b):
    assert a.params == b.params
    assert a.loss == b.loss


def test_padding_and_companions_do_not_leak():
    # Same compiled shape (4 curves, 32 points), different companions, different position and
    # batch padding (3 curves are padded with a copy of the first): a curve's fit must be
    # bit-for-bit the same, since vmapped curves never mix.
    ys = _m2_curves()
    a = fit_curves("m2", M2_XS[:3], ys[:3])  # 3 curves + 1 copy of curve 0
    b = fit_curves("m2", [M2_XS[2], M2_XS[0], M2_XS[3], M2_XS[1]], [ys[2], ys[0], ys[3], ys[1]])
    c = fit_curves("m2", [M2_XS[1], M2_XS[1], M2_XS[0]], [ys[1], ys[1], ys[0]])
    _same(a[0], b[1])
    _same(a[1], b[3])
    _same(a[2], b[0])
    _same(a[1], c[0])
    _same(a[1], c[1])
    # a different points bucket ((4, 64) through pad_to) changes rounding only
    d = fit_curves("m2", [M2_XS[3], M2_XS[1]], [ys[3], ys[1]], pad_to=64)
    for k in a[1].params:
        assert d[1].params[k] == pytest.approx(a[1].params[k], rel=1e-7)
    np.testing.assert_allclose(d[1].fitted, a[1].fitted, rtol=1e-9)
    np.testing.assert_array_equal(a[1].x, M2_XS[1])
    np.testing.assert_array_equal(a[1].y, ys[1])


def test_batch_equals_single_fits():
    # Alone, a curve is padded to the smallest bucket (4 curves of 32 points) with copies of
    # itself, the shape of the batch of three: its fit is bit-for-bit the batch's (a different
    # bucket changes rounding only: test_padding_and_companions_do_not_leak).
    ys = _m2_curves()
    batch = fit_curves("m2", M2_XS[:3], ys[:3])
    x_ext = np.geomspace(1e2, 1e10, 17)
    for x, y, fb in zip(M2_XS[:3], ys[:3], batch, strict=True):
        fa = fit_curve("m2", x, y)
        _same(fa, fb)
        np.testing.assert_array_equal(fa.predict(x_ext), fb.predict(x_ext))


# ---------------------------------------------------------------------------------------------
# BNSL with automatic breaks


TWO_BREAKS = {"a": 0.05, "b": 5.0, "c0": 0.05, "c": [0.3, 0.3], "d": [1e4, 1e6], "f": [0.2, 0.2]}
X_EXT = np.geomspace(1e9, 1e10, 20)


def _two_breaks(x):
    t = TWO_BREAKS
    with jax.enable_x64(True):
        return np.asarray(
            bnsl(
                x, t["a"], t["b"], t["c0"], jnp.array(t["c"]), jnp.array(t["d"]), jnp.array(t["f"])
            )
        )


@pytest.fixture(scope="module")
def auto_fits():
    x5 = np.geomspace(1e3, 1e5, 5)
    x12 = np.geomspace(1e3, 1e7, 12)
    xs = [X, x5, x12, X]
    ys = [
        _two_breaks(X),
        2.0 * x5**-0.2,
        _noisy(2.0 * x12**-0.2, 1, 0.005),
        _noisy(2.0 * X**-0.15, 0, 0.005),
    ]
    return xs, ys, fit_curves("bnsl", xs, ys)


def _check_choice(fit):
    """The chosen count is the fewest that ties with the best held-out error."""
    errs = np.array(fit.heldout_errors)
    assert errs.shape == (MAX_BREAKS + 1,)
    k = fit.n_breaks
    assert 0 <= k <= MAX_BREAKS
    # every candidate with fewer breaks did strictly worse than the chosen one
    assert np.all(errs[:k] > errs[k])
    # and the chosen one is the best up to the selection's tie tolerance
    rel = getattr(_point, "_BREAKS_REL_TOL", 0.0)
    tol = getattr(_point, "_BREAKS_ABS_TOL", 0.0)
    assert errs[k] <= errs.min() * (1 + rel) + tol
    expected = {"a", "b", "c0"} | {f"{s}{i}" for i in range(1, k + 1) for s in "cdf"}
    assert set(fit.params) == expected


def test_bnsl_auto_finds_breaks_in_a_clean_two_break_curve(auto_fits):
    _, _, fits = auto_fits
    fit = fits[0]
    _check_choice(fit)
    assert fit.n_breaks >= 1
    assert fit.heldout_errors[0] > 10 * fit.heldout_errors[fit.n_breaks]  # 0 breaks can't bend
    if fit.n_breaks >= 2:
        # the chosen family contains the noiseless truth: the refit on all points is ~exact
        assert fit.loss < 1e-6, fit
    rmsle = np.sqrt(np.mean((np.log(fit.predict(X_EXT)) - np.log(_two_breaks(X_EXT))) ** 2))
    assert rmsle < 0.02, (rmsle, fit)


def test_bnsl_two_breaks_recover_noiseless_two_break_curves():
    # Curves from the 2-break family itself, fitted with n_breaks=2: the least-squares optimum
    # is the truth (loss 0), so the multi-start fit must reach a loss far below any noise level
    # and put the breaks where they are.
    variants = [([1e4, 1e6], [0.2, 0.2]), ([1e5, 3e7], [0.3, 0.1]), ([3e3, 1e7], [0.5, 0.3])]
    ys = []
    for d, f in variants:
        with jax.enable_x64(True):
            ys.append(
                np.asarray(
                    bnsl(X, 0.05, 5.0, 0.05, jnp.array([0.3, 0.3]), jnp.array(d), jnp.array(f))
                )
            )
    fits = fit_curves("bnsl", [X] * 3, ys, n_breaks=2)
    for fit, (d, _) in zip(fits, variants, strict=True):
        assert fit.n_breaks == 2
        assert fit.loss < 1e-6, fit
        found = sorted([fit.params["d1"], fit.params["d2"]])
        np.testing.assert_allclose(np.log10(found), np.log10(d), atol=0.1)


def test_bnsl_auto_prefers_few_breaks_for_a_power_law(auto_fits):
    # Nine seeds (one in the fixture, eight here): a noisy pure power law should rarely be
    # explained by 2-3 breaks, and extrapolates within 6 delta-method sd (0.0064 for a
    # 3-parameter M2-type fit of this design).
    chosen = [auto_fits[2][3].n_breaks]
    for seeds in ((10, 11, 12, 13), (14, 15, 16, 17)):
        fits = fit_curves("bnsl", [X] * 4, [_noisy(2.0 * X**-0.15, s, 0.005) for s in seeds])
        for fit in fits:
            _check_choice(fit)
            chosen.append(fit.n_breaks)
            rmsle = np.sqrt(np.mean((np.log(fit.predict(X_EXT)) - np.log(2.0 * X_EXT**-0.15)) ** 2))
            assert rmsle < 6 * 0.0064, (rmsle, fit)
    # Held-out selection on ~6 noisy points is itself random: bound its failure rate rather
    # than demand that every seed picks the right answer. An audit measured 3 picks of 2-3
    # breaks in 160 other seeds (p ~ 0.019 a curve): "at most 1 of 9" fails ~1.3% of seed
    # sets, "at most 2" ~0.06%.
    assert sum(k >= 2 for k in chosen) <= 2, chosen
    assert chosen.count(0) >= 7, chosen


def test_bnsl_auto_short_curves(auto_fits):
    _, ys, fits = auto_fits
    # 5 points: one held out, 4 to train; only 0 breaks (3 parameters < 4 points) is allowed
    f5 = fits[1]
    assert f5.n_breaks == 0
    assert np.isfinite(f5.heldout_errors[0])
    assert all(e == np.inf for e in f5.heldout_errors[1:])
    assert set(f5.params) == {"a", "b", "c0"}
    assert np.all(np.isfinite(f5.predict(X_EXT)))
    # the noiseless power law lies in the 0-break family (a = 0): fitted to its own points
    np.testing.assert_allclose(f5.fitted, ys[1], rtol=1e-3)
    # 12 points: round(0.2 * 12) = 2 held out, 10 to train: 0, 1, 2 breaks (3, 6, 9 params)
    f12 = fits[2]
    assert all(np.isfinite(f12.heldout_errors[:3])) and f12.heldout_errors[3] == np.inf
    _check_choice(f12)


def test_bnsl_auto_heldout_error_matches_a_separate_fit(auto_fits):
    # The held-out error of candidate k equals: fit k breaks to the first n - n_hold points
    # with the public API, then the mean squared log error on the held-out points.
    xs, ys, fits = auto_fits
    idx = [0, 2, 3]
    n_hold = [max(1, round(0.2 * xs[i].size)) for i in idx]
    train_x = [xs[i][:-h] for i, h in zip(idx, n_hold, strict=True)]
    train_y = [ys[i][:-h] for i, h in zip(idx, n_hold, strict=True)]
    for k in (0, 1):
        separate = fit_curves("bnsl", train_x, train_y, n_breaks=k)
        for i, h, fit in zip(idx, n_hold, separate, strict=True):
            err = np.mean((np.log(fit.predict(xs[i][-h:])) - np.log(ys[i][-h:])) ** 2)
            assert fits[i].heldout_errors[k] == pytest.approx(err, rel=1e-6, abs=1e-15), (i, k)


# ---------------------------------------------------------------------------------------------
# validation


def _curves(n=3, size=10):
    x = np.geomspace(1e3, 1e6, size)
    return [x.copy() for _ in range(n)], [2.0 * x**-0.2 for _ in range(n)]


def test_unknown_family():
    xs, ys = _curves()
    with pytest.raises(ValueError, match="unknown family 'm5'"):
        fit_curves("m5", xs, ys)
    with pytest.raises(ValueError, match="power_law"):
        fit_curves("power_law", xs, ys)


def test_point_families():
    assert set(POINT_FAMILIES) == {"m1", "m2", "m3", "m4", "bnsl"}


@pytest.mark.parametrize("family", ["m1", "m2", "m3", "m4"])
def test_n_breaks_only_for_bnsl(family):
    xs, ys = _curves()
    with pytest.raises(ValueError, match="n_breaks"):
        fit_curves(family, xs, ys, n_breaks=1)


@pytest.mark.parametrize("n_breaks", [-1, MAX_BREAKS + 1, 1.0, "2"])
def test_n_breaks_out_of_range(n_breaks):
    xs, ys = _curves()
    with pytest.raises(ValueError, match="n_breaks"):
        fit_curves("bnsl", xs, ys, n_breaks=n_breaks)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, "0.2", None])
def test_holdout_fraction_range(fraction):
    xs, ys = _curves()
    with pytest.raises(ValueError, match="holdout_fraction"):
        fit_curves("bnsl", xs, ys, holdout_fraction=fraction)


def test_mismatched_number_of_curves_and_empty_input():
    xs, ys = _curves()
    with pytest.raises(ValueError, match="3 x arrays but 2 y arrays"):
        fit_curves("m1", xs, ys[:2])
    with pytest.raises(ValueError, match="no curves"):
        fit_curves("m1", [], [])


def _bad(kind):
    xs, ys = _curves()
    if kind == "length":
        ys[2] = ys[2][:-1]
    elif kind == "nan":
        ys[2][4] = np.nan
    elif kind == "inf":
        xs[2][4] = np.inf
    elif kind == "x0":
        xs[2][0] = 0.0
    elif kind == "xneg":
        xs[2][3] = -5.0
    elif kind == "y0":
        ys[2][5] = 0.0
    elif kind == "yneg":
        ys[2][5] = -0.1
    return xs, ys


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("length", "x has 10 points but y has 9"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("x0", "> 0"),
        ("xneg", "> 0"),
        ("y0", "> 0"),
        ("yneg", "> 0"),
    ],
)
@pytest.mark.parametrize("family", ["m1", "bnsl"])
def test_bad_data_names_the_curve(kind, message, family):
    xs, ys = _bad(kind)
    with pytest.raises(ValueError, match=r"curve 2\b.*" + re.escape(message)):
        fit_curves(family, xs, ys)


def test_text_and_bools_are_not_numbers():
    for xs, ys, what in (
        ([["1", "2", "3"]], [[3.0, 2.0, 1.0]], "<U1"),
        ([[1.0, 2.0, 3.0]], [[True, True, True]], "bool"),
    ):
        with pytest.raises(
            TypeError, match=f"curve 0: x and y must be arrays of real numbers .*{what}"
        ):
            fit_curves("m1", xs, ys)


def test_python_ints_beyond_int64_are_numbers():
    # a review: FLOPs written as 10**18 * 4**i were refused as "object values", where
    # extrapolate, suggest_next and Curve take them
    x = [10**18 * 4**i for i in range(6)]
    y = [1.0 + 3.0 * (v / 1e18) ** -0.1 for v in x]
    as_ints = fit_curves("m2", [x], [y])[0]
    as_floats = fit_curves("m2", [np.array(x, float)], [y])[0]
    assert as_ints.params == as_floats.params
    with pytest.raises(TypeError, match=r"arrays of real numbers .*object"):
        fit_curves("m1", [np.array([1.0, "2", 3.0], dtype=object)], [[3.0, 2.0, 1.0]])


def test_bad_data_names_the_curve_by_name_when_given():
    xs, ys = _bad("nan")
    with pytest.raises(ValueError, match=r"curve 'third': x and y must be finite"):
        fit_curves("m1", xs, ys, names=["first", "second", "third"])
    with pytest.raises(ValueError, match="got 2 names for 3 curves"):
        fit_curves("m1", xs, ys, names=["first", "second"])
    with pytest.raises(ValueError, match="got one string for 3 curves"):  # not its letters
        fit_curves("m1", xs, ys, names="abc")


@pytest.mark.parametrize(
    ("family", "minimum"), [("m1", 2), ("m2", 3), ("m3", 3), ("m4", 3), ("bnsl", 3)]
)
def test_too_few_points_names_the_curve(family, minimum):
    xs, ys = _curves()
    xs[1], ys[1] = xs[1][: minimum - 1], ys[1][: minimum - 1]
    with pytest.raises(
        ValueError, match=rf"curve 1: needs at least {minimum} points, got {minimum - 1}"
    ):
        fit_curves(family, xs, ys)


def test_repeated_x_and_mismatched_shapes_are_refused():
    """A review: 3 points at 2 distinct x fitted M2's 3 parameters without a word, and x and
    y of shapes (2, 3) and (3, 2) were flattened and paired point by point."""
    with pytest.raises(ValueError, match=r"needs at least 3 distinct x, got 2 \(in 3 points\)"):
        fit_curves("m2", [np.array([1e6, 1e6, 1e9])], [np.array([3.0, 3.1, 2.0])])
    x, y = np.geomspace(1e6, 1e9, 6), np.geomspace(3.0, 2.0, 6)
    with pytest.raises(ValueError, match=r"one shape, got \(2, 3\) and \(3, 2\)"):
        fit_curves("m2", [x.reshape(2, 3)], [y.reshape(3, 2)])
    # a new-user audit: two curves stacked as one (2, n) array fitted as one curve
    with pytest.raises(ValueError, match=r"must each hold one curve \(1-D\), got shape \(2, 6\)"):
        fit_curve("m2", np.stack([x, x]), np.stack([y, 1.1 * y]))
    fit = fit_curves("m2", [x], [y])[0]
    column = fit_curves("m2", [x[:, None]], [y])[0]  # a re-read: (n, 1) against (n,) pairs right
    np.testing.assert_allclose(column.predict([1e10]), fit.predict([1e10]), rtol=1e-9)
    with pytest.raises(ValueError, match="beyond float64"):  # was a bare OverflowError
        fit.predict([10**400])
    with pytest.raises(ValueError, match="beyond float64"):
        predict_fits([fit], [[10**400]])


def test_predict_rejects_non_positive_x():
    xs, ys = _curves(n=3, size=30)
    fit = fit_curves("m1", xs, ys)[0]
    for bad in ([1e3, 0.0], [-1.0], [np.nan, 1e4], [np.inf]):
        with pytest.raises(ValueError, match="predict"):
            fit.predict(np.asarray(bad))
    assert np.all(np.isfinite(fit.predict([1e-3, 1.0, 1e12])))


# ---------------------------------------------------------------------------------------------
# compilation


class _CompileEvents:
    """Collects JAX's trace / lower / compile events (``/jax/core/compile/...``) in a block."""

    def __init__(self):
        self.events = []

    def _listener(self, event, duration_secs, **kwargs):
        if event.startswith("/jax/core/compile/"):
            self.events.append(event)

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._listener)


def _cache_size():
    fn = getattr(_point._fit_batch, "_cache_size", None)
    return fn() if callable(fn) else None


def test_same_bucketed_shapes_do_not_retrace():
    # A user's few runs share the smallest bucket, 4 curves of 32 points: after one curve of 5
    # points, 4 curves of 17..32 points must neither trace nor compile again.
    first_x = [np.geomspace(1e3, 1e9, 5)]
    second_x = [np.geomspace(1e2, 1e8, n) for n in (32, 17, 28, 24)]
    fit_curves("m1", first_x, [3.0 * x**-0.2 for x in first_x])

    before = _cache_size()
    with _CompileEvents() as seen:
        fits = fit_curves(
            "m1", second_x, [_noisy(0.5 * x**-0.1, i) for i, x in enumerate(second_x)]
        )
    assert len(fits) == 4
    assert seen.events == [], f"second call traced/compiled: {seen.events}"
    assert _cache_size() == before

    # positive control: a new static argument (n_iter=7, used nowhere else) must retrace, and
    # both detectors see it
    with _CompileEvents() as seen:
        fit_curves("m1", second_x, [0.5 * x**-0.1 for x in second_x], n_iter=7)
    assert any("jaxpr_trace" in e for e in seen.events), seen.events
    if before is not None:
        assert _cache_size() == before + 1


# ---------------------------------------------------------------------------------------------
# extreme magnitudes: no fit returns a non-finite parameter or prediction

X8 = np.geomspace(1e3, 1e8, 8)
SCALES = (1e-300, 1e-12, 1.0, 1e12, 1e300)


def _finite_positive(fit, x):
    assert all(np.isfinite(v) for v in fit.params.values()), fit.params
    y = fit.predict(x)
    assert np.all(np.isfinite(y)) and np.all(y > 0), (fit.params, y)
    return y


# M1 (the simplest) and M4 (the headline family) run by default; M2, M3 and BNSL (5-11 s
# each, mostly compiling their programs for these shapes) with the slow tests.
# (BNSL on these 8-point curves takes its untested break, and says so: not what these test)
_M1_M4_BY_DEFAULT = [
    f
    if f in ("m1", "m4")
    else pytest.param(
        f,
        marks=[
            pytest.mark.slow,
            pytest.mark.filterwarnings("ignore::scalebayes.inference.UntestedBreakWarning"),
        ],
    )
    for f in POINT_FAMILIES
]


@pytest.mark.parametrize("family", _M1_M4_BY_DEFAULT)
def test_fits_do_not_depend_on_the_magnitude_of_y(family):
    # The same curve in other units (1e-300 ... 1e300): every fit must be finite, and since a
    # fit is equivariant under y -> k y, the predictions must scale by k. Before the fits
    # worked in log y relative to max y, M4 returned NaN at 1e300 (exp of a huge log y).
    shape = 0.3 + 2.0 * (X8 / 1e3) ** -0.3
    # two calls of at most four curves: the smallest compiled bucket, which the other fits of
    # this file share (one call of five curves compiled M4 again for eight, 5-7 s)
    fits = [
        fit
        for part in (SCALES[:3], SCALES[3:])
        for fit in fit_curves(family, [X8] * len(part), [k * shape for k in part])
    ]
    x_new = np.array([1e2, 1e9])
    reference = _finite_positive(fits[2], x_new)
    for k, fit in zip(SCALES, fits, strict=True):
        y = _finite_positive(fit, x_new)
        # log y - max log y differs between scales by rounding of |log k| <= 691 (~1e-13): the
        # optimum moves by the LM precision only
        np.testing.assert_allclose(y / k, reference, rtol=1e-6)
        np.testing.assert_allclose(fit.fitted / k, fits[2].fitted, rtol=1e-6)
        assert fit.loss == pytest.approx(fits[2].loss, rel=1e-3, abs=1e-12)


@pytest.mark.parametrize("family", _M1_M4_BY_DEFAULT)
def test_flat_and_nearly_flat_curves_fit(family):
    rng = np.random.default_rng(5)
    ys = [np.full(8, 2.0), 2.0 * (1 + 1e-12 * rng.standard_normal(8)), np.full(8, 1e-300)]
    fits = fit_curves(family, [X8] * 3, ys)
    for fit, y in zip(fits, ys, strict=True):
        _finite_positive(fit, np.array([1e2, 1e9, 1e12]))
        np.testing.assert_allclose(fit.fitted, y, rtol=1e-4)


# M1 runs by default; M2, M3, M4 and BNSL (7-17 s each, mostly compiling the retry programs)
# with the slow tests. M4's retry into a MAP fit runs by default in the next test.
@pytest.mark.parametrize(
    "family",
    [pytest.param(f, marks=pytest.mark.slow) if f != "m1" else f for f in POINT_FAMILIES],
)
def test_unrepresentable_fit_raises_naming_the_curve(family):
    # y = 1e308 (x / 1e3)^-0.3: the fitted curve is fine, but the natural parameters of M1-M3
    # and BNSL hold y at x = 1 (beta, b: ~8e308), beyond float64; the least-squares M4 has its
    # plateau eps_0 there too. Before, fit printed y = inf (M1-M3) or nan (M4). Now M1-M3 and
    # BNSL say why; M4's retries (larger ridges) find a representable MAP fit and say so.
    y = 1e308 * (X8 / 1e3) ** -0.3
    xs, ys, names = [X8, X8], [2.0 * X8**-0.1, y], ["fine", "huge"]
    if family != "m4":
        with pytest.raises(ValueError, match=r"curve 'huge': the .* fit has no finite .*float64"):
            fit_curves(family, xs, ys, names=names)
        return
    fine, huge = fit_curves(family, xs, ys, names=names)
    assert fine.ridge == _point.DEFAULT_RIDGE and huge.ridge > _point.DEFAULT_RIDGE
    _finite_positive(huge, np.array([1e2, 1e9]))
    assert np.sqrt(huge.loss) < 0.1  # a biased but reasonable fit of a curve M4 can follow


def test_a_fit_that_is_not_finite_is_retried_from_other_starts():
    # An M4 fit of 3 points near 1e-11: the unpenalised optimum has a large alpha, and M4's
    # beta scales as y^(1 - alpha), beyond float64. The retry (shrunk starts, screening
    # ridge) finds a representable fit that still goes through the points.
    x = np.array([423502377.4692238, 19822241353.785538, 307858934098.6598])
    y = np.array([1.9380834360746892e-11, 1e-12, 1e-12])
    with jax.enable_x64(True):  # control: the first attempt alone is not finite
        pad = _point._FIT_MIN_SHAPE  # what fit_curves pads a few runs to
        first = _point._fit_group(
            "m4", 1, [x], [y], 100, _point.DEFAULT_RIDGE, None, None, False, pad
        )
        assert _point._failures(first, pad)
    before = _cache_size()  # the control compiled the first attempt's program
    assert before is not None
    fit = fit_curve("m4", x, y)
    assert _cache_size() == before  # the retries reuse it
    assert fit.ridge > _point.DEFAULT_RIDGE  # the retry's ridge is recorded
    _finite_positive(fit, np.array([1e8, 1e12, 1e14]))
    np.testing.assert_allclose(fit.fitted, y, rtol=0.05)


# ---------------------------------------------------------------------------------------------
# batched prediction


def _point_fit(family, n_breaks=None, name=None, **params):
    return PointFit(family, params, 0.0, X, X, n_breaks=n_breaks, name=name)


PREDICT_FITS = [
    _point_fit("m1", beta=3.0, c=-0.2),
    _point_fit("m4", eps_inf=0.2, eps_0=0.9, alpha=1.5, beta=3e4, c=-0.8),
    _point_fit("m2", eps_inf=0.5, beta=20.0, c=-0.3),
    _point_fit("m3", beta=2.0, gamma=1e-7, c=0.15),
    _point_fit("bnsl", 0, a=0.1, b=5.0, c0=0.1),
    _point_fit("bnsl", 1, "one break", a=0.1, b=5.0, c0=0.1, c1=0.4, d1=1e6, f1=0.3),
    _point_fit("m4", eps_inf=0.0, eps_0=3.0, alpha=0.3, beta=2.0, c=-0.1),
    _point_fit("bnsl", 2, a=0.05, b=4.0, c0=0.1, c1=0.3, d1=1e4, f1=0.4, c2=-0.2, d2=1e7, f2=0.2),
]


def _numpy_reference(fit, x):
    """Closed forms in numpy for M1-M3 (M4 and BNSL: None, checked against the family)."""
    p = fit.params
    if fit.family == "m1":
        return p["beta"] * x ** p["c"]
    if fit.family == "m2":
        return p["eps_inf"] + p["beta"] * x ** p["c"]
    if fit.family == "m3":
        return p["beta"] * (1 / x + p["gamma"]) ** p["c"]
    return None


def test_predict_fits_equals_eager_family_evaluation():
    rng = np.random.default_rng(0)
    # sizes in several buckets, any shapes (scalar, 2-D, empty), families mixed and interleaved
    xs = [10 ** rng.uniform(0, 12, size) for size in (5, 9, 17, 3, 40, 1, 8, 12)]
    xs[3] = np.float64(2e5)
    xs[5] = np.empty(0)
    xs[6] = xs[6].reshape(2, 4)
    got = predict_fits(PREDICT_FITS, xs)
    assert len(got) == len(PREDICT_FITS)
    for fit, x, y in zip(PREDICT_FITS, xs, got, strict=True):
        assert y.shape == np.shape(x) and y.dtype == np.float64
        fam = get_family(fit.family, n_breaks=fit.n_breaks)
        with jax.enable_x64(True):
            eager = np.asarray(fam(jnp.asarray(x, dtype=jnp.float64), fit.params))
        # the same closed form (M4: a Newton solve to machine precision) compiled and vmapped
        # instead of op by op: rounding differs, nothing else
        np.testing.assert_allclose(y, eager, rtol=1e-9)
        ref = _numpy_reference(fit, np.asarray(x))
        if ref is not None:
            np.testing.assert_allclose(y, ref, rtol=1e-9)
        np.testing.assert_array_equal(fit.predict(x), y)  # one path for both


def test_predict_fits_is_exported():
    assert "predict_fits" in scalebayes.inference.__all__
    assert "predict_fits" in dir(scalebayes.inference)
    assert scalebayes.inference.predict_fits is _point.predict_fits


def _traces(events):
    return [e for e in events if "jaxpr_trace" in e]


def test_predict_does_not_retrace_for_same_bucketed_shapes():
    fit_a, fit_b = PREDICT_FITS[1], PREDICT_FITS[6]  # two M4 fits
    fit_a.predict(np.geomspace(1e3, 1e9, 5))  # compiles the (1 fit, 8 points) M4 bucket
    with _CompileEvents() as seen:
        fit_a.predict(np.geomspace(1e2, 1e10, 7))  # other x, same bucket
        fit_b.predict(np.array([[1e4, 1e5], [1e6, 1e7]]))  # other fit and shape, same bucket
        fit_a.predict(3e4)
    assert _traces(seen.events) == [], seen.events

    first = predict_fits(PREDICT_FITS[:3], [np.geomspace(1e3, 1e9, n) for n in (10, 16, 12)])
    assert len(first) == 3
    before = _point._predict_batch._cache_size()
    with _CompileEvents() as seen:
        # each family group has the same bucket as before: (1 fit, 16 points) for M1 and M2,
        # (1, 16) for M4; other values, order and lengths
        predict_fits(
            [PREDICT_FITS[2], PREDICT_FITS[0], PREDICT_FITS[6]],
            [np.geomspace(1e2, 1e8, n) for n in (9, 14, 16)],
        )
    assert _traces(seen.events) == [], seen.events
    assert _point._predict_batch._cache_size() == before
    # positive control: a bucket used nowhere else (16 M4 fits, 512 points) traces, and both
    # detectors see it
    with _CompileEvents() as seen:
        predict_fits([fit_a, fit_b] * 5, [np.geomspace(1e3, 1e9, 300)] * 10)
    assert _traces(seen.events), seen.events
    assert _point._predict_batch._cache_size() == before + 1


def test_predict_fits_validation():
    fits = PREDICT_FITS[:2]
    with pytest.raises(ValueError, match="2 fits but 1 x arrays"):
        predict_fits(fits, [X])
    with pytest.raises(TypeError, match=r"fits\[1\] is a dict, not a PointFit"):
        predict_fits([fits[0], {"beta": 1.0}], [X, X])
    for bad in ([1e3, 0.0], [-1.0], [np.nan], [np.inf]):
        with pytest.raises(ValueError, match=r"xs\[1\] \(fit 1\) must be finite and > 0"):
            predict_fits(fits, [X, np.asarray(bad)])
    with pytest.raises(ValueError, match=r"curve 'one break'.*finite"):
        predict_fits([PREDICT_FITS[5]], [[1e3, np.nan]])
    with pytest.raises(TypeError, match=r"xs\[0\] is not an array of numbers"):
        predict_fits(fits[:1], [["a", "b"]])
    # a review: one fit gave "'PointFit' object is not iterable", a number "'float' object
    # is not iterable"
    with pytest.raises(TypeError, match=r"fits must be a list of PointFits; for one fit pass"):
        predict_fits(fits[0], [X])
    with pytest.raises(TypeError, match=r"xs must hold one array of x per fit; got 1e\+21"):
        predict_fits(fits[:1], 1e21)


def test_prediction_beyond_float64_raises_instead_of_inf():
    # y = 1e300 x^-0.3 is finite for x >= 1e-27 but overflows below (1e300 * 1e9 at 1e-30)
    fit = _point_fit("m1", name="big", beta=1e300, c=-0.3)
    assert np.isfinite(fit.predict(1e-20))
    with pytest.raises(ValueError, match=r"curve 'big'\) is inf at x = 1e-30 .*float64"):
        fit.predict(np.array([1e3, 1e-30]))


def test_a_fit_prints_on_one_line():
    x = np.geomspace(1e3, 1e6, 71)
    fit = fit_curves("m2", [x], [1.5 + 30 * x**-0.3], names=["run"])[0]
    text = repr(fit)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("PointFit('run', m2, 71 points, loss ") and "c=-0.3" in text


def test_the_point_fit_docstring_lists_every_argument():
    """A re-read: a paragraph inserted among the Args dropped names and pad_to from the
    API docs (Google-style sections end at a dedented line)."""
    import inspect
    import re

    from scalebayes.inference import fit_curves

    doc = inspect.getdoc(fit_curves)
    args = doc.split("\nArgs:\n")[1].split("\n\n")[0].splitlines()
    heads = [line for line in args if not line.startswith("        ")]  # each argument's line
    assert all(re.match(r"    \w+: ", line) for line in heads), heads
    listed = [line.split(":")[0].strip() for line in heads]
    assert listed == list(inspect.signature(fit_curves).parameters), listed


def test_an_untested_break_is_said_in_python_too():
    """A new-user audit: BNSL on 6 noisy log-spaced runs put its untested break past the last
    run and answered 1.4e25 at 300x with no word in Python (the command line said it)."""
    from scalebayes.inference import UntestedBreakWarning, untested_break

    x = np.logspace(17, 20, 6)
    y = (1.7 + 1e3 * x**-0.15) * (1 + 0.005 * np.random.default_rng(0).standard_normal(6))
    with pytest.warns(UntestedBreakWarning, match=r"6 points are too few .* pass n_breaks=0") as w:
        fit = fit_curve("bnsl", x, y)
    assert w[0].filename == __file__ and untested_break(fit) and fit.n_breaks == 1
    plain = fit_curve("bnsl", x, y, n_breaks=0)  # chosen: no word
    assert not untested_break(plain)
    np.testing.assert_allclose(plain.predict(300 * x[-1]), 2.12, rtol=0.02)  # truth 2.13
    long = np.logspace(17, 20, 12)  # enough points to test a break: no word either
    assert not untested_break(fit_curve("bnsl", long, 1.7 + 1e3 * long**-0.15))


def test_a_rising_curve_is_named_once_per_call():
    """A new user's audit: an accuracy (rising with scale) given to fit_curve came back as M2
    passing 1 at 100x and M4 below the last run at every x, without a word (extrapolate and
    read_curves_csv named it)."""
    from scalebayes.data import RisingCurveWarning
    from scalebayes.ntk import fit_power_law

    x = 1e18 * 4.0 ** np.arange(5)
    accuracy = np.array([0.5, 0.6, 0.68, 0.74, 0.78])
    with pytest.warns(RisingCurveWarning, match=r"curve 0: y rises .* can pass 1\); .* 1 - acc"):
        fit_curve("m2", x, accuracy)
    with pytest.warns(RisingCurveWarning) as w:
        fit_curves("m4", [x] * 3, [accuracy, accuracy, 3 - accuracy], names=["a", "b", "c"])
    assert len(w) == 1 and w[0].filename == __file__
    assert str(w[0].message).startswith("curve 'a' (and 1 more curve): y rises at every one")
    fit_curves("m4", [x], [3 - accuracy])  # a loss: no word (warnings are errors here)
    # a statistic that grows with N is a power law all the same: no word from the NTK fits
    fit = fit_power_law(np.array([16, 32, 64, 128]), np.array([0.1, 0.12, 0.15, 0.18]))
    assert fit.alpha < 0
