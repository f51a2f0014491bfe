"""Bucketed eager draws (``scalebayes._random``): the numbers of a direct draw, fewer programs."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes._random import draw_choice, draw_normal, draw_randint, draw_uniform

SHAPES = [(), (1,), (5,), (3, 4), (17, 2), (0, 3), (2, 0)]
P = np.array([0.1, 0.6, 0.3])


def _direct(kind, key, shape):
    if kind == "normal":
        return jax.random.normal(key, shape)
    if kind == "uniform":
        return jax.random.uniform(key, shape, minval=-1.0, maxval=2.0)
    if kind == "randint":
        return jax.random.randint(key, shape, 0, 9)
    return jax.random.choice(key, 3, shape, p=P)


def _bucketed(kind, key, shape):
    if kind == "normal":
        return draw_normal(key, shape)
    if kind == "uniform":
        return draw_uniform(key, shape, -1.0, 2.0)
    if kind == "randint":
        return draw_randint(key, shape, 0, 9)
    return draw_choice(key, 3, shape, P)


@pytest.mark.parametrize("kind", ["normal", "uniform", "randint", "choice"])
@pytest.mark.parametrize("make_key", [jax.random.key, jax.random.PRNGKey], ids=["typed", "raw"])
def test_a_bucketed_draw_is_the_direct_draw(kind, make_key):
    key = make_key(3)
    for shape in SHAPES:
        got, want = _bucketed(kind, key, shape), np.asarray(_direct(kind, key, shape))
        assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_dtypes_follow_the_argument_and_float64():
    key = jax.random.key(0)
    assert draw_normal(key, (4,), jnp.float32).dtype == np.float32
    with jax.enable_x64(True):
        got = draw_normal(key, (7, 3), jnp.float64)
        np.testing.assert_array_equal(got, np.asarray(jax.random.normal(key, (7, 3), jnp.float64)))
        assert got.dtype == np.float64


def test_other_generators_and_traces_draw_the_shape_itself():
    rbg = jax.random.key(1, impl="rbg")  # no prefix identity promised: drawn directly
    np.testing.assert_array_equal(
        draw_normal(rbg, (3, 5)), np.asarray(jax.random.normal(rbg, (3, 5)))
    )
    old = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", False)
    try:
        key = jax.random.key(2)
        np.testing.assert_array_equal(
            draw_randint(key, (6,), 0, 4), np.asarray(jax.random.randint(key, (6,), 0, 4))
        )
    finally:
        jax.config.update("jax_threefry_partitionable", old)
    # under a trace the helpers return JAX's own traced draw
    key = jax.random.key(0)
    got = jax.jit(lambda k: draw_normal(k, (3, 2)))(key)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(jax.random.normal(key, (3, 2))))
    keys = jax.random.split(key, 2)
    got = jax.vmap(lambda k: draw_uniform(k, (5,), -1.0, 2.0))(keys)
    want = jax.vmap(lambda k: jax.random.uniform(k, (5,), minval=-1.0, maxval=2.0))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_bounds_that_broadcast_against_the_shape():
    key = jax.random.key(4)
    low, high = np.zeros(3), np.array([1.0, 5.0, 9.0])
    np.testing.assert_array_equal(
        draw_uniform(key, (2, 3), low, high),
        np.asarray(jax.random.uniform(key, (2, 3), minval=low, maxval=high)),
    )
    np.testing.assert_array_equal(
        draw_randint(key, (4, 3), 0, np.array([1, 5, 9])),
        np.asarray(jax.random.randint(key, (4, 3), 0, np.array([1, 5, 9]))),
    )


def test_a_draw_does_not_keep_its_bucket_alive():
    got = draw_normal(jax.random.key(5), (5,))  # drawn as 16 values
    assert got.base is None or got.base.size == got.size


def test_something_else_than_a_key_gets_jaxs_own_error():
    with pytest.raises(TypeError):
        draw_normal(0, (3,))


def test_bucket_sizes():
    from scalebayes._shapes import bucket

    assert [bucket(n, 1) for n in range(10)] == [1, 1, 2, 4, 4, 8, 8, 8, 8, 16]
    assert [bucket(n, 16) for n in (0, 1, 16, 17)] == [16, 16, 16, 32]


def test_shapes_of_one_bucket_share_one_compiled_program():
    """The point: a draw of a new shape in a bucket already drawn compiles nothing."""
    key = jax.random.key(11)
    draw_normal(key, (5, 3))  # a 16-value bucket
    compiled = []

    class Count(logging.Handler):
        def emit(self, record):
            # tracing is logged whether or not a persistent cache then holds the program
            if record.getMessage().startswith("Finished "):
                compiled.append(record.getMessage())

    logger, handler = logging.getLogger("jax"), Count(logging.DEBUG)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            for shape in [(7,), (2, 8), (16,), (4, 1, 3)]:
                draw_normal(key, shape)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert compiled == []
