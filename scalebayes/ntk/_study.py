"""Scaling studies: mu_L, sigma_L and eps_L against the training-set size N.

[`infinite_width_study`][scalebayes.ntk.infinite_width_study] computes the kernels of the
whole training pool and the test set once and evaluates the exact loss statistics on
training subsets of each size; [`finite_width_study`][scalebayes.ntk.finite_width_study]
trains a vmapped ensemble at each size. Both return a
[`ScalingCurve`][scalebayes.ntk.ScalingCurve].

Training subsets: with ``n_draws = 1`` the training set of size ``N`` is the first ``N``
points of the (randomly ordered) pool, so sets are nested, and ``sigma_L`` is the spread over
initialisations only. With ``n_draws = R > 1`` each size draws ``R`` subsets without
replacement and the law of total variance adds the spread over the draw:
``mu_L = E_D[mu_L|D]``, ``sigma_L^2 = E_D[sigma_L^2|D] + Var_D[mu_L|D]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_integer
from .._precision import float64
from ._data import Dataset
from ._finite import ensemble_losses, init_ensemble, train_ensemble
from ._fits import Plateau, PowerLawFit, find_plateau, fit_power_law
from ._kernels import Kernels, MLPConfig, mlp_kernels
from ._loss import loss_statistics
from ._predict import ensemble_from_kernels

__all__ = ["ScalingCurve", "finite_width_study", "infinite_width_study", "log_sizes"]


#: The largest training-set size ``log_sizes`` makes (kernels are ``N x N``).
_MAX_SIZE = 10**9


def log_sizes(lo: int, hi: int, n: int | None = None) -> np.ndarray:
    """Log-spaced integer sizes from ``lo`` to ``hi``: powers of two by default, else ``n``."""
    if not (isinstance(lo, int | np.integer) and isinstance(hi, int | np.integer) and 2 <= lo < hi):
        raise ValueError(f"sizes need integers 2 <= lo < hi, got {lo}:{hi}")
    if hi > _MAX_SIZE:
        raise ValueError(f"sizes above {_MAX_SIZE:.0e} are not training-set sizes, got hi = {hi}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer)):
        raise ValueError(f"the number of sizes (--n-sizes) must be an integer, got {n!r}")
    if n is None:
        n = int(np.floor(np.log2(hi / lo))) + 1
        sizes = lo * 2 ** np.arange(n)
        return np.unique(np.append(sizes, hi)).astype(np.int64)
    if n < 2:
        raise ValueError(f"need at least 2 sizes (--n-sizes), got {n}")
    return np.unique(np.round(np.geomspace(lo, hi, n)).astype(np.int64))


@dataclass(frozen=True)
class ScalingCurve:
    """``mu_L``, ``sigma_L``, ``eps_L`` at each training-set size, for one kind of network.

    Attributes:
        label: e.g. ``"infinite"`` or ``"width 512, lr 8"``.
        sizes: training-set sizes ``N``, increasing.
        mu, sigma, eps: the statistics at each size.
        mu_se, sigma_se, eps_se: standard errors (finite ensembles: from the members, by
            bootstrap over them; infinite width: over training-set draws if ``n_draws > 1``,
            else 0 as the values are exact).
        width: hidden width, ``None`` for infinite width.
        learning_rate, t: the training of the networks (``t = None``: trained to infinity).
        sigma_init: ``sqrt(E_D[sigma_L^2 | D])``, the initialisation part of ``sigma_L``
            (equal to ``sigma`` unless training sets were re-drawn).
        train_mse: finite ensembles: mean final training MSE at each size (convergence check).
        seconds: wall time of the study.
        n_members: ensemble size (finite) or number of training-set draws (infinite).
    """

    label: str
    sizes: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    eps: np.ndarray
    mu_se: np.ndarray
    sigma_se: np.ndarray
    eps_se: np.ndarray
    width: int | None = None
    learning_rate: float | None = None
    t: float | None = None
    sigma_init: np.ndarray | None = None
    train_mse: np.ndarray | None = None
    seconds: float = float("nan")
    n_members: int = 1

    def power_laws(self, *, n_boot: int = 200, level: float = 0.9, seed: int = 0) -> dict:
        """Power laws ``a N^-alpha`` fitted to ``mu`` and ``sigma`` (bootstrap intervals).

        Returns:
            ``{"mu": PowerLawFit, "sigma": PowerLawFit}``; the exponent of ``eps_L`` is
            ``alpha_mu - alpha_sigma`` (0 on a plateau).
        """
        out: dict[str, PowerLawFit] = {}
        for name in ("mu", "sigma"):
            out[name] = fit_power_law(
                self.sizes, getattr(self, name), n_boot=n_boot, level=level, seed=seed
            )
        return out

    def plateau(self, rtol: float = 0.1, min_span: float = 2.0) -> Plateau:
        """Where ``eps_L`` settles: the smallest size from which on its largest value is
        within ``1 + rtol`` times its smallest, over at least ``min_span`` in N
        ([`find_plateau`][scalebayes.ntk.find_plateau])."""
        return find_plateau(self.sizes, self.eps, rtol=rtol, min_span=min_span)


def _check_sizes(sizes, pool: Dataset, n_draws: int) -> np.ndarray:
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or sizes.size < 1 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"sizes must be a 1-D array of integers, got {sizes!r}")
    if np.any(np.diff(sizes) <= 0) or sizes[0] < 2:
        raise ValueError(f"sizes must be increasing integers >= 2, got {sizes.tolist()}")
    limit = len(pool) if n_draws == 1 else len(pool) - 1
    if sizes[-1] > limit:
        raise ValueError(
            f"the largest size {sizes[-1]} exceeds the training pool of {len(pool)} points"
            + ("" if n_draws == 1 else " (re-drawing subsets needs a pool larger than N)")
        )
    return sizes.astype(np.int64)


def _sub(k: Kernels, rows, cols) -> Kernels:
    return Kernels(nngp=k.nngp[rows][:, cols], ntk=k.ntk[rows][:, cols])


@float64
def infinite_width_study(
    config: MLPConfig,
    pool: Dataset,
    test: Dataset,
    sizes,
    *,
    t: float | None = None,
    learning_rate: float = 1.0,
    n_draws: int = 1,
    seed: int = 0,
    diag_reg: float = 1e-10,
) -> ScalingCurve:
    """Exact infinite-width ``mu_L``, ``sigma_L``, ``eps_L`` at each training-set size.

    Runs in float64. The kernels of the pool (its first ``max(sizes)`` points when
    ``n_draws = 1``) and the test set are computed once.

    Args:
        config: the architecture.
        pool: the training pool (its order defines the nested subsets when ``n_draws = 1``).
        test: the test set.
        sizes: increasing training-set sizes.
        t: training time (``None``: infinity).
        learning_rate: GD learning rate (matters only for finite ``t``).
        n_draws: training subsets per size; ``> 1`` re-draws them at random and adds their
            spread by the law of total variance.
        seed: seed of the re-drawn subsets.
        diag_reg: relative diagonal regulariser of ``Theta_XX``.

    Returns:
        The [`ScalingCurve`][scalebayes.ntk.ScalingCurve] labelled ``"infinite"``.
    """
    if not (is_integer(n_draws) and n_draws >= 1):
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
    n_draws = int(n_draws)
    sizes = _check_sizes(sizes, pool, n_draws)
    start = time.perf_counter()
    n_pool = int(sizes[-1]) if n_draws == 1 else len(pool)
    rng = np.random.default_rng(seed)
    x_pool = jnp.asarray(pool.x[:n_pool], jnp.float64)
    x_test = jnp.asarray(test.x, jnp.float64)
    pool_pool = mlp_kernels(config, x_pool)
    test_pool = mlp_kernels(config, x_test, x_pool)
    test_nngp = mlp_kernels(config, x_test).nngp
    finite = all(
        bool(jnp.all(jnp.isfinite(k)))
        for k in (pool_pool.ntk, pool_pool.nngp, test_pool.ntk, test_pool.nngp, test_nngp)
    )
    if not finite:
        raise ValueError(
            f"the kernels are not finite (W_std = {config.W_std:g}, b_std = {config.b_std:g}, "
            f"depth {config.depth}, largest |x| {float(jnp.max(jnp.abs(x_pool))):.3g}): lower "
            "W_std or b_std (--W-std, --b-std) or rescale x"
        )
    y_test = jnp.asarray(test.y, jnp.float64)
    rows = []
    for n in sizes:
        draws = (
            [np.arange(n)]
            if n_draws == 1
            else [np.sort(rng.choice(len(pool), n, replace=False)) for _ in range(n_draws)]
        )
        stats = []
        for idx in draws:
            pred = ensemble_from_kernels(
                _sub(pool_pool, idx, idx),
                _sub(test_pool, slice(None), idx),
                test_nngp,
                pool.y[idx],
                t=t,
                learning_rate=learning_rate,
                diag_reg=diag_reg,
            )
            s = loss_statistics(pred, y_test)
            stats.append((float(s.mu), float(s.sigma)))
        rows.append(np.array(stats))
    mu = np.array([r[:, 0].mean() for r in rows])
    within = np.array([np.mean(r[:, 1] ** 2) for r in rows])
    between = np.array([r[:, 0].var(ddof=1) if len(r) > 1 else 0.0 for r in rows])
    sigma = np.sqrt(within + between)
    if n_draws > 1:
        mu_se = np.sqrt(between / n_draws)
        # standard error of sigma and eps by a bootstrap over the draws
        boot = rng.integers(0, n_draws, (500, n_draws))
        sig_b = np.array(
            [
                np.sqrt(np.mean(r[boot, 1] ** 2, axis=1) + r[boot, 0].var(axis=1, ddof=1))
                for r in rows
            ]
        )
        mu_b = np.array([r[boot, 0].mean(axis=1) for r in rows])
        sigma_se, eps_se = sig_b.std(axis=1), (sig_b / mu_b).std(axis=1)
    else:
        mu_se = sigma_se = eps_se = np.zeros_like(mu)
    return ScalingCurve(
        label="infinite" if t is None else f"infinite, t = {t:g}",
        sizes=sizes,
        mu=mu,
        sigma=sigma,
        eps=sigma / mu,
        mu_se=mu_se,
        sigma_se=sigma_se,
        eps_se=eps_se,
        width=None,
        learning_rate=None if t is None else learning_rate,
        t=t,
        sigma_init=np.sqrt(within),
        seconds=time.perf_counter() - start,
        n_members=n_draws,
    )


_BOOTSTRAP_TAG = 0x626F6F74  # b'boot'


def _member_stats(losses: np.ndarray, rng: np.random.Generator):
    n = losses.size
    mu, sigma = losses.mean(), losses.std(ddof=1)
    boot = losses[rng.integers(0, n, (1000, n))]
    sig_b = boot.std(axis=1, ddof=1)
    return mu, sigma, sigma / np.sqrt(n), sig_b.std(), (sig_b / boot.mean(axis=1)).std()


def finite_width_study(
    key: jax.Array,
    config: MLPConfig,
    width: int,
    pool: Dataset,
    test: Dataset,
    sizes,
    *,
    learning_rate: float,
    steps: int,
    n_members: int = 32,
) -> ScalingCurve:
    """``mu_L``, ``sigma_L``, ``eps_L`` of a trained finite-width ensemble at each size.

    At each size ``N`` the ensemble (``n_members`` initialisations, vmapped) is trained on the
    first ``N`` pool points by full-batch GD for ``steps`` steps; the statistics are the mean
    and standard deviation of the members' test MSEs, with standard errors from a bootstrap
    over members (its resamples drawn from ``key`` too).

    Args:
        key: PRNG key (split per size).
        config: the architecture.
        width: hidden width.
        pool: the training pool (its first ``N`` points train at size ``N``).
        test: the test set.
        sizes: increasing training-set sizes.
        learning_rate: GD learning rate.
        steps: GD steps (compare with [`infinite_width_study`][scalebayes.ntk.infinite_width_study]
            at ``t = steps``).
        n_members: ensemble size (>= 2).

    Returns:
        The [`ScalingCurve`][scalebayes.ntk.ScalingCurve] labelled ``"width W, lr eta"``.
    """
    if not (is_integer(n_members) and n_members >= 2):
        raise ValueError(f"n_members must be an integer >= 2, got {n_members!r}")
    n_members = int(n_members)
    sizes = _check_sizes(sizes, pool, 1)
    start = time.perf_counter()
    # The bootstrap's generator comes from the caller's key (a tag no per-size key uses), so
    # a study's standard errors are as reproducible, and as varied, as its key.
    boot_key = jax.random.fold_in(key, _BOOTSTRAP_TAG)
    rng = np.random.default_rng(int(jax.random.randint(boot_key, (), 0, 2**31 - 1)))
    rows, train_mse = [], []
    d, k = pool.x.shape[1], pool.y.shape[1]
    for n, sub in zip(sizes, jax.random.split(key, sizes.size), strict=True):
        ensemble = init_ensemble(sub, config, d, width, k, n_members)
        trained, train_loss = train_ensemble(
            ensemble, pool.x[:n], pool.y[:n], learning_rate=learning_rate, steps=steps
        )
        losses = np.asarray(ensemble_losses(trained, test.x, test.y), dtype=np.float64)
        if not np.all(np.isfinite(losses)):
            raise FloatingPointError(
                f"width {width}, N = {n}: training diverged at learning rate {learning_rate}"
            )
        rows.append(_member_stats(losses, rng))
        train_mse.append(float(np.mean(train_loss)))
    r = np.array(rows)
    return ScalingCurve(
        label=f"width {width}, lr {learning_rate:.3g}",
        sizes=sizes,
        mu=r[:, 0],
        sigma=r[:, 1],
        eps=r[:, 1] / r[:, 0],
        mu_se=r[:, 2],
        sigma_se=r[:, 3],
        eps_se=r[:, 4],
        width=width,
        learning_rate=learning_rate,
        t=float(steps),
        sigma_init=r[:, 1],
        train_mse=np.array(train_mse),
        seconds=time.perf_counter() - start,
        n_members=n_members,
    )
