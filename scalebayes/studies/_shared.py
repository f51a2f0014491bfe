"""A study's predictions shared between a method and the methods built on it.

A study of ``mcmc-m4`` and ``mcmc-m4+cal`` (``--calibrate-on``), or of ``mcmc-m4-irw`` and
``pfn-far+mcmc-m4-irw``, calls the same deterministic method on the same batches twice: once
on its own and once inside the recalibration or the mixture. While a study runs,
`SharedPredictions` keeps the predictions of every method that occurs more than once in the
study's methods (by name and settings) for the batches of the study's own curves, and hands
them to the second caller when it asks for the same batch (the same batch size: a mixture
asks its members in the smallest of their batch sizes); each entry is dropped after its last
expected use, or once no method left to run could use it. The seconds a reused batch took
(including what it reused itself) are credited to the method that reuses it, so the study's
time per curve stays what the method costs on its own.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

_ACTIVE: ContextVar[SharedPredictions | None] = ContextVar("scalebayes_shared", default=None)


def nested_methods(method: Any) -> Iterator[Any]:
    """``method`` and every method inside it: a recalibration's base, a mixture's members,
    recursively."""
    yield method
    base = getattr(method.fn, "base", None)
    if base is not None:
        yield from nested_methods(base)
    for member in getattr(method.fn, "members", ()):
        yield from nested_methods(member)


def _identity(method: Any) -> str:
    return f"{method.name}\x00{method.settings()}"


class SharedPredictions:
    """Predictions of the methods a study calls more than once per batch (see the module)."""

    def __init__(self, methods: Iterable[Any], curves: Iterable[object]) -> None:
        counts = Counter(_identity(m) for top in methods for m in nested_methods(top))
        self._uses = {identity: n for identity, n in counts.items() if n > 1}
        self._curves = {id(curve) for curve in curves}
        self._store: dict[tuple[Any, ...], list[Any]] = {}
        self._credit = 0.0

    def key(
        self, method: Any, curves: Sequence[object], pad_to: tuple[int, int] | None
    ) -> tuple[Any, ...] | None:
        """The store's key for this call, or None when the call is not shared (a method
        used once, or curves outside the study, such as a recalibration's reference)."""
        if not self._uses:
            return None
        identity = _identity(method)
        if identity not in self._uses or not all(id(c) in self._curves for c in curves):
            return None
        return (identity, tuple(id(c) for c in curves), pad_to)

    def get(self, key: tuple[Any, ...]) -> list[Any] | None:
        """The stored predictions for ``key`` (crediting their seconds), or None."""
        entry = self._store.get(key)
        if entry is None:
            return None
        predictions, seconds, left = entry
        self._credit += seconds
        if left <= 1:
            del self._store[key]
        else:
            entry[2] = left - 1
        return list(predictions)

    def put(self, key: tuple[Any, ...], predictions: Sequence[Any], seconds: float) -> None:
        """Keep ``predictions`` (computed in ``seconds``) for the other uses of ``key``."""
        self._store[key] = [tuple(predictions), seconds, self._uses[key[0]] - 1]

    @property
    def credit(self) -> float:
        """The seconds of reused predictions not yet taken."""
        return self._credit

    def release(self, remaining: Iterable[Any]) -> None:
        """Drop the entries no method in ``remaining`` (nor any inside one) can use: a batch
        of another size, or one whose other user had its rows already."""
        needed = {_identity(m) for top in remaining for m in nested_methods(top)}
        for key in [k for k in self._store if k[0] not in needed]:
            del self._store[key]

    def take_credit(self) -> float:
        """The seconds of reused predictions since the last call (then reset to 0)."""
        credit, self._credit = self._credit, 0.0
        return credit


@contextlib.contextmanager
def sharing(methods: Iterable[Any], curves: Iterable[object]) -> Iterator[SharedPredictions]:
    """Share predictions between ``methods`` on ``curves`` for the duration of the block."""
    shared = SharedPredictions(methods, curves)
    token = _ACTIVE.set(shared)
    try:
        yield shared
    finally:
        _ACTIVE.reset(token)


def active() -> SharedPredictions | None:
    """The study's `SharedPredictions`, or None outside a study."""
    return _ACTIVE.get()
