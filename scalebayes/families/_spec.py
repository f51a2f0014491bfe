"""Parameter specifications of the scaling-law families."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import jax.numpy as jnp

from .._checks import is_integer
from ._laws import bnsl, m1, m2, m3, m4, power_law

CONSTRAINTS = ("real", "positive", "nonnegative", "negative")


@dataclass(frozen=True)
class Param:
    """One parameter of a family: its name, constraint and a default initial value."""

    name: str
    constraint: str
    default: float
    doc: str = ""

    def __post_init__(self):
        if self.constraint not in CONSTRAINTS:
            raise ValueError(
                f"constraint of {self.name!r} must be one of {CONSTRAINTS}, got {self.constraint!r}"
            )


@dataclass(frozen=True)
class Family:
    """A scaling-law family: the function, its parameters and its formula.

    Attributes:
        name: registry name (``"m1"`` ... ``"m4"``, ``"bnsl"``, ``"power_law"``).
        fn: the pure function ``fn(x, *params)``.
        params: parameter specifications, in the order ``fn`` takes them.
        formula: the formula as text.
        n_breaks: for BNSL, the number of breaks this spec describes (else 0).
    """

    name: str
    fn: Callable
    params: tuple[Param, ...]
    formula: str
    n_breaks: int = 0
    _by_name: Mapping[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_name", MappingProxyType({p.name: p for p in self.params}))

    @property
    def param_names(self) -> tuple[str, ...]:
        """The family's natural parameter names, in order."""
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, float]:
        """The default initial parameters (a typical falling curve in ``x`` of order 1e3-1e9)."""
        return {p.name: p.default for p in self.params}

    def __call__(self, x, params: Mapping[str, object]):
        """Evaluate the family at ``x`` with parameters given by name.

        Raises:
            KeyError: naming the missing or unknown parameters.
        """
        missing = [n for n in self.param_names if n not in params]
        extra = [n for n in params if n not in self._by_name]
        if missing or extra:
            raise KeyError(
                f"{self.name} takes parameters {list(self.param_names)}; "
                f"missing {missing}, unknown {extra}"
            )
        if self.name == "bnsl":
            k = self.n_breaks
            breaks = [
                jnp.stack([jnp.asarray(params[f"{s}{i}"]) for i in range(1, k + 1)], -1)
                if k
                else jnp.zeros((0,)) + default
                for s, default in (("c", 0.0), ("d", 1.0), ("f", 1.0))
            ]
            return bnsl(x, params["a"], params["b"], params["c0"], *breaks)
        return self.fn(x, *(params[n] for n in self.param_names))


def bnsl_family(n_breaks: int) -> Family:
    """The BNSL spec with ``n_breaks`` breaks (parameters a, b, c0, then c_i, d_i, f_i)."""
    if not is_integer(n_breaks) or not 0 <= n_breaks <= 8:
        raise ValueError(f"n_breaks must be an integer in 0..8, got {n_breaks!r}")
    n_breaks = int(n_breaks)
    params = [
        Param("a", "nonnegative", 0.0, "limit as x -> infinity"),
        Param("b", "positive", 1.0, "scale of the first segment"),
        Param("c0", "real", 0.1, "slope of the first segment (in log-log, sign flipped)"),
    ]
    for i in range(1, n_breaks + 1):
        params += [
            Param(f"c{i}", "real", 0.1, f"change of slope at break {i}"),
            Param(f"d{i}", "positive", 10.0 ** (3 + 2 * i), f"location of break {i}"),
            Param(f"f{i}", "positive", 0.5, f"sharpness of break {i} (small = sharp)"),
        ]
    return Family(
        "bnsl",
        bnsl,
        tuple(params),
        "y = a + b x^(-c0) prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)",
        n_breaks=n_breaks,
    )


FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        "m1": Family(
            "m1",
            m1,
            (Param("beta", "positive", 1.0), Param("c", "negative", -0.1)),
            "y = beta x^c",
        ),
        "m2": Family(
            "m2",
            m2,
            (
                Param("eps_inf", "nonnegative", 0.0),
                Param("beta", "positive", 1.0),
                Param("c", "negative", -0.1),
            ),
            "y = eps_inf + beta x^c",
        ),
        "m3": Family(
            "m3",
            m3,
            (
                Param("beta", "positive", 1.0),
                Param("gamma", "nonnegative", 1e-6),
                Param("c", "positive", 0.1),
            ),
            "y = beta (1/x + gamma)^c",
        ),
        "m4": Family(
            "m4",
            m4,
            (
                Param("eps_inf", "nonnegative", 0.0),
                Param("eps_0", "positive", 1.0),
                Param("alpha", "positive", 1.0),
                Param("beta", "positive", 1.0),
                Param("c", "negative", -0.1),
            ),
            "(y - eps_inf) / (eps_0 - y)^alpha = beta x^c",
        ),
        "bnsl": bnsl_family(1),
        "power_law": Family(
            "power_law",
            power_law,
            (Param("a", "positive", 1.0), Param("alpha", "positive", 0.1)),
            "y = a x^(-alpha)",
        ),
    }
)


def get_family(name: str, *, n_breaks: int | None = None) -> Family:
    """Look up a family by name (case-insensitive); ``n_breaks`` selects a BNSL spec.

    Raises:
        ValueError: for an unknown name, listing the known ones, or ``n_breaks`` given for
            a family without breaks.
    """
    key = str(name).lower().replace("-", "_")
    if key == "bnsl" and n_breaks is not None:
        return bnsl_family(n_breaks)
    if key not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; choose one of {sorted(FAMILIES)}")
    if n_breaks is not None:
        raise ValueError(f"n_breaks is for bnsl; {key} has no breaks (leave n_breaks out)")
    return FAMILIES[key]
