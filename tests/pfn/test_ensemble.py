"""PFN ensembles: the mixture of the members' predictives, saved and loaded as one PFN."""

import dataclasses

import equinox as eqx
import jax
import numpy as np
import pytest

from scalebayes.cli import main
from scalebayes.pfn import (
    PFN,
    BarDistribution,
    EnsembleModel,
    PFNModel,
    TrainConfig,
    ensemble,
    get_config,
    train,
)

# one worker runs this file and test_train.py (one compiled train step; see tests/conftest.py)
pytestmark = pytest.mark.xdist_group("pfn-train-step")

CONFIG = dataclasses.replace(get_config("tiny"), input="log-relative")
BORDERS = np.linspace(0.0, 2.0, CONFIG.n_buckets + 1)
X = np.geomspace(1e16, 1e19, 5)
Y = 3.0 * (X / X[0]) ** -0.07
QUERIES = X[-1] * np.array([3.0, 30.0, 300.0])


def _member(seed, borders=BORDERS, config=CONFIG):
    """An untrained PFN with random, non-zero weights everywhere (members differ by seed)."""
    model = PFNModel(jax.random.PRNGKey(seed), config)
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(jax.random.PRNGKey(100 + seed), len(leaves))
    leaves = [
        leaf + 0.05 * jax.random.normal(k, leaf.shape) if eqx.is_inexact_array(leaf) else leaf
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    return PFN(jax.tree.unflatten(tree, leaves), BarDistribution(borders))


@pytest.fixture(scope="module")
def members():
    return [_member(seed) for seed in (1, 2, 3)]


def test_density_is_the_members_average(members):
    both = ensemble(*members[:2])
    y = np.array([2.0, 1.5, 2.5])  # in the bars and, for some members, in a tail
    parts = [m.predict(X, Y, QUERIES).log_prob(y) for m in members[:2]]
    expected = np.log(np.mean(np.exp(parts), axis=0))
    np.testing.assert_allclose(both.predict(X, Y, QUERIES).log_prob(y), expected, atol=1e-5)


def test_quantiles_invert_the_members_average_cdf(members):
    """Independent reference: the members' CDFs from their own bars, averaged."""
    both = ensemble(*members[:2])
    pred = both.predict(X, Y, QUERIES)
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    q = pred.quantile(levels) / pred.y_scale  # (levels, queries), in the bars' y
    for member in members[:2]:
        assert member.predict(X, Y, QUERIES).y_scale == pytest.approx(pred.y_scale)
    cdf = np.mean(
        [np.asarray(m.bar.cdf(m.predict(X, Y, QUERIES).logits[None], q)) for m in members[:2]],
        axis=0,
    )
    np.testing.assert_allclose(cdf, np.broadcast_to(levels[:, None], cdf.shape), atol=2e-4)
    lo, hi = np.sort([m.predict(X, Y, QUERIES).median() for m in members[:2]], axis=0)
    assert np.all((lo - 1e-6 <= pred.median()) & (pred.median() <= hi + 1e-6))


def test_one_model_twice_is_that_model(members):
    twice = ensemble(members[0], members[0]).predict(X, Y, QUERIES)
    once = members[0].predict(X, Y, QUERIES)
    levels = [0.05, 0.5, 0.95]
    np.testing.assert_allclose(twice.quantile(levels), once.quantile(levels), rtol=1e-5)


def test_nested_ensembles_flatten(members):
    nested = ensemble(ensemble(*members[:2]), members[2])
    flat = ensemble(*members)
    assert len(nested.model.members) == 3 and len(nested.meta["members"]) == 3
    np.testing.assert_allclose(
        nested.predict(X, Y, QUERIES).quantile([0.1, 0.9]),
        flat.predict(X, Y, QUERIES).quantile([0.1, 0.9]),
        rtol=1e-6,
    )


def test_save_and_load_round_trip(members, tmp_path):
    trio = ensemble(*members)
    path = trio.save(tmp_path / "trio")
    back = PFN.load(path)
    assert isinstance(back.model, EnsembleModel) and len(back.model.members) == 3
    assert back.reach == trio.reach == members[0].reach
    np.testing.assert_array_equal(
        back.predict(X, Y, QUERIES).logits, trio.predict(X, Y, QUERIES).logits
    )


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda m: ensemble(m[0]), ValueError, "at least two models"),
        (lambda m: ensemble(m[0], "mixture-tiny"), TypeError, "must be PFN models"),
        (
            lambda m: ensemble(m[0], _member(5, borders=BORDERS * 1.1)),
            ValueError,
            "--borders-from",
        ),
        (
            lambda m: ensemble(m[0], _member(5, config=dataclasses.replace(CONFIG, d_ff=64))),
            ValueError,
            "one size and input",
        ),
        (
            lambda m: ensemble(m[0], PFN(m[1].model, m[1].bar, {"interpolation": True})),
            ValueError,
            "interpolation or reach",
        ),
    ],
)
def test_members_that_cannot_be_averaged_are_refused(members, make, error, message):
    with pytest.raises(error, match=message):
        make(members)


def test_a_run_on_another_models_borders_trains_an_ensemble_member(members, tmp_path):
    donor = members[0].save(tmp_path / "donor")
    # test_train.py's run (one step of it): the same train step, compiled once in the run
    config = TrainConfig(
        model="tiny",
        steps=4,
        batch_size=8,
        n_points=32,
        log10_length_range=(1.0, 1.5),
        border_curves=200,
        checkpoint_every=2,
        lr=3e-3,
        prior="scalefree",
        scalefree_overrides={"length_range": (3, 32)},
    )
    path = train(
        config, tmp_path / "run", borders_from=donor, max_steps=1, progress=False, log=None
    )
    member = PFN.load(path)
    np.testing.assert_array_equal(member.bar.borders, members[0].bar.borders)
    assert member.meta["training"]["borders_from"] == str(donor)
    pair = ensemble(members[0], member)
    assert np.all(np.isfinite(pair.predict(X, Y, QUERIES).median()))
    with pytest.raises(ValueError, match="is an ensemble"):  # not a warm start
        train(config, tmp_path / "warm", init_from=pair.save(tmp_path / "pair"), log=None)
    with pytest.raises(ValueError, match="give borders_from alone"):
        train(config, tmp_path / "both", init_from=donor, borders_from=donor, log=None)
    small = TrainConfig(model="small", prior="scalefree")
    with pytest.raises(ValueError, match="buckets"):
        train(small, tmp_path / "other", borders_from=donor, log=None)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--borders-from", ""], "--borders-from needs a checkpoint"),
        (["--borders-from", "mixture-tiny", "--init-from", "mixture-tiny"], "give one of them"),
    ],
)
def test_cli_borders_from_is_checked(tmp_path, capsys, extra, message):
    argv = ["train-pfn", "--config", "tiny", "--steps", "2", "--out", str(tmp_path / "r")]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
