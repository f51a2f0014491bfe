"""The scale-free inputs (``"log-relative"``, ``"log-log"``): query independence, scale
invariance, one encoding."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.pfn import PFN, BarDistribution, PFNModel, TrainConfig, get_config
from scalebayes.pfn._inputs import LOG_X_SCALE, LOG_Y_FLOOR, encode, normalise
from scalebayes.pfn._train import draw_curves, layout

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["log-relative", "log-log"])
def pfn(request):
    """An untrained scale-free tiny PFN (random weights make every input matter)."""
    config = dataclasses.replace(get_config("tiny"), input=request.param)
    model = PFNModel(jax.random.PRNGKey(3), config)
    # random, non-zero output projections so that every slot influences the logits
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(jax.random.PRNGKey(4), len(leaves))
    leaves = [
        leaf + 0.05 * jax.random.normal(k, leaf.shape) if eqx.is_inexact_array(leaf) else leaf
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    model = jax.tree.unflatten(tree, leaves)
    return PFN(model, BarDistribution(np.linspace(0.0, 2.0, config.n_buckets + 1)))


def _curve():
    x = np.geomspace(1.3e16, 2.0e19, 5)
    return x, 3.0 * (x / x[0]) ** -0.07


@pytest.mark.filterwarnings("ignore::scalebayes.pfn.ReachWarning")  # 1e25: far on purpose
def test_a_prediction_never_changes_when_other_queries_are_added(pfn):
    x, y = _curve()
    alone = pfn.predict(x, y, [2.5e20])
    crowd = pfn.predict(x, y, [5.7e21, 2.5e20, 1e25, 3e19])
    np.testing.assert_allclose(crowd.median()[1], alone.median()[0], rtol=1e-5)
    np.testing.assert_allclose(
        crowd.quantile([0.05, 0.95])[:, 1], alone.quantile([0.05, 0.95])[:, 0], rtol=1e-5
    )


def test_units_of_x_and_y_do_not_matter(pfn):
    x, y = _curve()
    base = pfn.predict(x, y, [2.5e20, 5.7e21])
    moved = pfn.predict(x * 1e-12, y * 7e4, [2.5e8, 5.7e9])
    np.testing.assert_allclose(moved.median() / 7e4, base.median(), rtol=1e-5)
    np.testing.assert_allclose(
        moved.log_prob(base.median() * 7e4), base.log_prob(base.median()) - np.log(7e4), rtol=1e-5
    )


def test_host_encoding_matches_the_training_layout():
    """The predictor and the train step see the same numbers for the same curve."""
    config = TrainConfig(model="tiny", prior="scalefree", steps=2, batch_size=4)
    batch = draw_curves(config, jax.random.PRNGKey(0), 4, config.n_points)
    x, y, context, valid, _ = layout(batch, jax.random.PRNGKey(1), 0.0, config.input)
    i = 2
    n, length = int(batch.context_size[i]), int(batch.mask[i].sum())
    xc, yc = np.asarray(batch.x[i, :n]), np.asarray(batch.y[i, :n])
    # an independent computation of the documented encoding
    np.testing.assert_allclose(
        np.asarray(x[i, :length]), np.log10(batch.x[i, :length] / xc.max()), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(np.asarray(y[i, :n]), yc / yc.max(), rtol=1e-6)
    assert np.asarray(context[i]).sum() == n and np.asarray(valid[i]).sum() == length
    assert LOG_X_SCALE > 0


@pytest.mark.parametrize("name", ["log-relative", "log-log", "nslpfn"])
def test_numpy_encoding_is_the_training_formula(name):
    """Predictions encode on the host with NumPy (a review: JAX compiled 5 programs for every
    new number of slots, 0.14-0.7 s a first call); training encodes with JAX under jit."""
    rng = np.random.default_rng(0)
    for n, q in ((3, 1), (17, 5), (64, 64)):
        x = np.sort(10 ** rng.uniform(-5, 5, n + q)).astype(np.float32)
        y = rng.uniform(0.0, 3.0, n + q).astype(np.float32)
        ctx = np.arange(n + q) < n
        valid = np.arange(n + q) < n + q - 1  # one padded slot
        host = encode(name, x, y, ctx, valid, xp=np)
        device = jax.jit(lambda a, b, c, d: encode(name, a, b, c, d))(x, y, ctx, valid)
        for h, d in zip(host, device, strict=True):
            assert np.asarray(h).dtype == np.float32
            np.testing.assert_allclose(h, np.asarray(d), rtol=1e-6, atol=2e-6)


def test_all_zero_context_has_unit_reference():
    x = jnp.array([1.0, 2.0, 4.0])
    _, y_enc, y_ref = encode(
        "log-relative", x, jnp.zeros(3), jnp.array([1, 1, 0], bool), jnp.ones(3, bool)
    )
    assert float(y_ref) == 1.0 and np.all(np.asarray(y_enc) == 0)


def test_log_log_adds_the_log_of_relative_y():
    y_enc = jnp.array([1.0, 0.8, 0.25, 0.0])
    x_enc = jnp.array([0.0, -0.5, -1.0, -2.0])
    xn, yn = normalise("log-log", x_enc, y_enc)
    xr, yr = normalise("log-relative", x_enc, y_enc)
    assert xn.shape == (4, 1) and yn.shape == (4, 2) and yr.shape == (4, 1)
    np.testing.assert_array_equal(np.asarray(xn), np.asarray(xr))
    np.testing.assert_array_equal(np.asarray(yn[:, :1]), np.asarray(yr))
    expected = np.log(np.maximum([1.0, 0.8, 0.25, 0.0], LOG_Y_FLOOR))
    np.testing.assert_allclose(np.asarray(yn[:, 1]), expected, rtol=1e-6)
    # a power law is a straight line in the log feature against encoded x
    x = np.geomspace(1.0, 1e4, 5)
    y = 3.0 * x**-0.3
    x_enc, y_enc, _ = encode(
        "log-log", jnp.asarray(x), jnp.asarray(y), jnp.ones(5, bool), jnp.ones(5, bool)
    )
    _, yn = normalise("log-log", x_enc, y_enc)
    slopes = np.diff(np.asarray(yn[:, 1])) / np.diff(np.asarray(x_enc))
    np.testing.assert_allclose(slopes, -0.3 * np.log(10.0), rtol=1e-5)


def test_train_config_validates_prior_and_input():
    assert TrainConfig(prior="scalefree").input == "log-relative"
    assert TrainConfig().input == "nslpfn"
    assert TrainConfig(prior="mixture").model_config.input == "log-relative"
    assert TrainConfig(prior="mixture", input="log-log").model_config.input == "log-log"
    with pytest.raises(ValueError, match="prior"):
        TrainConfig(prior="uniform")
    with pytest.raises(ValueError, match="log-relative"):
        TrainConfig(prior="scalefree", input="nslpfn")
    with pytest.raises(ValueError, match="prior_mix"):
        TrainConfig(prior="mixture", prior_mix=1.5)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
    with pytest.raises(ValueError, match="input"):
        TrainConfig(input="linear")


@pytest.mark.slow
def test_mixture_batches_hold_both_priors():
    config = TrainConfig(model="tiny", prior="mixture", prior_mix=0.25, steps=2, batch_size=8)
    batch = draw_curves(config, jax.random.PRNGKey(0), 8, config.n_points)
    x, mask = np.asarray(batch.x), np.asarray(batch.mask)
    n_ctx = np.asarray(batch.context_size)
    x_ctx_max = x[np.arange(8), n_ctx - 1]
    # the first round(0.25 * 8) = 2 curves are scale-free (largest context x exactly 1), the
    # rest NSL-PFN (x in [0.01, 1], so the grid ends at 1 after the context)
    np.testing.assert_allclose(x_ctx_max[:2], 1.0, rtol=1e-6)
    assert np.all(x_ctx_max[2:] < 1.0)
    assert np.all(x[2:][mask[2:]] >= 0.01 - 1e-7)


def test_warm_start_refuses_another_size(pfn, tmp_path):
    from scalebayes.pfn import train

    start = pfn.save(tmp_path / "start")
    with pytest.raises(ValueError, match=r"is a 'tiny' model and this run trains 'small' \(n_"):
        train(
            TrainConfig(model="small", prior="scalefree"),
            tmp_path / "run",
            init_from=start,
            progress=False,
            log=None,
        )


def _run_recipe(tmp_path, args: list[str], timeout: int, **env: str):
    """``benchmarks/gpu_train.sh`` on the CPU with a few steps, into ``tmp_path``."""
    env = {
        **os.environ,
        "OUT": str(tmp_path / "out"),
        "RUN": str(tmp_path / "runs" / "gpu"),
        "STEPS": "3",
        "PYTHON": sys.executable,
        "ALLOW_CPU": "1",
        **env,
    }
    return subprocess.run(
        ["bash", "benchmarks/gpu_train.sh", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_gpu_recipe_refuses_to_start_training_it_cannot_export(tmp_path):
    """gpu_train.sh keeps RESERVE seconds before DEADLINE for the export: with less time
    than that left it trains nothing and exits 3 (not 124, which reads as a killed call)."""
    (tmp_path / "runs" / "gpu" / "checkpoint").mkdir(parents=True)  # an earlier call's run
    done = _run_recipe(tmp_path, ["120", "--config", "tiny"], 300, DEADLINE="70", RESERVE="60")
    assert done.returncode == 3, done.stderr[-3000:]
    assert "no time to train" in done.stdout
    assert not (tmp_path / "runs" / "gpu").exists()  # never exported by a later call


@pytest.mark.slow
def test_gpu_recipe_dry_run_on_cpu(tmp_path):
    """benchmarks/gpu_train.sh end to end with a few steps: train, EMA, export, evaluate."""
    done = _run_recipe(
        tmp_path,
        [
            *("120", "--config", "tiny", "--prior", "mixture"),
            *("--scalefree-set", "break_prob=0.25"),  # prior settings pass through the recipe
        ],
        3000,
        BATCH="8",
        DTYPE="float32",
        WEIGHTS_DTYPE="bfloat16",
        # the GPU call's 570 s deadline made the recipe skip the generators' timing on a
        # loaded 2-core CPU (a fresh clone's slow run beside another job, 2026-12-07): the
        # dry run checks what the recipe does, not how fast this machine is
        DEADLINE="2700",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out"
    assert (out / "weights" / "meta.json").exists() and (out / "training_curve.png").exists()
    # bfloat16 ships, the float32 export comes back beside it; both say where they trained
    meta = json.loads((out / "weights" / "meta.json").read_text())
    full = json.loads((out / "weights-f32" / "meta.json").read_text())
    assert meta["storage_dtype"] == "bfloat16" and full.get("storage_dtype", "float32") == "float32"
    assert meta["device"] == full["device"] and meta["jax"] == full["jax"]
    table = (out / "eval.md").read_text()
    assert "far10" in table and "IC" in table
    assert "| mixture |" in table and "share of this run's step" in table  # generators timed
    synthetic = table[table.index("cells: RMSLE / mean log(median / truth)") :]
    assert "| PFN mixture-tiny |" in synthetic and "300x" in synthetic
    assert synthetic.count("| PFN ") == 2 and "point fit" not in synthetic
    # what comes back from the GPU machine: at most 8 files
    assert sum(1 for p in out.rglob("*") if p.is_file()) <= 8
    loaded = PFN.load(out / "weights")
    assert loaded.config.input == "log-relative" and loaded.meta.get("weights") == "ema"
    assert loaded.meta["storage_dtype"] == "bfloat16"  # WEIGHTS_DTYPE reaches the export
    assert loaded.meta["train_config"]["scalefree_overrides"] == {"break_prob": 0.25}
