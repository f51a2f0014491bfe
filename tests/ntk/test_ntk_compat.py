"""The neural-tangents compatibility layer: loads on this JAX, without TensorFlow, and the
pieces scalebayes uses give the numbers of independent references.

These tests are meant to fail loudly when a JAX (or neural-tangents) upgrade breaks the
layer: they check each lent name, that JAX is left untouched, and the numerics of the
kernels, the ensemble prediction and the empirical NTK.
"""

import ast
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.ntk import (
    MLPConfig,
    ensemble_from_kernels,
    mlp_kernels,
    neural_tangents,
    stax_mlp,
)
from scalebayes.ntk._compat import NT_VERSION, _find_core_name, _lent_jax_names, applied_shims


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_scalebayes_and_cli_load_neither_neural_tangents_nor_tensorflow():
    out = _run(
        """
        import sys
        import scalebayes, scalebayes.ntk, scalebayes.cli
        from scalebayes.cli import build_parser
        build_parser()
        print(sorted(m for m in ("neural_tangents", "tensorflow", "tf2jax", "jax")
                     if m in sys.modules))
        """
    )
    assert out == "[]"


def test_loading_neural_tangents_leaves_tensorflow_and_jax_alone():
    out = _run(
        """
        import sys
        import jax, jax.core, jax.interpreters.ad
        before = sorted(vars(jax.core)), sorted(vars(jax.interpreters.ad))
        had_util = "jax.util" in sys.modules
        from scalebayes.ntk import neural_tangents, mlp_kernels, MLPConfig
        nt = neural_tangents()
        mlp_kernels(MLPConfig(), jax.numpy.ones((3, 4)))
        after = sorted(vars(jax.core)), sorted(vars(jax.interpreters.ad))
        print(before == after, ("jax.util" in sys.modules) == had_util,
              "tensorflow" in sys.modules, "tf2jax" in sys.modules)
        """
    )
    assert out == "True True False False"


def test_package_has_every_attribute_its_init_sets():
    nt = neural_tangents()
    init = Path(importlib.util.find_spec("neural_tangents").origin)
    names = set()
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    assert "stax" in names and "empirical_ntk_fn" in names  # the file is the one we know
    missing = sorted(n for n in names - {"experimental"} if not hasattr(nt, n))
    assert missing == [], f"neural_tangents lacks {missing}; update _compat._ATTRIBUTES"
    assert nt.__version__.split(".")[:2] == NT_VERSION.split(".")[:2]


def test_lent_names_are_the_objects_jax_holds_now():
    neural_tangents()
    rules = sys.modules["neural_tangents._src.utils.rules"]
    empirical = sys.modules["neural_tangents._src.empirical"]
    for name in ("Jaxpr", "JaxprEqn", "Literal", "Var", "Primitive", "ShapedArray"):
        assert getattr(rules, name) is _find_core_name(name), name
    assert empirical.map.__name__ in ("safe_map", "_safe_map")
    for shim in applied_shims():
        assert shim.startswith(("jax.core.", "jax.util", "jax.interpreters.ad.")), shim


def test_lending_is_undone_even_when_the_import_fails():
    import jax.core

    before = set(vars(jax.core))
    with pytest.raises(RuntimeError, match="boom"), _lent_jax_names([]):
        raise RuntimeError("boom")
    assert set(vars(jax.core)) == before
    assert "jax.util" not in sys.modules or hasattr(sys.modules["jax.util"], "__file__")


def test_a_name_jax_no_longer_has_is_named_in_the_error():
    with pytest.raises(ImportError, match=r"jax\.core\.NoSuchThing"):
        _find_core_name("NoSuchThing")


def test_stax_relu_kernel_matches_arc_cosine_recursion(float64, arccos_relu):
    x = np.random.default_rng(0).standard_normal((6, 5))
    for depth, w_std, b_std in [(1, 1.0, 0.0), (2, np.sqrt(2.0), 0.1), (3, 1.5, 0.3)]:
        config = MLPConfig(depth=depth, W_std=float(w_std), b_std=b_std)
        k = mlp_kernels(config, x[:4], x[2:])
        nngp, ntk = arccos_relu(x[:4], x[2:], depth, w_std, b_std)
        # arccos near correlation 1 (the shared points) amplifies rounding to ~1e-8
        np.testing.assert_allclose(k.nngp, nngp, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(k.ntk, ntk, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("t", [None, 3.0, 50.0])
def test_ensemble_matches_neural_tangents_predict(float64, t):
    nt = neural_tangents()
    rng = np.random.default_rng(1)
    x_train, x_test = rng.standard_normal((12, 4)), rng.standard_normal((5, 4))
    y_train = rng.standard_normal((12, 2))
    config = MLPConfig(depth=2, W_std=1.3, b_std=0.2, activation="erf")
    _, _, kernel_fn = stax_mlp(config)
    predict_fn = nt.predict.gradient_descent_mse_ensemble(
        kernel_fn, x_train, y_train, learning_rate=0.7
    )
    reference = predict_fn(t=t, x_test=x_test, get="ntk", compute_cov=True)
    ours = ensemble_from_kernels(
        mlp_kernels(config, x_train),
        mlp_kernels(config, x_test, x_train),
        mlp_kernels(config, x_test).nngp,
        y_train,
        t=t,
        learning_rate=0.7,
    )
    np.testing.assert_allclose(ours.mean, reference.mean, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours.cov, reference.covariance, rtol=1e-6, atol=1e-9)


def test_empirical_ntk_jacobian_contraction_matches_autodiff():
    nt = neural_tangents()
    init_fn, apply_fn, _ = stax_mlp(MLPConfig(depth=2), out_dim=1)
    x = jax.random.normal(jax.random.key(0), (5, 3))
    _, params = init_fn(jax.random.key(1), x.shape)
    empirical = nt.empirical_ntk_fn(
        apply_fn, trace_axes=(-1,), implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION
    )(x, None, params)
    jac = jax.jacobian(lambda p: apply_fn(p, x)[:, 0])(params)
    flat = jnp.concatenate([j.reshape(5, -1) for j in jax.tree_util.tree_leaves(jac)], axis=1)
    np.testing.assert_allclose(empirical, flat @ flat.T, rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("importlib.util.find_spec = lambda name: None", "pip install --no-deps neural-tangents"),
        ("importlib.metadata.version = lambda name: '0.7.0'", "found 0.7.0"),
    ],
)
def test_missing_or_wrong_neural_tangents_is_an_import_error_with_the_fix(patch, message):
    out = _run(
        f"""
        import importlib.metadata, importlib.util
        {patch}
        from scalebayes.ntk import neural_tangents
        try:
            neural_tangents()
        except ImportError as error:
            print(error)
        """
    )
    assert message in out
