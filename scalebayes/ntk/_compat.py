"""Load neural-tangents 0.6.5 on current JAX, without TensorFlow.

neural-tangents 0.6.5 (December 2023, the last release) does not import on JAX >= 0.6 as
shipped, for three reasons, each handled here and nowhere else in scalebayes:

1. ``from jax.core import Jaxpr, JaxprEqn, Literal, Var, Primitive`` (and, on some JAX
   versions, ``ShapedArray``, ``Value``, ``AbstractValue``): these names moved to
   ``jax.extend.core`` (public) and ``jax._src.core``.
2. ``from jax.util import safe_map, safe_zip``: the ``jax.util`` module was removed.
3. ``jax.interpreters.ad.zeros_like_p`` is read at import time as a key of the rule tables of
   the STRUCTURED_DERIVATIVES empirical-NTK mode; the primitive was removed.

and its package ``__init__`` imports ``neural_tangents.experimental``, which imports
TensorFlow and tf2jax (about 1.9 GB installed) for the TF empirical-NTK helpers only.

[`neural_tangents`][scalebayes.ntk.neural_tangents] therefore

- creates the ``neural_tangents`` package object from its spec *without* running its
  ``__init__`` and imports the submodules scalebayes needs (``stax``, ``predict``, the
  empirical kernels, ``batch``, ``monte_carlo_kernel_fn``, ``Kernel``), setting on the package
  the same attributes its ``__init__`` sets; ``neural_tangents.experimental`` is imported
  (with TensorFlow) only if someone reads that attribute;
- while those submodules import, and only then, lends the missing ``jax.core`` names from
  ``jax.extend.core`` (or ``jax._src.core``), a ``jax.util`` module holding equivalent
  ``safe_map``/``safe_zip``, and a placeholder ``zeros_like`` primitive; everything lent is
  taken back when the import ends, so ``jax`` itself is left as it was (JAX releases that
  still hold the old names but warn on them have those ``DeprecationWarning`` s silenced for
  the duration of the import only).

What works afterwards (tested in ``tests/ntk/test_compat.py`` against closed forms and against
JAX's own autodiff): the analytic ``stax`` kernels, ``predict.gradient_descent_mse_ensemble``
and ``empirical_ntk_fn`` in the default ``JACOBIAN_CONTRACTION`` mode. The
``STRUCTURED_DERIVATIVES`` mode is known broken on every recent JAX and is not used.
If a JAX upgrade moves a name out of reach, loading raises ``ImportError`` naming it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .._checks import MissingDependencyError

__all__ = ["NT_VERSION", "applied_shims", "neural_tangents"]

NT_VERSION = "0.6.5"
"""The neural-tangents release the compatibility layer is written and tested for."""

INSTALL_HINT = (
    "install it without its TensorFlow requirement: "
    f"pip install frozendict && pip install --no-deps neural-tangents=={NT_VERSION} "
    "(or pip install 'scalebayes[ntk]' and then the --no-deps line)"
)

# Names neural-tangents 0.6.5 imports from ``jax.core`` at import time.
_CORE_NAMES = (
    "AbstractValue",
    "Jaxpr",
    "JaxprEqn",
    "Literal",
    "Primitive",
    "ShapedArray",
    "Value",
    "Var",
)
# Submodules to import, and the package attributes that neural_tangents/__init__.py sets
# from them (all of them except ``experimental``).
_ATTRIBUTES = {
    "predict": ("neural_tangents.predict", None),
    "stax": ("neural_tangents.stax", None),
    "batch": ("neural_tangents._src.batching", "batch"),
    "empirical_kernel_fn": ("neural_tangents._src.empirical", "empirical_kernel_fn"),
    "empirical_nngp_fn": ("neural_tangents._src.empirical", "empirical_nngp_fn"),
    "empirical_ntk_fn": ("neural_tangents._src.empirical", "empirical_ntk_fn"),
    "empirical_ntk_vp_fn": ("neural_tangents._src.empirical", "empirical_ntk_vp_fn"),
    "linearize": ("neural_tangents._src.empirical", "linearize"),
    "NtkImplementation": ("neural_tangents._src.empirical", "NtkImplementation"),
    "taylor_expand": ("neural_tangents._src.empirical", "taylor_expand"),
    "monte_carlo_kernel_fn": ("neural_tangents._src.monte_carlo", "monte_carlo_kernel_fn"),
    "Kernel": ("neural_tangents._src.utils.kernel", "Kernel"),
}

_lock = threading.Lock()
_applied: tuple[str, ...] | None = None


def _safe_map(f: Callable[..., Any], *args: Any) -> list[Any]:
    """``map`` that insists on equal lengths (what ``jax.util.safe_map`` was)."""
    args = tuple(map(list, args))
    n = len(args[0])
    for arg in args[1:]:
        if len(arg) != n:
            raise ValueError(f"length mismatch: {list(map(len, args))}")
    return list(map(f, *args))


def _safe_zip(*args: Any) -> list[tuple[Any, ...]]:
    """``zip`` that insists on equal lengths (what ``jax.util.safe_zip`` was)."""
    return list(zip(*args, strict=True))


def _find_core_name(name: str) -> Any:
    """``name`` from ``jax.extend.core`` (public) or else ``jax._src.core``."""
    for module_name in ("jax.extend.core", "jax._src.core"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    import jax

    raise MissingDependencyError(
        f"scalebayes.ntk: jax {jax.__version__} has no jax.core.{name}, and neither "
        f"jax.extend.core nor jax._src.core holds it, so neural-tangents {NT_VERSION} cannot "
        "be loaded; update scalebayes/ntk/_compat.py for this JAX or pin an older jax"
    )


@contextlib.contextmanager
def _lent_jax_names(applied: list[str]) -> Iterator[None]:
    """Lend JAX the names neural-tangents 0.6.5 imports, for the duration of the block."""
    import jax
    import jax.core
    import jax.interpreters.ad

    undo: list[Callable[[], None]] = []
    try:
        for name in _CORE_NAMES:
            if not hasattr(jax.core, name):
                setattr(jax.core, name, _find_core_name(name))
                undo.append(lambda name=name: delattr(jax.core, name))
                applied.append(f"jax.core.{name}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                importlib.import_module("jax.util")
        except ImportError:
            shim = types.ModuleType("jax.util")
            shim.safe_map = _safe_map
            shim.safe_zip = _safe_zip
            sys.modules["jax.util"] = shim
            undo.append(lambda: sys.modules.pop("jax.util", None))
            applied.append("jax.util")
        ad = jax.interpreters.ad
        if not hasattr(ad, "zeros_like_p"):
            # Only a dict key in neural-tangents' STRUCTURED_DERIVATIVES rule tables; no jaxpr
            # of current JAX contains it, so the entry is never used.
            ad.zeros_like_p = _find_core_name("Primitive")("scalebayes_nt_zeros_like")
            undo.append(lambda: delattr(ad, "zeros_like_p"))
            applied.append("jax.interpreters.ad.zeros_like_p")
        yield
    finally:
        for step in reversed(undo):
            step()


def _experimental_getattr(name: str) -> Any:
    """Module ``__getattr__`` of the package: import ``experimental`` (TensorFlow) on demand."""
    if name == "experimental":
        return importlib.import_module("neural_tangents.experimental")
    raise AttributeError(f"module 'neural_tangents' has no attribute {name!r}")


def _load() -> types.ModuleType:
    spec = importlib.util.find_spec("neural_tangents")
    if spec is None or spec.submodule_search_locations is None:
        raise MissingDependencyError(
            f"scalebayes.ntk needs neural-tangents {NT_VERSION}; {INSTALL_HINT}"
        )
    version = importlib.metadata.version("neural-tangents")
    if version.split(".")[:2] != NT_VERSION.split(".")[:2]:
        raise MissingDependencyError(
            f"scalebayes.ntk is written for neural-tangents {NT_VERSION}, found {version}; "
            f"{INSTALL_HINT}"
        )
    if importlib.util.find_spec("frozendict") is None:
        raise MissingDependencyError(f"neural-tangents needs frozendict; {INSTALL_HINT}")

    applied: list[str] = []
    package = importlib.util.module_from_spec(spec)  # its __init__ is not run
    package.__version__ = version
    package.__getattr__ = _experimental_getattr
    sys.modules["neural_tangents"] = package
    try:
        with _lent_jax_names(applied), warnings.catch_warnings():
            # JAX releases between 0.5 and 0.8 warn on the old jax.core names that the
            # modules import; the shims exist to absorb exactly that
            warnings.simplefilter("ignore", DeprecationWarning)
            for attribute, (module_name, member) in _ATTRIBUTES.items():
                module = importlib.import_module(module_name)
                setattr(package, attribute, module if member is None else getattr(module, member))
    except BaseException:
        for name in [n for n in sys.modules if n.split(".")[0] == "neural_tangents"]:
            del sys.modules[name]
        raise
    global _applied
    _applied = tuple(applied)
    return package


def neural_tangents() -> types.ModuleType:
    """The ``neural_tangents`` package, loaded on current JAX without TensorFlow.

    The first call imports it (see the module docstring for what is adapted and why); later
    calls return the same module. If ``neural_tangents`` was already imported by other means,
    that module is returned as is.

    Returns:
        The ``neural_tangents`` module, with ``stax``, ``predict``, ``empirical_ntk_fn``,
        ``empirical_kernel_fn``, ``monte_carlo_kernel_fn``, ``batch`` and ``Kernel``.

    Raises:
        ImportError: neural-tangents or frozendict is not installed, its version is not
            0.6.x, or this JAX no longer holds a name it needs (the message names it).
    """
    with _lock:
        module = sys.modules.get("neural_tangents")
        if module is not None and hasattr(module, "stax"):
            return module
        return _load()


def applied_shims() -> tuple[str, ...]:
    """The JAX names that were lent while neural-tangents imported (after the first load).

    Returns:
        E.g. ``("jax.core.Jaxpr", ..., "jax.util", "jax.interpreters.ad.zeros_like_p")``;
        empty if this JAX still held everything, or if neural-tangents was loaded elsewhere.
    """
    neural_tangents()
    return _applied or ()
