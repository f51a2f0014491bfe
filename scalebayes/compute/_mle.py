"""Maximum-likelihood (Huber M-estimate) fit of the Chinchilla law, as Besiroglu et al. did it.

Hoffmann et al. (2022) and Besiroglu et al. (2024) estimate ``(log A, log B, log E, alpha,
beta)`` by minimising

    sum_i rho_delta( LSE(log A - alpha log N_i, log B - beta log D_i, log E) - log L_i ),

``LSE`` the log-sum-exp and ``rho_delta`` the Huber function with ``delta = 1e-3``, with
L-BFGS from every point of a grid of initialisations, keeping the best. The objective is a
**sum** over runs, not a mean: averaging scales the objective and its gradient down by the
number of runs, so an optimiser with an absolute gradient tolerance stops early; Besiroglu et
al. traced Hoffmann's implausibly narrow intervals partly to such premature termination.
Every start is optimised for a fixed number of L-BFGS iterations (optax's ``lbfgs`` with a
zoom line search), all starts at once (``vmap``), in float64.

Standard errors come from a nonparametric bootstrap (runs resampled with replacement, as
multinomial weights on the summed objective), each resample re-optimised from the best
distinct optima of the full-data fit.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike

from .._checks import check_integer, check_key, is_integer
from .._precision import float64
from ._allocation import Allocation, chinchilla_allocation
from ._likelihood import DELTA, huber_loss
from ._runs import Runs

PARAM_ORDER = ("log_A", "log_B", "log_E", "alpha", "beta")
"""The order of the optimised vector (Besiroglu's ``a, b, e, alpha, beta``)."""
PARAM_NAMES = ("E", "A", "B", "alpha", "beta")
"""The law's parameters in natural units, as tables show them."""


def besiroglu_grid() -> np.ndarray:
    """Besiroglu et al.'s 4,500 initialisations, shape ``(4500, 5)`` in ``PARAM_ORDER``.

    ``log A, log B`` in {0, 5, ..., 25}, ``log E`` in {-1, -0.5, ..., 1}, ``alpha, beta`` in
    {0, 0.5, ..., 2}.
    """
    ab = np.arange(0.0, 30.0, 5.0)
    e = np.arange(-1.0, 1.5, 0.5)
    exps = np.arange(0.0, 2.5, 0.5)
    return np.array(list(itertools.product(ab, ab, e, exps, exps)), dtype=np.float64)


def small_grid() -> np.ndarray:
    """A coarser grid of 432 initialisations for quick fits, shape ``(432, 5)``.

    ``log A, log B`` in {0, 5, 10, 20}, ``log E`` in {-1, 0, 1}, ``alpha, beta`` in
    {0.2, 0.5, 1}.
    """
    ab = np.array([0.0, 5.0, 10.0, 20.0])
    e = np.array([-1.0, 0.0, 1.0])
    exps = np.array([0.2, 0.5, 1.0])
    return np.array(list(itertools.product(ab, ab, e, exps, exps)), dtype=np.float64)


def huber_objective(
    theta: Array,
    log_N: Array,
    log_D: Array,
    log_loss: Array,
    weights: Array | None = None,
    delta: float = DELTA,
) -> Array:
    """The summed Huber objective of one parameter vector ``theta`` (``PARAM_ORDER``).

    Args:
        theta: ``(log A, log B, log E, alpha, beta)``.
        log_N: ``log N`` per run.
        log_D: ``log D`` per run.
        log_loss: ``log L`` per run.
        weights: optional weight per run (bootstrap counts); ``None`` weighs each run once.
        delta: the Huber threshold.

    Returns:
        ``sum_i w_i rho_delta(log L_hat_i - log L_i)``.
    """
    a, b, e, alpha, beta = theta
    terms = jnp.stack(
        [a - alpha * log_N, b - beta * log_D, jnp.broadcast_to(e, log_N.shape)], axis=0
    )
    residual = logsumexp(terms, axis=0) - log_loss
    rho = huber_loss(residual, delta)
    return jnp.sum(rho if weights is None else weights * rho)


def _minimise(objective, x0: Array, iterations: int) -> tuple[Array, Array]:
    """Run ``iterations`` L-BFGS steps from ``x0``; return the end point and its value."""
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(_, carry):
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = solver.update(grad, state, x, value=value, grad=grad, value_fn=objective)
        return optax.apply_updates(x, updates), state

    x, _ = jax.lax.fori_loop(0, iterations, step, (x0, solver.init(x0)))
    return x, objective(x)


@functools.partial(jax.jit, static_argnames=("delta", "iterations"))
def _fit_starts(starts, log_N, log_D, log_loss, weights, *, delta, iterations):
    """Optimise every start (rows of ``starts``) for every weight vector (rows of ``weights``)."""

    def one(x0, w):
        return _minimise(
            lambda t: huber_objective(t, log_N, log_D, log_loss, w, delta), x0, iterations
        )

    over_starts = jax.vmap(one, in_axes=(0, None))
    return jax.vmap(over_starts, in_axes=(None, 0))(starts, weights)


@functools.partial(jax.jit, static_argnames=("delta",))
def _score_starts(starts, log_N, log_D, log_loss, *, delta):
    """The objective at every start, without optimising."""
    return jax.vmap(lambda t: huber_objective(t, log_N, log_D, log_loss, None, delta))(starts)


def _named(theta: np.ndarray) -> dict[str, np.ndarray | float]:
    out = dict(zip(PARAM_ORDER, np.moveaxis(np.asarray(theta), -1, 0), strict=True))
    out["A"], out["B"], out["E"] = (np.exp(out[k]) for k in ("log_A", "log_B", "log_E"))
    return out


@dataclass(frozen=True)
class JointLawMLE:
    """The Huber M-estimate of the Chinchilla law, with optional bootstrap draws.

    Attributes:
        params: ``E, A, B, alpha, beta`` and ``log_A, log_B, log_E`` at the best start.
        objective: the summed Huber objective there.
        runs: the data.
        delta: the Huber threshold.
        n_starts: number of initialisations optimised.
        n_converged: starts that ended within ``1e-6`` (relative) of the best objective.
        bootstrap: bootstrap estimates per parameter, shape ``(n_bootstrap,)``, or ``None``.
    """

    params: dict[str, float]
    objective: float
    runs: Runs
    delta: float
    n_starts: int
    n_converged: int
    bootstrap: dict[str, np.ndarray] | None = None

    def standard_errors(self) -> dict[str, float]:
        """Bootstrap standard deviations per parameter (requires ``n_bootstrap > 0``)."""
        if self.bootstrap is None:
            raise ValueError("no bootstrap draws; fit with n_bootstrap > 0")
        return {k: float(np.std(v, ddof=1)) for k, v in self.bootstrap.items()}

    @float64
    def allocation(
        self, compute: ArrayLike, *, flops_per_param_token: float | None = None
    ) -> Allocation:
        """The compute-optimal allocation of the point estimate (closed form).

        ``flops_per_param_token`` (``k`` in ``C = k N D``) defaults to the runs' own
        ([`Runs.flops_per_param_token`][scalebayes.compute.Runs]).

        Raises:
            ValueError: if a budget is not finite and > 0.
        """
        if flops_per_param_token is None:
            flops_per_param_token = self.runs.flops_per_param_token
        p = self.params
        out = chinchilla_allocation(
            p["E"],
            p["A"],
            p["B"],
            p["alpha"],
            p["beta"],
            np.asarray(compute, dtype=np.float64),
            flops_per_param_token=flops_per_param_token,
        )
        return Allocation(*(np.asarray(v, dtype=np.float64) for v in out))

    @float64
    def bootstrap_allocation(
        self, compute: ArrayLike, *, flops_per_param_token: float | None = None
    ) -> Allocation:
        """The allocation of every bootstrap draw, each field ``(n_bootstrap,) + compute.shape``
        (``flops_per_param_token`` as in
        [`allocation`][scalebayes.compute.JointLawMLE.allocation])."""
        if flops_per_param_token is None:
            flops_per_param_token = self.runs.flops_per_param_token
        if self.bootstrap is None:
            raise ValueError("no bootstrap draws; fit with n_bootstrap > 0")
        b = self.bootstrap
        c = np.asarray(compute, dtype=np.float64)
        out = chinchilla_allocation(
            *(np.asarray(b[k]).reshape((-1,) + (1,) * c.ndim) for k in PARAM_NAMES),
            c,
            flops_per_param_token=flops_per_param_token,
        )
        return Allocation(*(np.asarray(v, dtype=np.float64) for v in out))


@float64
def fit_joint_law_mle(
    runs: Runs,
    *,
    starts: ArrayLike | str = "besiroglu",
    refine: int | None = 64,
    delta: float = DELTA,
    iterations: int = 300,
    n_bootstrap: int = 0,
    bootstrap_starts: int = 1,
    bootstrap_iterations: int = 100,
    key: Array | None = None,
) -> JointLawMLE:
    """Fit the Chinchilla law by multi-start L-BFGS on the summed Huber objective.

    Every start is scored by the objective at its initial point; the ``refine`` best are
    optimised with ``iterations`` L-BFGS steps each and the best end point is the estimate.
    ``refine=None`` optimises every start, as Besiroglu et al. did (for their 4,500-point grid
    minutes instead of seconds on 2 CPU cores; on the Chinchilla data it finds the same
    optimum, to 1e-13 relative, see ``benchmarks/compute_optimal.py --full-grid``).

    Args:
        runs: the data ([`Runs`][scalebayes.compute.Runs]).
        starts: ``"besiroglu"`` (4,500 grid points,
            [`besiroglu_grid`][scalebayes.compute.besiroglu_grid]), ``"small"`` (432,
            [`small_grid`][scalebayes.compute.small_grid]) or an array ``(n_starts, 5)`` in
            the order ``(log A, log B, log E, alpha, beta)``.
        refine: how many of the best-scoring starts to optimise (``None`` for all).
        delta: the Huber threshold.
        iterations: L-BFGS iterations per start.
        n_bootstrap: bootstrap resamples for standard errors (0 for none).
        bootstrap_starts: distinct full-data optima (best first) each resample is re-optimised
            from; 1 warm-starts every resample at the estimate.
        bootstrap_iterations: L-BFGS iterations per resample (from a warm start).
        key: a JAX PRNG key (required when ``n_bootstrap > 0``).

    Returns:
        A [`JointLawMLE`][scalebayes.compute.JointLawMLE].
    """
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be Runs, got {type(runs).__name__}")
    if isinstance(starts, str):
        grids = {"besiroglu": besiroglu_grid, "small": small_grid}
        if starts not in grids:
            raise ValueError(f"starts must be 'besiroglu', 'small' or an array, got {starts!r}")
        grid = grids[starts]()
    else:
        grid = np.asarray(starts, dtype=np.float64)
        if (
            grid.ndim != 2
            or grid.shape[0] < 1
            or grid.shape[1] != 5
            or not np.all(np.isfinite(grid))
        ):
            raise ValueError(
                f"starts must be a finite (n_starts, 5) array with n_starts >= 1, got shape "
                f"{grid.shape}"
            )
    if refine is not None and (not is_integer(refine) or refine < 1):
        raise ValueError(f"refine must be None or a positive integer, got {refine!r}")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be finite and > 0, got {delta!r}")
    for name, value in (
        ("iterations", iterations),
        ("bootstrap_starts", bootstrap_starts),
        ("bootstrap_iterations", bootstrap_iterations),
    ):
        check_integer(name, value, 1)
    if not is_integer(n_bootstrap) or n_bootstrap < 0 or n_bootstrap == 1:
        raise ValueError(
            f"n_bootstrap must be 0 (no bootstrap) or an integer >= 2 (a standard error needs "
            f"two draws), got {n_bootstrap!r}"
        )
    refine = None if refine is None else int(refine)
    n_bootstrap = int(n_bootstrap)
    if n_bootstrap and key is None:
        raise ValueError("n_bootstrap > 0 needs a PRNG key (key=jax.random.key(0))")
    if key is not None:
        key = check_key(key)
    n = len(runs)
    delta = float(delta)
    data = (
        jnp.log(jnp.asarray(runs.N)),
        jnp.log(jnp.asarray(runs.D)),
        jnp.log(jnp.asarray(runs.loss)),
    )
    if refine is not None and refine < grid.shape[0]:
        score = np.asarray(_score_starts(jnp.asarray(grid), *data, delta=delta))
        score = np.where(np.isfinite(score), score, np.inf)
        grid = grid[np.argsort(score, kind="stable")[:refine]]
    ends, values = _fit_starts(
        jnp.asarray(grid), *data, jnp.ones((1, n)), delta=delta, iterations=iterations
    )
    ends, values = np.asarray(ends[0]), np.asarray(values[0])
    values = np.where(np.isfinite(values), values, np.inf)
    order = np.argsort(values, kind="stable")
    best = order[0]
    if not np.isfinite(values[best]):
        raise ValueError(
            f"{runs.source}: no start of the fit reached a finite objective; check the runs' "
            "N, D and loss (e.g. losses of another unit or scale)"
        )
    n_converged = int(np.sum(values - values[best] <= 1e-6 * abs(values[best])))
    bootstrap = None
    if n_bootstrap:
        _, first = np.unique(np.round(ends[order], 3), axis=0, return_index=True)
        boot_starts = ends[order[np.sort(first)[:bootstrap_starts]]]
        idx = jax.random.randint(key, (n_bootstrap, n), 0, n)
        weights = jax.vmap(lambda i: jnp.bincount(i, length=n))(idx).astype(jnp.float64)
        b_ends, b_values = _fit_starts(
            jnp.asarray(boot_starts),
            *data,
            weights,
            delta=delta,
            iterations=bootstrap_iterations,
        )
        b_values = jnp.where(jnp.isfinite(b_values), b_values, jnp.inf)
        pick = jnp.argmin(b_values, axis=1)
        b_theta = np.asarray(jnp.take_along_axis(b_ends, pick[:, None, None], axis=1)[:, 0])
        bootstrap = {k: np.asarray(v) for k, v in _named(b_theta).items()}
    params = {k: float(v) for k, v in _named(ends[best]).items()}
    return JointLawMLE(
        params, float(values[best]), runs, delta, grid.shape[0], n_converged, bootstrap
    )


def estimates_table(
    rows: Sequence[tuple[str, dict[str, float], dict[str, float] | None]],
) -> str:
    """Format estimates (with optional standard errors) of ``E, A, B, alpha, beta`` as a table.

    Args:
        rows: ``(label, estimates, standard_errors_or_None)`` per row.

    Returns:
        The table as text.
    """
    header = ["fit", *PARAM_NAMES]
    body = []
    for label, est, se in rows:
        cells = [label]
        for name in PARAM_NAMES:
            cell = f"{est[name]:.5g}"
            if se is not None and name in se:
                cell += f" ({se[name]:.3g})"
            cells.append(cell)
        body.append(cells)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, ["-" * w for w in widths], *body]
    ]
    return "\n".join(lines)
