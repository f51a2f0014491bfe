"""Scaling studies and the ``scalebayes ntk-study`` command."""

import json

import jax
import numpy as np
import pytest

from scalebayes import precision
from scalebayes.cli import main
from scalebayes.ntk import (
    Dataset,
    MLPConfig,
    calorimeter_showers,
    infinite_ensemble,
    infinite_width_study,
    log_sizes,
    loss_statistics,
    run_ntk_study,
)


@pytest.fixture(scope="module")
def split():
    return calorimeter_showers(400, seed=0).split(60, seed=0)


def test_log_sizes():
    np.testing.assert_array_equal(log_sizes(32, 2048), [32, 64, 128, 256, 512, 1024, 2048])
    np.testing.assert_array_equal(log_sizes(32, 1297), [32, 64, 128, 256, 512, 1024, 1297])
    assert log_sizes(10, 1000, 3).tolist() == [10, 100, 1000]
    with pytest.raises(ValueError, match="lo < hi"):
        log_sizes(64, 32)
    with pytest.raises(ValueError, match=r"number of sizes \(--n-sizes\) must be an integer"):
        log_sizes(2, 10, 2.5)
    with pytest.raises(ValueError, match=r"sizes above 1e\+09 are not training-set sizes"):
        log_sizes(2, 10**30)


def test_study_matches_the_direct_computation(split):
    pool, test = split
    config = MLPConfig(depth=2)
    curve = infinite_width_study(config, pool, test, [16, 64])
    with precision("float64"):
        for i, n in enumerate((16, 64)):
            pred = infinite_ensemble(config, pool.x[:n], pool.y[:n], test.x, diag_reg=1e-10)
            s = loss_statistics(pred, test.y)
            assert curve.mu[i] == pytest.approx(float(s.mu), rel=1e-8)
            assert curve.sigma[i] == pytest.approx(float(s.sigma), rel=1e-8)
    np.testing.assert_allclose(curve.eps, curve.sigma / curve.mu)
    assert curve.mu[1] < curve.mu[0]  # more data, lower loss


def test_redrawn_training_sets_add_variance_by_the_law_of_total_variance(split):
    pool, test = split
    config = MLPConfig(depth=1)
    curve = infinite_width_study(config, pool, test, [16, 32], n_draws=np.int64(6), seed=1)
    assert np.all(curve.sigma > curve.sigma_init)
    assert np.all(curve.eps_se > 0)
    # by hand: mean over draws of mu, and E[sigma^2] + Var[mu]
    rng = np.random.default_rng(1)
    stats = []
    with precision("float64"):
        for _ in range(6):
            idx = np.sort(rng.choice(len(pool), 16, replace=False))
            pred = infinite_ensemble(config, pool.x[idx], pool.y[idx], test.x, diag_reg=1e-10)
            s = loss_statistics(pred, test.y)
            stats.append((float(s.mu), float(s.sigma)))
    stats = np.array(stats)
    assert curve.mu[0] == pytest.approx(stats[:, 0].mean(), rel=1e-8)
    total = np.sqrt(np.mean(stats[:, 1] ** 2) + stats[:, 0].var(ddof=1))
    assert curve.sigma[0] == pytest.approx(total, rel=1e-8)


def test_sizes_are_validated(split):
    pool, test = split
    with pytest.raises(ValueError, match="exceeds the training pool"):
        infinite_width_study(MLPConfig(), pool, test, [16, 1000])
    with pytest.raises(ValueError, match="increasing"):
        infinite_width_study(MLPConfig(), pool, test, [64, 16])


def test_infinite_width_study_tables_and_plot(split, tmp_path):
    """The study users run (infinite width only, the default), its tables and its plot."""
    pool, _ = split
    data = Dataset("toy", "regression", pool.x, pool.y)
    study = run_ntk_study(MLPConfig(depth=1), data, np.array([16, 32]), n_test=30)
    assert [c.label for c in study.curves] == ["infinite"]
    (curve,) = study.curves
    assert np.all(np.isfinite(curve.mu)) and np.all(curve.sigma > 0)
    assert "infinite" in study.table()
    study.plot(tmp_path / "ntk.png")
    assert (tmp_path / "ntk.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # the twin re-runs the study; test_study_matches_the_direct_computation covers it
def test_full_study_with_a_finite_width_and_its_twin(split, tmp_path):
    pool, _ = split
    data = Dataset("toy", "regression", np.concatenate([pool.x]), np.concatenate([pool.y]))
    study = run_ntk_study(
        MLPConfig(depth=1),
        data,
        np.array([16, 32, 64]),
        n_test=50,
        widths=[256],
        learning_rates=[1.0],
        steps=200,
        n_members=16,
    )
    labels = [c.label for c in study.curves]
    assert labels == ["infinite", "infinite, lr 1, t = 200", "width 256, lr 1"]
    twin, finite = study.curves[1], study.curves[2]
    # a width-256 ensemble tracks its infinite-width twin at the same t, within the Monte
    # Carlo error of 16 members (from the twin's sigma: the losses are skewed, eps_L ~ 1, so
    # the members' own spread can underestimate it) and a finite-width bias
    se = twin.sigma / np.sqrt(finite.n_members)
    assert np.all(np.abs(finite.mu - twin.mu) < 4 * se + 0.1 * twin.mu)
    assert np.all(finite.mu_se > 0) and np.all(finite.eps_se > 0)
    assert np.all(finite.train_mse < 1.0)
    table, fits = study.table(), study.fits_table()
    assert "width 256, lr 1" in table and "alpha_mu" in fits
    study.plot(tmp_path / "ntk.png")
    assert (tmp_path / "ntk.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # 12 s; the study and its plot run by default above (infinite width), the
# CLI's errors in tests/test_cli_errors.py
def test_cli_runs_and_writes_the_plot(tmp_path, capsys):
    out = tmp_path / "ntk.png"
    code = main(
        [
            "ntk-study",
            "--dataset",
            "calorimeter",
            "--calorimeter-n",
            "300",
            "--n-test",
            "50",
            "--sizes",
            "16:1000",
            "--depth",
            "1",
            "--widths",
            "32",
            "--members",
            "4",
            "--steps",
            "20",
            "--finite-max-size",
            "32",
            "--plot",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "infinite" in printed and "eps_L" in printed and "alpha_mu" in printed
    assert "sizes capped at 250" in printed
    assert any(line.split()[:2] == ["infinite", "250"] for line in printed.splitlines())
    assert "note: learning rates 0.5 and 0.25 of the largest stable rate" in printed
    assert "width 32, lr" in printed
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_cli_says_when_a_rerun_reads_its_curves_back(tmp_path, capsys):
    """A new user's audit: a rerun of `ntk-study --out DIR` read its finished curves back
    without a word, so its instant answer looked like a computation."""
    argv = ["ntk-study", "--dataset", "calorimeter", "--calorimeter-n", "120", "--n-test", "30"]
    argv += ["--sizes", "4:16", "--depth", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "read back" not in capsys.readouterr().out
    assert main(argv) == 0
    assert f"note: 1 of 1 curves read back from {tmp_path}, finished by an earlier run" in (
        capsys.readouterr().out
    )
    # a review: a curve file edited by hand (a NaN, a negative eps, a shortened array) was
    # printed as a result, or raised IndexError; such a file is made again
    (path,) = tmp_path.glob("curve-*.json")
    good = json.loads(path.read_text())
    for edit in (
        lambda c: c["mu"].__setitem__(1, float("nan")),
        lambda c: c["eps"].__setitem__(0, -5.0),
        lambda c: c.__setitem__("mu", c["mu"][:2]),
        lambda c: c.__setitem__("sizes", [v + 1 for v in c["sizes"]]),
        # a second review: a plausible mu_L was printed beside the old eps_L = sigma_L / mu_L
        lambda c: c["mu"].__setitem__(0, 5.0),
    ):
        bad = json.loads(json.dumps(good))
        edit(bad["curve"])
        path.write_text(json.dumps(bad))
        assert main(argv) == 0
        assert "read back" not in capsys.readouterr().out
        assert json.loads(path.read_text())["curve"]["mu"] == good["curve"]["mu"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "digits", "--sizes", "2000:4096"], "not below the 1297 training points"),
        (["--dataset", "digits", "--sizes", "64:32"], "LO:HI"),
        (["--npz", "missing.npz", "--task", "regression"], "cannot read"),
        (["--npz", "x.npz"], "--task"),
        (["--dataset", "digits", "--task", "regression"], "--task describes an --npz file"),
        (["--dataset", "digits", "--plot", "afile/p.png"], "afile is a file, so"),
        (["--dataset", "digits", "--W-std", "1e300"], "--W-std"),
        (["--dataset", "digits", "--b-std", "-1"], "--b-std"),
        (
            ["--dataset", "digits", "--sizes", "32:64", "--W-std", "1e60"],
            "lower W_std or b_std (--W-std, --b-std)",
        ),
        (  # a review: b_std's overflow was blamed on W_std alone
            ["--dataset", "digits", "--sizes", "32:64", "--b-std", "1e80"],
            "b_std = 1e+80",
        ),
        (["--dataset", "digits", "--b-std", "1e300"], "--b-std"),
        (["--dataset", "digits", "--steps", "5"], "--steps applies only to the finite-width"),
        (
            ["--dataset", "calorimeter", "--calorimeter-n", "1"],
            "--calorimeter-n must be at least 2",
        ),
        (["--dataset", "digits", "--widths", ","], "expected comma-separated positive integers"),
        (
            ["--dataset", "digits", "--n-test", "1795", "--sizes", "2:8", "--draws", "2"],
            "not below the 1 training points a size can use",
        ),
    ],
)
def test_cli_bad_input_is_one_line_with_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    assert main(["ntk-study", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_study_with_an_out_dir_resumes_from_its_finished_curves(tmp_path, monkeypatch):
    """Each curve is written as it finishes; a rerun reads them back (nothing recomputed, the
    same numbers), and a changed setting recomputes the curves it changes."""
    import scalebayes.ntk._report as report

    data = calorimeter_showers(120, seed=0)
    # NumPy scalars where Python numbers would do: stored as JSON all the same
    kwargs = dict(n_test=30, widths=[np.int64(8)], learning_rates=[np.float32(0.1)], steps=5)
    kwargs["n_members"] = 2
    first = run_ntk_study(MLPConfig(depth=1), data, [4, 8, 16], out_dir=tmp_path, **kwargs)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and all(n.startswith("curve-") and n.endswith(".json") for n in names)

    def refuse(*args, **kw):
        raise AssertionError("recomputed a finished curve")

    monkeypatch.setattr(report, "infinite_width_study", refuse)
    monkeypatch.setattr(report, "finite_width_study", refuse)
    again = run_ntk_study(MLPConfig(depth=1), data, [4, 8, 16], out_dir=tmp_path, **kwargs)
    for a, b in zip(first.curves, again.curves, strict=True):
        assert a.label == b.label and a.width == b.width and a.n_members == b.n_members
        for name in ("sizes", "mu", "sigma", "eps", "mu_se", "sigma_se", "eps_se"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert again.table() == first.table()
    assert (first.n_resumed, again.n_resumed) == (0, 3)
    with pytest.raises(AssertionError, match="recomputed"):  # another width: that curve again
        run_ntk_study(
            MLPConfig(depth=1), data, [4, 8, 16], out_dir=tmp_path, **{**kwargs, "widths": [16]}
        )
    with pytest.raises(ValueError, match="is a file; give a directory"):
        run_ntk_study(MLPConfig(depth=1), data, [4, 8], out_dir=tmp_path / names[0])
    with pytest.raises(ValueError, match=r"rtol \(--rtol\) must be a finite number > 0"):
        run_ntk_study(MLPConfig(depth=1), data, [4, 8], rtol=-1.0)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 2"):
        first.fits_table(n_boot=1)
    with pytest.raises(ValueError, match="level"):
        first.fits_table(level=7)


def test_a_study_shows_its_progress_curve_by_curve(tmp_path, monkeypatch):
    """A review: `ntk-study` was silent for 30 s and more; it now names each curve it computes
    on a progress bar (tqdm's, on stderr) and counts it when done."""
    import tqdm.auto

    seen = []

    class Recorder:
        def __init__(self, total, **kwargs):
            seen.append(("total", total, kwargs.get("desc")))

        def set_postfix_str(self, text, refresh=True):
            seen.append(("now", text))

        def update(self, n=1):
            seen.append(("done", n))

        def close(self):
            seen.append(("closed",))

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    data = calorimeter_showers(120, seed=0)
    kwargs = dict(n_test=30, widths=[8], learning_rates=[0.1], steps=5, n_members=2)
    run_ntk_study(MLPConfig(depth=1), data, [4, 8, 16], progress=True, **kwargs)
    assert seen == [
        ("total", 3, "ntk-study"),
        ("now", "infinite width, 3 sizes"),
        ("done", 1),
        ("now", "infinite width, lr 0.1, 3 sizes"),
        ("done", 1),
        ("now", "width 8, lr 0.1, 3 sizes"),
        ("done", 1),
        ("closed",),
    ]


def test_finite_width_bootstrap_follows_the_key(split, monkeypatch):
    """The members' bootstrap standard errors are drawn from the study's key, not a fixed seed:
    with the members' losses held fixed, two keys give two bootstraps, one key the same."""
    from scalebayes.ntk import _study, finite_width_study

    fixed = _study.init_ensemble
    monkeypatch.setattr(
        _study, "init_ensemble", lambda key, *a: fixed(jax.random.key(0), *a)
    )  # the same members whatever the key
    pool, test = split

    def run(seed):
        return finite_width_study(
            jax.random.key(seed),
            MLPConfig(depth=1),
            16,
            pool,
            test,
            [16],
            learning_rate=0.5,
            steps=2,
            n_members=4,
        )

    a, b, c = run(0), run(1), run(0)
    np.testing.assert_array_equal(a.mu, b.mu)  # the members did not move
    assert a.sigma_se[0] != b.sigma_se[0]
    assert a.sigma_se[0] == c.sigma_se[0]
