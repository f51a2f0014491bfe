"""Lazy public names for subpackages whose modules import JAX (``import`` stays light).

A package defines ``__all__``, lists ``{private module: public names}`` and writes
``__getattr__, __dir__ = lazy_exports(globals(), _MODULES)``: a name is imported from its
module on first use and cached in the package namespace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


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
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # later look-ups skip __getattr__
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return getattr_, dir_
