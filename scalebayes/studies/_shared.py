"""A study's predictions shared between a method and the methods built on it.

A study of ``mcmc-m4`` and ``mcmc-m4+cal`` (``--calibrate-on``), or of ``mcmc-m4-irw`` and
``pfn-far+mcmc-m4-irw``, calls the same deterministic method on the same batches twice: once
on its own and once inside the recalibration or the mixture. Before it runs, a study lists
every call it will make (`SharedPredictions`: each method's batches of its curves without a
row yet, and the methods inside each method, which a recalibration or a mixture calls with
the same batch); a batch that more than one of those calls asks of one method (by name and
settings) is predicted once, kept until its last use and then dropped, so nothing is kept
that no call will ask for (a mixture asks its members in the smallest of their batch sizes,
so a member scored alone in larger batches shares nothing with it). A method that pads its
batches (``pad_batches``) is not shared. The plan assumes what the built-in wrappers do: a
recalibration or a mixture calls its base or each member once, with its own batch; a custom
wrapper that does otherwise costs only the reuse (an entry it leaves is dropped with the
study). The seconds a reused batch took (including what it
reused itself) are credited to the method that reuses it, so the study's time per curve
stays what the method costs on its own.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

_ACTIVE: ContextVar[SharedPredictions | None] = ContextVar("scalebayes_shared", default=None)


def _inside(method: Any) -> list[Any]:
    """The methods ``method`` calls with its own batch, in order: a recalibration's base, a
    mixture's members."""
    base = getattr(method.fn, "base", None)
    return ([] if base is None else [base]) + list(getattr(method.fn, "members", ()))


def nested_methods(method: Any) -> Iterator[Any]:
    """``method`` and every method inside it, recursively."""
    yield method
    for inner in _inside(method):
        yield from nested_methods(inner)


def _identity(method: Any) -> str:
    """Name and settings; and, for a callable without settings of its own (its settings are
    a digest of its code, which two closures of one factory share), the object itself."""
    own = "" if hasattr(method.fn, "settings") else f"\x00{id(method.fn)}"
    return f"{method.name}\x00{method.settings()}{own}"


class SharedPredictions:
    """Predictions of the batches a study asks of one method more than once (see the module).

    Args:
        planned: every ``(method, call)`` the study will make: a top-level method and the
            list of curves it is called with.
    """

    def __init__(self, planned: Iterable[tuple[Any, Sequence[object]]]) -> None:
        uses: Counter[tuple[str, tuple[int, ...]]] = Counter()
        made: set[tuple[str, tuple[int, ...]]] = set()

        def visit(method: Any, ids: tuple[int, ...]) -> None:  # in the order calls happen
            if not method.pad_batches:
                key = (_identity(method), ids)
                uses[key] += 1
                if key in made:  # reused: the methods inside it are not called this time
                    return
                made.add(key)
            for inner in _inside(method):
                visit(inner, ids)

        for top, call in planned:
            visit(top, tuple(id(curve) for curve in call))
        self._uses = {key: n for key, n in uses.items() if n > 1}
        self._store: dict[tuple[str, tuple[int, ...]], list[Any]] = {}
        self._credit = 0.0

    def key(self, method: Any, curves: Sequence[object]) -> tuple[str, tuple[int, ...]] | None:
        """The store's key for this call, or None when no other planned call asks for it."""
        if not self._uses or method.pad_batches:
            return None
        key = (_identity(method), tuple(id(c) for c in curves))
        return key if key in self._uses else None

    @property
    def kept(self) -> int:
        """Batches held now."""
        return len(self._store)

    def get(self, key: tuple[str, tuple[int, ...]]) -> list[Any] | None:
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

    def put(
        self, key: tuple[str, tuple[int, ...]], predictions: Sequence[Any], seconds: float
    ) -> None:
        """Keep ``predictions`` (computed in ``seconds``) for the other uses of ``key``."""
        self._store[key] = [tuple(predictions), seconds, self._uses[key] - 1]

    @property
    def credit(self) -> float:
        """The seconds of reused predictions not yet taken."""
        return self._credit

    def take_credit(self) -> float:
        """The seconds of reused predictions since the last call (then reset to 0)."""
        credit, self._credit = self._credit, 0.0
        return credit


@contextlib.contextmanager
def sharing(planned: Iterable[tuple[Any, Sequence[object]]]) -> Iterator[SharedPredictions]:
    """Share the predictions the ``planned`` calls ask for more than once, in the block."""
    shared = SharedPredictions(planned)
    token = _ACTIVE.set(shared)
    try:
        yield shared
    finally:
        _ACTIVE.reset(token)


def active() -> SharedPredictions | None:
    """The study's `SharedPredictions`, or None outside a study."""
    return _ACTIVE.get()
