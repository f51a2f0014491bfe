"""NUTS posterior of a joint law and the posterior predictive of the compute-optimal allocation.

[`fit_joint_law`][scalebayes.compute.fit_joint_law] samples the posterior of a
[`JointLaw`][scalebayes.compute.JointLaw] with the package's NUTS driver
([`sample_model`][scalebayes.inference.sample_model]: several chains vectorised in one
compiled call, float64), checks R-hat, effective sample sizes and divergences with the same
thresholds as every other sampler ([`diagnose`][scalebayes.inference.diagnose]), and returns a
[`JointLawPosterior`][scalebayes.compute.JointLawPosterior]. Its
[`allocation`][scalebayes.compute.JointLawPosterior.allocation] method turns every posterior
draw into the compute-optimal ``N*(C)``, ``D*(C)`` and ``L*(C)`` (closed form for the
Chinchilla law, numerical otherwise), so that credible intervals of the allocation come from
the draws.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jaxtyping import Array, ArrayLike

from .._checks import beyond_float, check_integer, check_key, is_integer
from .._precision import float64
from .._text import significant
from .._warnings import ConvergenceWarning, warn_at_caller
from ..evaluate import check_level
from ..inference import R_HAT_MAX, Diagnostics, sample_model
from ._allocation import _as_float, optimal_allocation
from ._joint_law import JointLaw, check_likelihood, chinchilla_law, joint_law_model
from ._likelihood import DELTA
from ._runs import Runs


def _quantiles(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - check_level(level)) / 2
    return np.quantile(draws, tail, axis=0), np.quantile(draws, 1 - tail, axis=0)


_FROM_N = ("n_tokens", "ratio")  # monotone in N* at a budget: read from N*'s quantiles


@dataclass(frozen=True)
class AllocationPosterior:
    """Posterior draws of the compute-optimal allocation at each budget.

    Attributes:
        compute: the budgets ``C`` in FLOPs, shape ``(n_budgets,)``.
        n_params: draws of ``N*(C)``, shape ``(n_draws, n_budgets)``.
        n_tokens: draws of ``D*(C) = C / (k N*)``, same shape.
        loss: draws of the law's loss at the optimum ``L(N*, D*)``, same shape.
        exponent: draws of the local exponent ``d log N* / d log C``, same shape (constant in
            ``C`` and equal to ``beta / (alpha + beta)`` for the Chinchilla law).
        flops_per_param_token: ``k`` in ``C = k N D``.
    """

    compute: np.ndarray
    n_params: np.ndarray
    n_tokens: np.ndarray
    loss: np.ndarray
    exponent: np.ndarray
    flops_per_param_token: float

    @property
    def ratio(self) -> np.ndarray:
        """Draws of the tokens-per-parameter ratio ``D* / N*``."""
        return self.n_tokens / self.n_params

    def quantity(self, name: str) -> np.ndarray:
        """Draws of ``"n_params"``, ``"n_tokens"``, ``"loss"``, ``"ratio"`` or ``"exponent"``."""
        if name not in ("n_params", "n_tokens", "loss", "ratio", "exponent"):
            raise ValueError(
                f"unknown quantity {name!r}; choose n_params, n_tokens, loss, ratio or exponent"
            )
        return getattr(self, name)

    def interval(self, name: str, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """The equal-tailed ``level`` credible interval of a quantity at each budget (for D*
        and D*/N*, N*'s interval through ``D* = C / (k N*)``, as in `median`).

        Args:
            name: ``"n_params"``, ``"n_tokens"``, ``"loss"``, ``"ratio"`` or ``"exponent"``.
            level: the credible mass.

        Returns:
            ``(lower, upper)``, each of shape ``(n_budgets,)``.
        """
        if name in _FROM_N:  # D* and D*/N* fall as N* grows: from N*'s own bounds
            lower, upper = _quantiles(self.n_params, level)
            return self._from_n(name, upper), self._from_n(name, lower)
        return _quantiles(self.quantity(name), level)

    def median(self, name: str) -> np.ndarray:
        """The posterior median of a quantity at each budget.

        D* and D*/N* are read from N*'s median through ``D* = C / (k N*)``, as every draw
        has them, so that a printed row spends its budget: the medians of each taken apart
        did not (a new user's audit: with an even number of draws and two chains apart,
        ``6 N* D*`` came to 3.3 times the budget)."""
        if name in _FROM_N:
            return self._from_n(name, np.median(self.n_params, axis=0))
        return np.median(self.quantity(name), axis=0)

    def _from_n(self, name: str, n_params: np.ndarray) -> np.ndarray:
        n_tokens = self.compute / (self.flops_per_param_token * n_params)
        return n_tokens if name == "n_tokens" else n_tokens / n_params

    def summary(self, level: float = 0.9) -> str:
        """A table of posterior medians and ``level`` intervals of N*, D*, L* and D*/N*."""
        pct = f"{100 * level:g}%"
        columns = [
            (digits, self.median(name), *self.interval(name, level))  # every budget at once
            for name, digits in (("n_params", 3), ("n_tokens", 3), ("loss", 4), ("ratio", 3))
        ]
        rows = [
            [significant(c, 3)]
            + [
                f"{significant(med[j], d)} [{significant(lo[j], d)}, {significant(hi[j], d)}]"
                for d, med, lo, hi in columns
            ]
            for j, c in enumerate(self.compute)
        ]
        header = [
            "C (FLOPs)",
            f"N* params [{pct}]",
            f"D* tokens [{pct}]",
            f"L* loss [{pct}]",
            f"D*/N* [{pct}]",
        ]
        return _table(header, rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class JointLawPosterior:
    """NUTS draws of a joint law's parameters, with diagnostics.

    Attributes:
        law: the fitted [`JointLaw`][scalebayes.compute.JointLaw].
        runs: the data.
        likelihood: the residual density used.
        samples: draws per site (law parameters and ``sigma``), each ``(n_chains, n_draws)``.
        diagnostics: r-hat, ESS and divergences.
    """

    law: JointLaw
    runs: Runs
    likelihood: str
    samples: Mapping[str, np.ndarray]
    diagnostics: Diagnostics

    def draws(self) -> dict[str, np.ndarray]:
        """All draws flattened over chains, shape ``(n_chains * n_draws,)`` per name.

        For each parameter ``log_X`` without a parameter ``X``, ``X = exp(log_X)`` is added
        (``A`` and ``B`` for the Chinchilla law).
        """
        out = {name: np.asarray(v).reshape(-1) for name, v in self.samples.items()}
        for name in list(out):
            if name.startswith("log_") and name[4:] not in out:
                out[name[4:]] = np.exp(out[name])
        return out

    def mean(self) -> dict[str, float]:
        """Posterior means (including derived ``X = exp(log_X)``)."""
        return {k: float(v.mean()) for k, v in self.draws().items()}

    def sd(self) -> dict[str, float]:
        """Posterior standard deviations (including derived ``X = exp(log_X)``)."""
        return {k: float(v.std(ddof=1)) for k, v in self.draws().items()}

    def interval(self, name: str, level: float = 0.9) -> tuple[float, float]:
        """The equal-tailed ``level`` credible interval of one parameter."""
        draws = self.draws()
        if name not in draws:
            raise ValueError(f"unknown parameter {name!r}; the posterior has {list(draws)}")
        lo, hi = _quantiles(draws[name], level)
        return float(lo), float(hi)

    def summary(self, level: float = 0.9) -> str:
        """A table of mean, sd, median, the ``level`` interval, r-hat and bulk ESS per parameter."""
        pct = f"{100 * level:g}%"
        draws = self.draws()
        diag = self.diagnostics
        rows = []
        for name, v in draws.items():
            lo, hi = _quantiles(v, level)
            rows.append(
                [
                    name,
                    f"{v.mean():.5g}",
                    f"{v.std(ddof=1):.3g}",
                    f"{np.median(v):.5g}",
                    f"[{lo:.5g}, {hi:.5g}]",
                    f"{diag.r_hat[name]:.3f}" if name in diag.r_hat else "",
                    # floored, as the convergence warnings print it (3.6 is not 4 draws)
                    f"{np.floor(diag.ess_bulk[name]):.0f}" if name in diag.ess_bulk else "",
                ]
            )
        return _table(["param", "mean", "sd", "median", pct, "r_hat", "ess_bulk"], rows)

    def _params(self) -> dict[str, Array]:
        return {
            name: jnp.asarray(np.asarray(self.samples[name]).reshape(-1))
            for name in self.law.param_names
        }

    @float64
    def predict(self, N: ArrayLike, D: ArrayLike) -> np.ndarray:
        """Draws of the law ``L(N, D)``, shape ``(n_draws,) + broadcast(N, D).shape``.

        Raises:
            ValueError: for an ``N`` or ``D`` that is not finite and > 0.
        """
        N = _as_float("N", N, positive=True)
        D = _as_float("D", D, positive=True)
        out = jax.vmap(lambda p: self.law.fn(p, N, D))(self._params())
        return np.asarray(out, dtype=np.float64)

    @float64
    def allocation(
        self, compute: ArrayLike, *, flops_per_param_token: float | None = None
    ) -> AllocationPosterior:
        """The posterior predictive of the compute-optimal allocation at each budget.

        Per draw: the law's closed form if it has one
        ([`chinchilla_allocation`][scalebayes.compute.chinchilla_allocation]), else
        [`optimal_allocation`][scalebayes.compute.optimal_allocation] on ``L(N, C / (k N))``.
        The local exponent ``d log N* / d log C`` is differentiated through either.

        Args:
            compute: budget(s) ``C`` in FLOPs (> 0).
            flops_per_param_token: ``k`` in ``C = k N D``; by default the runs' own
                ([`Runs.flops_per_param_token`][scalebayes.compute.Runs], 6 unless they
                were read with another).

        Returns:
            An [`AllocationPosterior`][scalebayes.compute.AllocationPosterior].
        """
        if flops_per_param_token is None:
            flops_per_param_token = self.runs.flops_per_param_token
        try:
            budgets = np.atleast_1d(np.asarray(compute, dtype=np.float64)).reshape(-1)
        except OverflowError:  # a Python int beyond float64, e.g. 10**400
            raise ValueError(f"compute must be finite; got {beyond_float(compute)}") from None
        except (TypeError, ValueError):
            raise ValueError(f"compute must be a number or numbers, got {compute!r}") from None
        if budgets.size == 0 or not np.all(np.isfinite(budgets) & (budgets > 0)):
            raise ValueError(f"compute must be finite and > 0, got {budgets.tolist()}")
        k = float(flops_per_param_token)
        if not (math.isfinite(k) and k > 0):
            raise ValueError(f"flops_per_param_token must be finite and > 0, got {k!r}")
        if np.any(budgets < k):
            raise ValueError(
                f"compute must be at least flops_per_param_token = {k:g} FLOPs (one parameter "
                f"trained on one token); got {float(budgets.min()):g}"
            )
        log_c = jnp.log(jnp.asarray(budgets))
        result, exponent = _allocation_draws(self._params(), log_c, law=self.law, k=k)
        arrays = [np.asarray(a, dtype=np.float64) for a in (*result, exponent)]
        # N* is kept within one parameter and one token: a draw there is the bracket's edge,
        # not the law's optimum (a law fitted in millions or billions, or a budget that small)
        edge = (arrays[0] <= 1.0 + 1e-9) | (arrays[1] <= 1.0 + 1e-9)
        if edge.any():
            counts = edge.sum(axis=0)
            worst = int(np.argmax(counts))
            n_draws = edge.shape[0]
            share = f"{counts[worst]} of {n_draws} draws ({counts[worst] / n_draws:.1%})"
            warnings.warn(
                f"the allocation sits at its bound (N* of one parameter, or D* of one token) on "
                f"{share} at C = {budgets[worst]:.3g}: there the answer "
                "is the bound, not the law's optimum (a budget that small, or runs whose N and "
                "D are not plain counts, or C not in FLOPs?)",
                UserWarning,
                stacklevel=3,
            )
        return AllocationPosterior(budgets, *arrays, flops_per_param_token=k)


@functools.partial(jax.jit, static_argnames=("law", "k"))
def _allocation_draws(params: Mapping[str, Array], log_c: Array, *, law: JointLaw, k: float):
    """Per draw and budget: the allocation and ``d log N* / d log C`` (compiled once per law,
    which hashes by identity, and ``k``; not once per call)."""

    def one(prm, lc):
        c = jnp.exp(lc)
        if law.allocation is not None:
            return law.allocation(prm, c, k)
        return optimal_allocation(lambda n, d, p: law.fn(p, n, d), c, prm, flops_per_param_token=k)

    def log_n(prm, lc):
        return jnp.log(one(prm, lc).n_params)

    per_draw = jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None))
    slope = jax.vmap(jax.vmap(jax.grad(log_n, argnums=1), (None, 0)), (0, None))
    return per_draw(params, log_c), slope(params, log_c)


@float64
def fit_joint_law(
    key: Array,
    runs: Runs,
    *,
    law: JointLaw | None = None,
    likelihood: str = "huber",
    delta: float = DELTA,
    df: float = 4.0,
    sigma_prior: dist.Distribution | None = None,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    target_accept_prob: float = 0.9,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
    max_r_hat: float = R_HAT_MAX,
    min_ess: float | None = None,
) -> JointLawPosterior:
    """Sample the posterior of a joint law with NUTS (chains vectorised, float64).

    The model is [`joint_law_model`][scalebayes.compute.joint_law_model], sampled by the
    package's one MCMC driver, [`sample_model`][scalebayes.inference.sample_model]. Chains
    start at the median of a few prior draws (each chain its own) and run vectorised in one
    compiled call. After sampling, split R-hat, bulk/tail ESS (ArviZ) and divergences are
    checked ([`Diagnostics.problems`][scalebayes.inference.Diagnostics.problems]); a failed
    check issues a [`ConvergenceWarning`][scalebayes.compute.ConvergenceWarning] (the draws
    are returned anyway). On a CPU most of the time of a small fit is compilation (several
    seconds), so more draws cost little.

    Args:
        key: a JAX PRNG key.
        runs: the data ([`Runs`][scalebayes.compute.Runs]).
        law: the law; defaults to [`chinchilla_law`][scalebayes.compute.chinchilla_law]``()``.
        likelihood: ``"huber"`` (Besiroglu's density), ``"student_t"`` or ``"normal"``.
        delta: the Huber threshold.
        df: Student-t degrees of freedom.
        sigma_prior: prior of the residual scale (default ``HalfNormal(0.5)``).
        num_warmup: warm-up (adaptation) iterations per chain.
        num_samples: draws kept per chain.
        num_chains: chains (>= 2), run vectorised.
        target_accept_prob: NUTS step-size adaptation target.
        dense_mass: adapt a dense mass matrix (the law's parameters are strongly correlated).
        max_tree_depth: NUTS tree depth limit.
        max_r_hat: warn if any R-hat exceeds this.
        min_ess: warn if any bulk or tail ESS is below this; default 100 per chain.

    Returns:
        A [`JointLawPosterior`][scalebayes.compute.JointLawPosterior].
    """
    if not isinstance(runs, Runs):
        raise TypeError(
            f"runs must be Runs (see validate_runs / read_runs_csv), got {type(runs).__name__}"
        )
    key = check_key(key)
    law = chinchilla_law() if law is None else law
    if not isinstance(law, JointLaw):
        raise TypeError(f"law must be a JointLaw, got {type(law).__name__}")
    check_likelihood(likelihood, delta, df)
    num_warmup = check_integer("num_warmup", num_warmup, 1)
    if not is_integer(num_samples) or num_samples < 4:
        raise ValueError(
            f"num_samples must be an integer >= 4 (r-hat and ESS need four draws per chain), "
            f"got {num_samples!r}"
        )
    num_samples = int(num_samples)
    if not is_integer(num_chains) or num_chains < 2:
        raise ValueError(f"num_chains must be an integer >= 2 (for r-hat), got {num_chains!r}")
    num_chains = int(num_chains)
    if sigma_prior is not None and not isinstance(sigma_prior, dist.Distribution):
        raise TypeError("sigma_prior must be a numpyro distribution or None")

    model = functools.partial(
        joint_law_model,
        law=law,
        likelihood=likelihood,
        delta=float(delta),
        df=float(df),
        sigma_prior=sigma_prior,
    )
    draws = sample_model(
        key,
        model,
        jnp.asarray(runs.N, jnp.float64),
        jnp.asarray(runs.D, jnp.float64),
        jnp.log(jnp.asarray(runs.loss, jnp.float64)),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        target_accept_prob=target_accept_prob,
        dense_mass=dense_mass,
        max_tree_depth=max_tree_depth,
        precision="float64",
    )
    samples = {k: draws.samples[k] for k in draws.latent}
    diagnostics = draws.diagnostics()
    problems = diagnostics.problems(max_r_hat, min_ess)
    if problems:
        warn_at_caller(  # the user's line, past the precision wrapper (a new user's audit)
            f"NUTS on {runs.source}: {'; '.join(problems)}; the draws may not represent the "
            "posterior: run more warm-up and samples (`num_warmup=, num_samples=`; command "
            "line: `--warmup, --samples`), or, where that does not help, give runs at more "
            "model sizes and budgets (a few runs leave the law's exponents trading off "
            "against each other, which more draws do not change), or check the law and priors",
            ConvergenceWarning,
        )
    return JointLawPosterior(law, runs, likelihood, samples, diagnostics)
