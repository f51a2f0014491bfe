"""Vectorised NUTS over many curves: ``sample_posterior``, the public entry point.

See ``_nuts.py`` for the compiled kernel (per-curve mode finding, Laplace mass matrix, NUTS
chains under ``vmap``) and ``_mcmc_result.py`` for what it returns.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections import Counter
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_integer, check_key, is_finite_real, is_integer, is_real
from .._precision import check_precision, precision_scope
from .._shapes import bucket
from .._warnings import RisingCurveWarning, warn_at_caller
from ._bayes_base import NOISE_MODELS, OU_NOISE_MODELS, CurveData, curve_data
from ._bayes_models import BAYES_FAMILIES, MAX_BAYES_BREAKS, bayes_model
from ._mcmc_result import MCMCResult
from ._nuts import _bucket_points, _flatten, _prior_box, _sample_chunk, _unflatten
from ._point import UntestedBreakWarning


def _take(data: CurveData, idx: np.ndarray, size: int) -> CurveData:
    """Curves ``idx`` of a stacked ``CurveData``, their point axis cut to ``size``."""
    per_point = ("v", "log_y", "mask")
    return CurveData(
        *(
            a[idx][:, :size] if name in per_point else a[idx]
            for name, a in zip(CurveData._fields, data, strict=True)
        )
    )


def _default_chunk() -> int:
    return 1 if jax.default_backend() == "cpu" else 1_000_000


def _as_keys(key, n: int):
    key = check_key(key)
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    base_ndim = 0 if typed else 1
    if key.ndim == base_ndim:
        return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    if key.ndim == base_ndim + 1 and key.shape[0] == n:
        return key
    raise ValueError(
        f"key must be one PRNG key or one per curve (leading axis {n}); got shape {key.shape}"
    )


def _refuse_repeated_x(xs, names, noise: str) -> None:
    """OU residuals are one path in log x: a zero gap makes a repeat an exact observation of
    the first, which inflates the likelihood by about ``log(1 / sigma)`` per repeat."""
    for i, x in enumerate(xs):
        same = np.flatnonzero(np.diff(x) == 0)  # x is sorted by _validate
        if same.size:
            where = f"curve {i}" if names is None else f"curve {names[i]!r}"
            raise ValueError(
                f"{where}: x = {x[same[0]]:.6g} appears more than once; noise={noise!r} reads "
                "its residuals as one path in x, so average repeated runs first "
                "(scalebayes.data.merge_duplicate_x) or use noise='normal'"
            )


def _start_fits(fit_curves, family, xs, ys, n_breaks, names) -> list:
    """The point fits the chains start from: one batched call, else (one curve's fit failed,
    which would lose the batch) each curve alone, None for a curve whose fit fails, whose
    chains then start at the prior's locations (a ``UserWarning`` names it)."""
    with warnings.catch_warnings():  # a start, not an answer: its untested break is no news
        warnings.simplefilter("ignore", UntestedBreakWarning)
        warnings.simplefilter("ignore", RisingCurveWarning)
        try:
            return fit_curves(family, xs, ys, n_breaks=n_breaks, names=list(names))
        except ValueError:
            pass
        fits, failed = [], []
        longest = max(x.size for x in xs)  # one compiled shape for every curve, the batch's
        for x, y, name in zip(xs, ys, names, strict=True):
            try:
                (fit,) = fit_curves(
                    family, [x], [y], n_breaks=n_breaks, names=[name], pad_to=longest
                )
            except ValueError as error:
                fit = None
                failed.append(f"{name!r} ({str(error).removeprefix(f'curve {name!r}: ')})")
            fits.append(fit)
    if failed:
        warn_at_caller(
            f"no {family} point fit for curve(s) {'; '.join(failed)}: their chains start at "
            "the prior's locations",
            UserWarning,
        )
    return fits


def sample_posterior(
    key,
    family: str,
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    *,
    names: Sequence[str] | None = None,
    n_breaks: int | Sequence[int] | None = None,
    noise: str = "ou",
    df: float = 5.0,
    num_warmup: int = 300,
    num_samples: int = 300,
    num_chains: int = 4,
    max_tree_depth: int | tuple[int, int] = 8,
    target_accept_prob: float = 0.95,
    dense_mass: bool = True,
    init_jitter: float = 1.0,
    chunk_size: int | None = None,
    precision: str | None = None,
) -> MCMCResult:
    """Sample the posterior of a Bayesian scaling-law family for many curves with NUTS.

    Every curve has its own NUTS chains with their own step size and dense mass-matrix
    adaptation, and all curves run through one compiled function (NumPyro's functional
    ``hmc`` kernel in a ``lax.scan``, ``vmap``-ed over chains and over the curves of a chunk),
    compiled once per padded length (the next power of two of a curve's number of points)
    and reused across calls. Before sampling, each curve's posterior mode is found from its
    point fit ([`fit_curves`][scalebayes.inference.fit_curves]) by damped Newton steps; the
    Laplace covariance there is the initial inverse mass matrix, and the chains start at the
    mode plus ``init_jitter`` Laplace-scaled Gaussian jitter. The models and priors are those
    of [`bayes_model`][scalebayes.inference.bayes_model].

    Args:
        key: a PRNG key, or one key per curve (leading axis ``len(xs)``). A curve's draws
            depend only on its own key and data (curve ``i`` of a single key uses
            ``fold_in(key, i)``) and on the chunk width: curves per ``vmap`` chunk, the
            smaller of ``chunk_size`` and the next power of two of the number of curves of
            its padded length (a different width compiles a different program, and float32
            rounding then sends the chains elsewhere; always 1 on CPU by default).
        family: ``"m3"``, ``"m4"`` or ``"bnsl"``.
        xs: per-curve x of the context points (1-D, > 0; at least 3 points).
        ys: per-curve y of the context points (> 0), each the length of its x.
        names: optional curve names (for messages and diagnostics).
        n_breaks: BNSL only: 1 or 2 for every curve, one value per curve, or None to take
            the point fit's held-out choice clipped to 1..2.
        noise: the noise model on log y: ``"ou"`` (default; Ornstein-Uhlenbeck residuals,
            which absorb a systematic misfit of the family instead of reading it as a tight
            fit), ``"ou_irw"`` (OU residuals plus a random walk of the log-log slope, whose
            variance keeps growing beyond the context), ``"ou_walk"`` (the OU model, with such
            a walk beyond the last context point only, its rate from the prior), ``"normal"``
            or ``"student_t"``
            (i.i.d.); see [`BayesModel`][scalebayes.inference.BayesModel]. The OU models
            refuse a repeated x (their residuals at one x are one value, so each repeat would
            count as an exact observation): average repeats first
            ([`merge_duplicate_x`][scalebayes.data.merge_duplicate_x]).
        df: degrees of freedom of the Student-t noise (fixed), at least 2.
        num_warmup: warm-up (adaptation) iterations per chain.
        num_samples: draws kept per chain.
        num_chains: chains per curve (at least 2: the convergence checks compare them).
        max_tree_depth: NUTS tree depth cap, or ``(warm-up cap, sampling cap)``.
        target_accept_prob: step-size adaptation target.
        dense_mass: adapt a dense (True) or diagonal mass matrix.
        init_jitter: chains start at the posterior mode plus this many Laplace standard
            deviations of Gaussian jitter (0 starts every chain at the mode).
        chunk_size: curves vectorised together (``vmap``); chunks run one after another.
            Default: 1 on CPU (under ``vmap`` a NUTS step lasts as long as the longest
            trajectory of its lanes), all curves on an accelerator.
        precision: ``"float32"`` or ``"float64"`` (the run enters or leaves JAX's x64 mode
            for its duration); ``None``: the innermost
            [`scalebayes.precision`][scalebayes.precision] context, else ``"float32"``.
            Sampling M4 in float64 costs about 2.5x the CPU time on the IC benchmark and gave
            the same RMSLE / LL / MSCE to three digits; the M4 solve converges to float32
            precision either way. Predictive quantities are always float64.

    Returns:
        An [`MCMCResult`][scalebayes.inference.MCMCResult].

    Raises:
        ValueError: for bad data (naming the curve) or settings (naming the argument).
    """
    from ._point import _validate, fit_curves

    family = str(family).lower()
    if family not in BAYES_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {BAYES_FAMILIES}")
    for name, value, low in (
        ("num_warmup", num_warmup, 0),
        ("num_samples", num_samples, 1),
        ("num_chains", num_chains, 2),  # R-hat compares chains: one has none to compare
    ):
        check_integer(name, value, low)
    num_warmup, num_samples, num_chains = int(num_warmup), int(num_samples), int(num_chains)
    depth = max_tree_depth if isinstance(max_tree_depth, tuple) else (max_tree_depth,) * 2
    if len(depth) != 2 or not all(is_integer(d) and 1 <= d <= 15 for d in depth):
        raise ValueError(f"max_tree_depth must be an int in 1..15 or a pair, got {depth!r}")
    depth = tuple(int(d) for d in depth)
    if not (is_real(target_accept_prob) and 0 < target_accept_prob < 1):
        raise ValueError(
            f"target_accept_prob must be a number in (0, 1), got {target_accept_prob!r}"
        )
    if not (is_finite_real(init_jitter) and init_jitter >= 0):
        raise ValueError(f"init_jitter must be a finite number >= 0, got {init_jitter!r}")
    if precision is not None:
        check_precision(precision)
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    if noise == "student_t" and not (is_finite_real(df) and df >= 2):
        raise ValueError(
            f"df must be a finite number >= 2 for Student-t noise (normal noise is the "
            f"infinite-df limit: noise='normal'), got {df!r}"
        )
    if family != "bnsl" and n_breaks is not None:
        raise ValueError("n_breaks only applies to family 'bnsl'")
    if n_breaks is not None:  # checked before any fit runs
        per = [n_breaks] if np.ndim(n_breaks) == 0 else list(np.ravel(n_breaks))
        if not per or not all(is_integer(k) and 1 <= k <= MAX_BAYES_BREAKS for k in per):
            raise ValueError(
                f"n_breaks must be None, 1 or 2, or one of those per curve; got {n_breaks!r}"
            )
    # a posterior needs no distinct x per parameter: the priors pin what the data do not
    xs, ys = _validate(xs, ys, min_points=3, names=names, distinct=False)
    if noise in OU_NOISE_MODELS:
        _refuse_repeated_x(xs, names, noise)
    if names is not None:  # they key the convergence report and the ArviZ coordinates
        repeated = sorted(str(c) for c, count in Counter(names).items() if count > 1)
        if repeated:
            raise ValueError(f"names must be unique; repeated: {', '.join(map(repr, repeated))}")
    n = len(xs)
    if n_breaks is not None and np.ndim(n_breaks) > 0 and np.size(n_breaks) != n:
        raise ValueError(f"n_breaks gives {np.size(n_breaks)} values for {n} curves")
    names = tuple(names) if names is not None else tuple(f"curve {i}" for i in range(n))
    curve_keys = _as_keys(key, n)
    chunk = _default_chunk() if chunk_size is None else chunk_size
    if not is_integer(chunk) or chunk < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = int(chunk)

    # Point fits: the starting points (and, for BNSL, the number of breaks).
    fit_breaks = None
    if family == "bnsl":
        if n_breaks is None or np.ndim(n_breaks) == 0:
            fit_breaks = None if n_breaks is None else int(n_breaks)
        breaks_arg = n_breaks
    fits = _start_fits(fit_curves, family, xs, ys, fit_breaks, names)
    if family == "bnsl":
        if breaks_arg is None:  # a curve without a fit: one break
            per_curve = np.clip([1 if f is None else f.n_breaks for f in fits], 1, MAX_BAYES_BREAKS)
        else:
            per_curve = np.broadcast_to(np.asarray(breaks_arg), (n,)).astype(int)
            if np.any((per_curve < 1) | (per_curve > MAX_BAYES_BREAKS)):
                raise ValueError(f"n_breaks must be 1 or 2 per curve, got {breaks_arg!r}")
        slots = int(per_curve.max())
        model = bayes_model("bnsl", n_breaks=slots, noise=noise, df=df)
        masks = [(np.arange(slots) < k).astype(np.float64) for k in per_curve]
    else:
        per_curve = None
        model = bayes_model(family, noise=noise, df=df)
        masks = [np.zeros(0)] * n

    n_points = _bucket_points(max(x.size for x in xs))
    datas = [curve_data(x, y, n_points, m) for x, y, m in zip(xs, ys, masks, strict=True)]
    starts, lows, highs = [], [], []
    for fit, d in zip(fits, datas, strict=True):
        if fit is None:  # the prior's locations
            params, sigma = None, None
        else:
            params, sigma = fit.params, math.sqrt(fit.loss) if np.isfinite(fit.loss) else None
        starts.append(_flatten(model, model.init_latents(params, sigma, d)))
        lo, hi = _prior_box(model, d)
        lows.append(lo)
        highs.append(hi)
    starts, lows, highs = np.stack(starts), np.stack(lows), np.stack(highs)
    data = jax.tree.map(lambda *leaves: np.stack(leaves), *datas)

    # Curves run in chunks of one padded length each (the next power of two of their number
    # of points), at most `chunk` curves, padded to a power of two of curves (repeating the
    # first): few compiled shapes, reused across calls.
    buckets = np.array([_bucket_points(x.size) for x in xs])
    chunks = []
    for size in np.unique(buckets):
        members = np.flatnonzero(buckets == size)
        width = min(chunk, bucket(members.size, 1))
        for begin in range(0, members.size, width):
            part = members[begin : begin + width]
            chunks.append(
                (int(size), np.concatenate([part, np.repeat(part[:1], width - part.size)]))
            )

    # Full-precision matrix products: accelerators may otherwise run float32 matmuls (the
    # dense mass matrix, the Newton steps) in reduced precision (e.g. TF32 on NVIDIA GPUs).
    precise = jax.default_matmul_precision("highest")
    outputs = [None] * n
    tic = time.perf_counter()
    with precision_scope(precision, default="float32") as precision, precise:
        dtype = jnp.float64 if precision == "float64" else jnp.float32
        cast = functools.partial(jnp.asarray, dtype=dtype)
        for size, idx in chunks:
            out = _sample_chunk(
                curve_keys[jnp.asarray(idx)],
                cast(starts[idx]),
                cast(lows[idx]),
                cast(highs[idx]),
                cast(init_jitter),
                jax.tree.map(cast, _take(data, idx, size)),
                model=model,
                num_chains=num_chains,
                num_warmup=num_warmup,
                num_samples=num_samples,
                max_tree_depth=tuple(depth),
                target_accept_prob=float(target_accept_prob),
                dense_mass=bool(dense_mass),
            )
            out = jax.tree.map(lambda a: np.asarray(a, np.float64), out)
            for j, i in enumerate(idx):
                if outputs[i] is None:
                    outputs[i] = jax.tree.map(lambda a, j=j: a[j], out)
    seconds = time.perf_counter() - tic
    zs, stats, step_size, chain_starts, _ = jax.tree.map(lambda *a: np.stack(a), *outputs)
    diverging, n_steps, accept, energy, potential = stats
    n_steps = n_steps.astype(np.int64)
    sample_stats = {
        "diverging": diverging.astype(bool),
        "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(np.int64) + 1,
        "acceptance_rate": accept.astype(np.float64),
        "energy": energy.astype(np.float64),
        "lp": -potential.astype(np.float64),
    }
    return MCMCResult(
        family=family,
        model=model,
        names=names,
        x=tuple(xs),
        y=tuple(ys),
        data=data,
        samples={k: np.asarray(v) for k, v in _unflatten(model, zs).items()},
        sample_stats=sample_stats,
        step_size=step_size,
        n_breaks=per_curve,
        init={k: np.asarray(v) for k, v in _unflatten(model, chain_starts).items()},
        settings={
            "num_warmup": num_warmup,
            "num_samples": num_samples,
            "num_chains": num_chains,
            "max_tree_depth": tuple(depth),
            "target_accept_prob": float(target_accept_prob),
            "dense_mass": bool(dense_mass),
            "init_jitter": float(init_jitter),
            "chunk_size": chunk,
            "precision": precision,
            "noise": noise,
            "df": float(df),
        },
        seconds=seconds,
    )
