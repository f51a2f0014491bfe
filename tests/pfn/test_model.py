"""The encoder's set semantics and attention mask, precision modes and configs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.pfn import CONFIGS, PFNConfig, PFNModel, count_parameters, get_config

TINY = CONFIGS["tiny"]


def _perturbed(model, seed=1, scale=0.05):
    """A model whose zero-initialised output projections are not zero (as after training)."""
    leaves, tree = jax.tree.flatten(model)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    leaves = [
        leaf + scale * jax.random.normal(k, leaf.shape) if isinstance(leaf, jax.Array) else leaf
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    return jax.tree.unflatten(tree, leaves)


@pytest.fixture(scope="module")
def model():
    return _perturbed(PFNModel(jax.random.PRNGKey(0), TINY))


def _slots(n_ctx, n_q, t, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros(t, np.float32)
    y = np.zeros(t, np.float32)
    x[:n_ctx] = np.sort(rng.uniform(0.01, 0.5, n_ctx))
    y[:n_ctx] = rng.uniform(0.2, 1.0, n_ctx)
    x[n_ctx : n_ctx + n_q] = rng.uniform(0.5, 1.0, n_q)
    ctx = np.arange(t) < n_ctx
    valid = np.arange(t) < n_ctx + n_q
    return jnp.asarray(x), jnp.asarray(y), jnp.asarray(ctx), jnp.asarray(valid)


def test_queries_do_not_see_each_other_and_padding_is_inert(model):
    x, y, ctx, valid = _slots(6, 5, 16)
    full = model(x, y, ctx, valid)
    # the first query alone, with everything else padding
    only = valid & ((jnp.arange(16) < 6) | (jnp.arange(16) == 6))
    alone = model(x, y, ctx, only)
    np.testing.assert_allclose(full[6], alone[6], atol=1e-5)
    # garbage in the padding slots changes nothing
    x2 = x.at[12:].set(0.77)
    y2 = y.at[12:].set(5.0)
    np.testing.assert_allclose(model(x2, y2, ctx, valid)[:11], full[:11], atol=1e-5)


def test_context_order_does_not_matter(model):
    x, y, ctx, valid = _slots(6, 3, 9)
    perm = jnp.asarray([4, 2, 0, 5, 1, 3, 6, 7, 8])
    a = model(x, y, ctx, valid)
    b = model(x[perm], y[perm], ctx[perm], valid[perm])
    np.testing.assert_allclose(a[6:], b[6:], atol=1e-5)


def test_queries_depend_on_context_y(model):
    x, y, ctx, valid = _slots(6, 3, 9)
    a = model(x, y, ctx, valid)
    b = model(x, y.at[:6].multiply(0.5), ctx, valid)
    assert float(jnp.max(jnp.abs(a[6:] - b[6:]))) > 1e-3
    # a query's own y slot is ignored
    c = model(x, y.at[7].set(123.0), ctx, valid)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_jit_matches_eager_and_bf16_is_close(model):
    x, y, ctx, valid = _slots(10, 6, 16)
    eager = model(x, y, ctx, valid)
    jitted = jax.jit(lambda m, *a: m(*a))(model, x, y, ctx, valid)
    np.testing.assert_allclose(eager, jitted, atol=1e-5)
    bf16 = model(x, y, ctx, valid, compute_dtype=jnp.bfloat16)
    assert bf16.dtype == jnp.float32
    rel = float(jnp.linalg.norm(bf16 - eager) / jnp.linalg.norm(eager))
    assert 1e-4 < rel < 3e-2  # bf16 operands: between 1e-3 and 1e-2 typically


def test_dropout_only_with_a_key():
    config = PFNConfig("drop", n_layers=1, d_model=16, n_heads=2, d_ff=16, n_buckets=8, dropout=0.5)
    model = _perturbed(PFNModel(jax.random.PRNGKey(0), config))
    x, y, ctx, valid = _slots(4, 2, 6)
    call = eqx.filter_jit(lambda m, key: m(x, y, ctx, valid, key=key))  # eager is ~10x slower
    a = call(model, None)
    np.testing.assert_allclose(a, call(model, None))
    b = call(model, jax.random.PRNGKey(3))
    assert float(jnp.max(jnp.abs(a - b))) > 1e-3


def test_zero_initialised_output_projections():
    model = PFNModel(jax.random.PRNGKey(0), TINY)
    for layer in model.layers:
        assert not np.any(np.asarray(layer.out.weight)) and not np.any(np.asarray(layer.ff2.weight))


def test_configs_and_parameter_counts():
    assert count_parameters(PFNModel(jax.random.PRNGKey(0), TINY)) > 0
    paper = CONFIGS["paper"]
    assert (paper.n_layers, paper.d_model, paper.n_heads, paper.d_ff) == (12, 512, 4, 1024)
    # count by formula: embeddings, 12 layers, decoder
    d, f, k = 512, 1024, 1000
    layer = 3 * d * d + 3 * d + d * d + d + 2 * d + d * f + f + f * d + d + 2 * d
    expected = 2 * (d + d) + 12 * layer + d * f + f + f * k + k
    shapes = jax.eval_shape(lambda: PFNModel(jax.random.PRNGKey(0), paper))
    counted = sum(int(np.prod(s.shape)) for s in jax.tree.leaves(shapes))
    assert counted == expected
    assert 26e6 < expected < 27e6  # NSL-PFN: about 26.8M
    assert get_config("small") is CONFIGS["small"]
    with pytest.raises(ValueError, match="unknown PFN config"):
        get_config("huge")
    with pytest.raises(ValueError, match="divisible"):
        PFNConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="n_layers"):
        PFNConfig(n_layers=0)
    assert PFNConfig.from_dict(paper.to_dict()) == paper
