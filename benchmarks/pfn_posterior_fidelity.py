"""PFN posterior fidelity: its predictive quantiles against exact NUTS on a restricted prior.

The restricted prior is NSL-PFN's Down family with M3 only and (effectively) known noise:
``family_probs = (1, 0, 0)``, ``m4_prob = 0``, ``noise_log_sigma = (log 0.02, 1e-6)`` (so
sigma = 0.02 to within a relative 1e-6), lengths 10-125 points as the shipped models. A small
PFN is trained on it on this CPU (wall-clock guard ``--minutes``), then for ``--n-curves``
held-out curves of the same prior (fresh key) the exact posterior predictive at the target x
is computed by NUTS on the same generative model conditioned on the context y:

- latents ``m3_c ~ LogN(-2, 1)``, ``m3_gamma ~ LogN(0, 1)``, ``y0 ~ U(0.2, 1.2)``,
  ``y1 ~ U(0, y0)`` (M3's ``beta`` cancels in the Norm and is left out);
- ``y_clean`` from the prior's own ``assemble_curve`` on the curve's *full* grid (the Norm
  uses ``x[0]`` and ``x[length - 1]``);
- ``y_i ~ N(y_clean_i, 0.02)`` at the context points;
- the prior's rejection of curves with a negative noisy y: the accepted curves have density
  proportional to ``p(theta) p(y | theta) 1[y >= 0]``, so the posterior gains the factor
  ``prod_t Phi(y_clean_t / sigma)`` over the target points and the predictive of each target
  is a Normal truncated at 0.

NUTS: NumPyro's functional kernel (``numpyro.infer.hmc.hmc``), dense mass matrix, ``--chains``
chains per curve started at the best of 512 prior draws, ``vmap`` over chains and curves. The
NUTS predictive quantiles invert the exact mixture-of-truncated-normals CDF over the draws
(bisection), so only the posterior draws carry Monte Carlo error; split R-hat and
divergences are reported.

Reported: mean |q_PFN - q_NUTS| over curves and targets for q = 0.05, 0.25, 0.5, 0.75, 0.95, in
y units and relative to the NUTS 90% width at that target; and the empirical coverage of the
true noisy targets by the 50% and 90% central intervals of PFN and NUTS.

    python benchmarks/pfn_posterior_fidelity.py --minutes 9 --out out/pfn_fidelity
    python benchmarks/pfn_posterior_fidelity.py --eval-only out/pfn_fidelity/run --out DIR
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from pfn_cpu import LENGTH_RANGE, N_POINTS, _load, train_cpu  # the sibling script

SIGMA = 0.02
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
PRIOR_OVERRIDES = (
    ("family_probs", (1.0, 0.0, 0.0)),
    ("m4_prob", 0.0),
    ("noise_log_sigma", (math.log(SIGMA), 1e-6)),
)


def prior_config():
    from scalebayes.priors import PriorConfig

    return PriorConfig(log10_length_range=LENGTH_RANGE, **dict(PRIOR_OVERRIDES))


# -- the conditioned generative model ----------------------------------------------------------
def down_m3_model(x, length, context, target, y, config):
    """The prior's Down-M3 curve with known noise, conditioned on ``y`` at ``context`` points."""
    import numpyro
    import numpyro.distributions as dist
    from jax.scipy.stats import norm

    from scalebayes.priors._segments import SegmentTable, assemble_curve

    m3_c = numpyro.sample("m3_c", dist.LogNormal(*config.m3_c))
    m3_gamma = numpyro.sample("m3_gamma", dist.LogNormal(*config.m3_gamma))
    y0 = numpyro.sample("y0", dist.Uniform(*config.y0_range))
    y1 = numpyro.sample("y1", dist.Uniform(0.0, y0))
    one = jnp.ones((1,), x.dtype)
    table = SegmentTable(
        kind=jnp.zeros((1,), jnp.int32),
        starts=jnp.zeros((0,), jnp.int32),
        m3_gamma=m3_gamma[None],
        m3_c=m3_c[None],
        m4_alpha=one,
        m4_beta=one,
        m4_c=-one,
        y0=y0[None],
        y1=y1[None],
        up_b=jnp.ones((), x.dtype),
        up_g=jnp.ones((), x.dtype),
        up_slope=jnp.ones((), x.dtype),
    )
    y_clean = assemble_curve(x, length, table, up_terms=0, fast_m4=True)
    numpyro.sample("y", dist.Normal(y_clean, SIGMA).mask(context).to_event(1), obs=y)
    # the prior's rejection of negative noisy y at the (unobserved) targets
    numpyro.factor("valid", jnp.sum(jnp.where(target, norm.logcdf(y_clean / SIGMA), 0.0)))
    return y_clean


def _to_unconstrained(c, gamma, y0, y1, config):
    lo, hi = config.y0_range
    u0 = (y0 - lo) / (hi - lo)
    u1 = y1 / y0
    return {
        "m3_c": jnp.log(c),
        "m3_gamma": jnp.log(gamma),
        "y0": jnp.log(u0) - jnp.log1p(-u0),
        "y1": jnp.log(u1) - jnp.log1p(-u1),
    }


def _y_clean(x, length, z, config):
    """``y_clean`` of unconstrained latents ``z`` (one draw)."""
    from numpyro.handlers import substitute
    from numpyro.infer.util import constrain_fn

    args = (x, length, jnp.zeros_like(x, bool), jnp.zeros_like(x, bool), jnp.zeros_like(x), config)
    params = constrain_fn(down_m3_model, args, {}, z)
    return substitute(down_m3_model, params)(*args)


@eqx.filter_jit
def run_nuts(key, x, length, context, target, y, *, config, chains, warmup, samples, depth, chunk):
    """NUTS draws of every curve: ``{site: (n, chains, samples)}``, ``y_clean`` and stats.

    Curves run ``chunk`` at a time under ``vmap`` (``lax.map`` over chunks): on a CPU the
    per-step overhead of the NUTS loop dominates, so wide chunks pay off even though a vmapped
    step lasts as long as the longest trajectory among its lanes.
    """
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import potential_energy

    def potential_gen(x, length, context, target, y):
        args = (x, length, context, target, y, config)
        return lambda z: potential_energy(down_m3_model, args, {}, z)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def one_curve(key, x, length, context, target, y):
        args = (x, length, context, target, y)
        pot = potential_gen(*args)
        k_init, k_chain = jax.random.split(key)
        k = jax.random.split(k_init, 4)
        m = 512
        y0 = jax.random.uniform(k[2], (m,), minval=config.y0_range[0], maxval=config.y0_range[1])
        z = _to_unconstrained(
            jnp.exp(config.m3_c[0] + config.m3_c[1] * jax.random.normal(k[0], (m,))),
            jnp.exp(config.m3_gamma[0] + config.m3_gamma[1] * jax.random.normal(k[1], (m,))),
            y0,
            y0 * jax.random.uniform(k[3], (m,), minval=1e-3, maxval=1 - 1e-3),
            config,
        )
        energy = jax.vmap(pot)(z)
        energy = jnp.where(jnp.isfinite(energy), energy, jnp.inf)
        best = jnp.argsort(energy)[:chains]
        starts = jax.tree.map(lambda v: v[best], z)

        def one_chain(chain_key, start):
            state = init_kernel(
                start,
                warmup,
                dense_mass=True,
                target_accept_prob=0.9,
                max_tree_depth=depth,
                model_args=args,
                rng_key=chain_key,
            )

            def warm(s, _):
                return sample_kernel(s, model_args=args), None

            state, _ = jax.lax.scan(warm, state, None, length=warmup)

            def draw(s, _):
                s = sample_kernel(s, model_args=args)
                return s, (s.z, s.diverging, s.num_steps)

            _, out = jax.lax.scan(draw, state, None, length=samples)
            return out

        zs, diverging, steps = jax.vmap(one_chain)(jax.random.split(k_chain, chains), starts)
        flat = jax.tree.map(lambda v: v.reshape(-1), zs)
        y_clean = jax.vmap(lambda zz: _y_clean(x, length, zz, config))(flat)
        from numpyro.infer.util import constrain_fn

        cargs = (x, length, context, target, y, config)
        params = jax.vmap(lambda zz: constrain_fn(down_m3_model, cargs, {}, zz))(flat)
        params = jax.tree.map(lambda v: v.reshape(chains, samples), params)
        return params, y_clean, diverging, steps

    keys = jax.random.split(key, x.shape[0])
    return jax.lax.map(
        lambda a: one_curve(*a), (keys, x, length, context, target, y), batch_size=chunk
    )


@jax.jit
def truncated_mixture_quantiles(y_clean, target, levels):
    """Quantiles of ``mean_s TruncNormal_[0, inf)(y_clean_s, SIGMA)`` at every target.

    ``y_clean``: ``(S, L)`` draws of one curve; returns ``(L, len(levels))`` by 60 bisection
    steps on the exact mixture CDF.
    """
    from jax.scipy.special import ndtr

    mass0 = ndtr(-y_clean / SIGMA)  # P(y < 0) before truncation

    def cdf(v):  # v: (L, Q)
        z = (v[None] - y_clean[:, :, None]) / SIGMA
        f = (ndtr(z) - mass0[:, :, None]) / (1.0 - mass0[:, :, None])
        return jnp.mean(jnp.clip(f, 0.0, 1.0), axis=0)

    n_points = y_clean.shape[1]
    lo = jnp.zeros((n_points, levels.size))
    hi = jnp.broadcast_to((jnp.max(y_clean, axis=0) + 10 * SIGMA)[:, None], lo.shape)

    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < levels[None, :]
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 60, body, (lo, hi))
    return jnp.where(target[:, None], 0.5 * (lo + hi), jnp.nan)


def split_rhat(draws: np.ndarray) -> float:
    """Max split R-hat over sites; ``draws`` is ``{site: (chains, samples)}``."""
    from numpyro.diagnostics import split_gelman_rubin

    return max(float(split_gelman_rubin(np.asarray(v))) for v in draws.values())


# -- training and evaluation -------------------------------------------------------------------
def train_restricted(args) -> tuple[Path, dict]:
    return train_cpu(args, prior_overrides=PRIOR_OVERRIDES)


def pfn_quantiles(path: str, x, y, length, context_size) -> np.ndarray:
    """PFN quantiles at every target, ``(n, L, len(LEVELS))`` (NaN off the targets)."""
    from scalebayes.pfn import PFN

    pfn = PFN.load(path)
    n = x.shape[0]
    preds = pfn.predict_many(
        [x[i, : context_size[i]] for i in range(n)],
        [y[i, : context_size[i]] for i in range(n)],
        [x[i, context_size[i] : length[i]] for i in range(n)],
        y_scale=1.0,
    )
    logits = np.zeros((n, x.shape[1], pfn.bar.n_buckets), np.float32)
    for i, p in enumerate(preds):
        logits[i, context_size[i] : length[i]] = p.logits
    q = np.asarray(
        eqx.filter_jit(pfn.bar.quantiles)(jnp.asarray(logits), jnp.asarray(LEVELS, jnp.float32)),
        np.float64,
    )
    idx = np.arange(x.shape[1])
    target = (idx[None] >= context_size[:, None]) & (idx[None] < length[:, None])
    return np.where(target[..., None], q, np.nan), pfn.meta


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=9.0, help="training wall-clock guard")
    parser.add_argument("--out", default="out/pfn_fidelity")
    parser.add_argument("--eval-only", default=None, metavar="CHECKPOINT")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--border-curves", type=int, default=5000)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-curves", type=int, default=50)
    parser.add_argument("--eval-seed", type=int, default=7)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--max-tree-depth", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=50, help="curves vmapped together")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from scalebayes.priors import sample_curves

    if args.eval_only:
        checkpoint, train_info = Path(args.eval_only), {}
    else:
        checkpoint, train_info = train_restricted(args)

    config = prior_config()
    batch = sample_curves(
        jax.random.PRNGKey(args.eval_seed), args.n_curves, max_length=N_POINTS, config=config
    )
    x, y = np.asarray(batch.x), np.asarray(batch.y)
    length, context_size = np.asarray(batch.length), np.asarray(batch.context_size)
    context, target = np.asarray(batch.context_mask), np.asarray(batch.target_mask)
    x_safe = np.where(np.asarray(batch.mask), x, 1.0)  # padding never enters the model

    q_pfn, meta = pfn_quantiles(str(checkpoint), x, y, length, context_size)
    history = meta.get("training", {})
    train_info.update(
        steps=meta["step"],
        planned_steps=meta["train_config"]["steps"],
        curves=history.get("curves"),
        step_seconds=history.get("seconds"),
        model=meta["model_config"]["name"],
        prior_overrides=meta["train_config"].get("prior_overrides", {}),
    )

    load_nuts = _load()
    t0 = time.perf_counter()
    params, y_clean, diverging, steps = run_nuts(
        jax.random.PRNGKey(args.eval_seed + 1),
        jnp.asarray(x_safe),
        jnp.asarray(length),
        jnp.asarray(context),
        jnp.asarray(target),
        jnp.asarray(y),
        config=config,
        chains=args.chains,
        warmup=args.warmup,
        samples=args.samples,
        depth=args.max_tree_depth,
        chunk=args.chunk,
    )
    jax.block_until_ready(y_clean)
    levels = jnp.asarray(LEVELS, jnp.float32)
    q_nuts = np.stack(
        [
            np.asarray(truncated_mixture_quantiles(y_clean[i], jnp.asarray(target[i]), levels))
            for i in range(args.n_curves)
        ]
    ).astype(np.float64)
    nuts_seconds = time.perf_counter() - t0
    load_after = _load()
    params = {k: np.asarray(v) for k, v in params.items()}
    rhat = np.array(
        [split_rhat({k: v[i] for k, v in params.items()}) for i in range(args.n_curves)]
    )

    # metrics over all target points (pooled) and per curve
    width = q_nuts[..., 4] - q_nuts[..., 0]
    abs_diff = np.abs(q_pfn - q_nuts)
    rel_diff = abs_diff / width[..., None]
    t = target
    per_curve_abs = np.array([abs_diff[i][t[i]].mean(axis=0) for i in range(args.n_curves)])
    per_curve_rel = np.array([rel_diff[i][t[i]].mean(axis=0) for i in range(args.n_curves)])

    def coverage(q, lo_idx, hi_idx):
        inside = (y >= q[..., lo_idx]) & (y <= q[..., hi_idx])
        pooled = float(inside[t].mean())
        per_curve = float(np.mean([inside[i][t[i]].mean() for i in range(args.n_curves)]))
        return pooled, per_curve

    rows = []
    for j, level in enumerate(LEVELS):
        rows.append(
            {
                "q": level,
                "abs_diff_mean_curves": float(per_curve_abs[:, j].mean()),
                "abs_diff_pooled": float(abs_diff[..., j][t].mean()),
                "rel_to_nuts90_mean_curves": float(per_curve_rel[:, j].mean()),
                "rel_to_nuts90_pooled": float(rel_diff[..., j][t].mean()),
            }
        )
    cov = {
        "pfn_50": coverage(q_pfn, 1, 3),
        "pfn_90": coverage(q_pfn, 0, 4),
        "nuts_50": coverage(q_nuts, 1, 3),
        "nuts_90": coverage(q_nuts, 0, 4),
    }
    result = {
        "train": train_info,
        "nuts": {
            "chains": args.chains,
            "warmup": args.warmup,
            "samples": args.samples,
            "max_tree_depth": args.max_tree_depth,
            "seconds": nuts_seconds,
            "load_before": load_nuts,
            "load_after": load_after,
            "max_split_rhat": float(np.nanmax(rhat)),
            "curves_rhat_gt_1.05": int(np.sum(~(rhat <= 1.05))),
            "divergences": int(np.asarray(diverging).sum()),
            "mean_leapfrog_steps": float(np.asarray(steps).mean()),
        },
        "eval": {
            "n_curves": args.n_curves,
            "seed": args.eval_seed,
            "targets_total": int(t.sum()),
            "nuts_90_width_mean": float(width[t].mean()),
        },
        "quantile_rows": rows,
        "coverage": {k: {"pooled": v[0], "mean_curves": v[1]} for k, v in cov.items()},
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    np.savez(out / "quantiles.npz", q_pfn=q_pfn, q_nuts=q_nuts, y=y, target=t, rhat=rhat, x=x)

    ti = train_info
    if "wall_seconds" in ti:
        print(
            f"training ({ti['model']}, restricted prior): {ti['steps']}/{ti['planned_steps']} "
            f"steps, {ti['curves']:,} curves, {ti['wall_seconds']:.0f} s wall (steps "
            f"{ti['step_seconds']:.0f} s); load average {ti['load_before']} -> {ti['load_after']}"
        )
    else:
        print(f"checkpoint {checkpoint}: {ti['steps']} steps, {ti['curves']} curves")
    nu = result["nuts"]
    print(
        f"NUTS: {args.n_curves} curves x {args.chains} chains x ({args.warmup} warm-up + "
        f"{args.samples}) draws in {nu['seconds']:.0f} s; "
        f"max split R-hat {nu['max_split_rhat']:.3f}"
        f" ({nu['curves_rhat_gt_1.05']} curves > 1.05), {nu['divergences']} divergences, "
        f"{nu['mean_leapfrog_steps']:.1f} leapfrog steps/draw; load average "
        f"{nu['load_before']} -> {nu['load_after']}"
    )
    print(
        f"{result['eval']['targets_total']} targets; mean NUTS 90% width "
        f"{result['eval']['nuts_90_width_mean']:.4f}"
    )
    print(f"{'q':>5}{'|dq| curves':>13}{'|dq| pooled':>13}{'/w90 curves':>13}{'/w90 pooled':>13}")
    for r in rows:
        print(
            f"{r['q']:>5.2f}{r['abs_diff_mean_curves']:>13.4f}{r['abs_diff_pooled']:>13.4f}"
            f"{r['rel_to_nuts90_mean_curves']:>13.3f}{r['rel_to_nuts90_pooled']:>13.3f}"
        )
    print(
        f"{'coverage':<10}{'PFN pooled':>12}{'PFN curves':>12}"
        f"{'NUTS pooled':>13}{'NUTS curves':>13}"
    )
    for level in (50, 90):
        p, n_ = cov[f"pfn_{level}"], cov[f"nuts_{level}"]
        print(f"{level:>4}%     {p[0]:>12.3f}{p[1]:>12.3f}{n_[0]:>13.3f}{n_[1]:>13.3f}")
    print(f"wrote {out / 'results.json'}, results.csv, quantiles.npz")


if __name__ == "__main__":
    main()
