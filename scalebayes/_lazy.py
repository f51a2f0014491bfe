"""Lazy public names for subpackages whose modules import JAX (``import`` stays light).

A package defines ``__all__``, lists ``{private module: public names}`` and writes
``__getattr__, __dir__ = lazy_exports(globals(), _MODULES)``: a name is imported from its
module on first use and cached in the package namespace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._checks import MissingDependencyError


def lazy_exports(
    namespace: dict[str, Any], modules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``.

    Args:
        namespace: the package's ``globals()`` (with ``__name__`` and ``__all__`` set).
        modules: private module name (e.g. ``"_bar"``) -> the public names it defines.
    """
    package = namespace["__name__"]
    where = {name: module for module, names in modules.items() for name in names}
    missing = set(namespace["__all__"]) - set(where)
    if missing:
        raise ImportError(f"{package}.__all__ names {sorted(missing)} without a module")

    def getattr_(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            imported = importlib.import_module(f".{module}", package)
        except MissingDependencyError:
            raise
        except (AttributeError, ImportError) as error:
            # raised while the module (or a dependency) was being imported: Python's `from
            # package import name` would read an AttributeError as "cannot import name" and
            # hide the cause; either way the command line says it in one line
            raise MissingDependencyError(_failed_import(package, module, name, error)) from error
        value = getattr(imported, name)
        namespace[name] = value  # later look-ups skip __getattr__
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return getattr_, dir_


def _failed_import(package: str, module: str, name: str, error: Exception) -> str:
    """The message for a public name whose module raised ``error`` while it was imported."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        jax = f"jax {version('jax')}"
    except PackageNotFoundError:  # pragma: no cover - jax is a dependency
        jax = "no jax installed"
    return (
        f"{package}.{name} could not be imported: {package}.{module} raised "
        f"{type(error).__name__}: {error} ({jax}; a dependency that is missing or was built "
        "for another JAX version does this: install jax, equinox, numpyro and optax in "
        "versions that suit each other, e.g. upgrade them together)"
    )
