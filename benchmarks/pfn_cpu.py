"""A PFN trained on this CPU in under 10 minutes against trivial baselines on prior curves.

Trains a small PFN on the NSL-PFN prior (the shipped models' length range, 10-125 points) with
a wall-clock guard, then scores it on held-out prior curves drawn with a fresh key: the
context is each curve's first ``context_size`` points and the targets are the rest. Beside it,
in the same run and on the same curves:

- last value: the median is the last context y at every target, with a Gaussian predictive
  whose sigma is the root mean square of the context's first differences
  ``sqrt(mean(diff(y_ctx)^2))`` (floored at 1e-6);
- M2 point fit: ``fit_curves("m2", ...)`` on the context (y floored at 1e-12, M2 fits in log
  space), a Gaussian predictive around the fit whose sigma is the root mean square of the
  context residuals (floored at 1e-6); curves with fewer than 3 context points (M2 has 3
  parameters) fall back to last value, and the count is printed;
- the shipped GPU-trained models (``--shipped``, default nslpfn-small and nslpfn-base).

Metrics, each averaged over curves (mean; the median over curves is shown beside it): NLL is
the mean negative log density of a curve's noisy target y; RMSLE is
``sqrt(mean((log median - log y)^2))`` over a curve's targets, with the prediction floored at
1e-8 (the count of floored medians is reported). PFNs are called with ``y_scale=1`` (the
prior's y-units, as in training) on the prior's x, which already spans [0.01, 1].

    python benchmarks/pfn_cpu.py --minutes 9 --out out/pfn_cpu
    python benchmarks/pfn_cpu.py --eval-only out/pfn_cpu/run --out out/pfn_cpu_eval
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import norm

LENGTH_RANGE = (1.0, 2.1)  # the shipped models' training lengths, 10-125 points
N_POINTS = 128
SIGMA_FLOOR = 1e-6
MEDIAN_FLOOR = 1e-8


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def heldout_curves(n: int, seed: int) -> list[dict]:
    """``n`` NSL-PFN prior curves (fresh key) split into context and targets, as numpy."""
    from scalebayes.priors import PriorConfig, sample_curves

    config = PriorConfig(log10_length_range=LENGTH_RANGE)
    batch = sample_curves(
        jax.random.PRNGKey(seed), n, length=None, max_length=N_POINTS, config=config
    )
    x, y = np.asarray(batch.x, np.float64), np.asarray(batch.y, np.float64)
    lengths, contexts = np.asarray(batch.length), np.asarray(batch.context_size)
    family = np.asarray(batch.family).tolist()
    curves = []
    for i in range(n):
        L, c = int(lengths[i]), int(contexts[i])
        curves.append(
            {"xc": x[i, :c], "yc": y[i, :c], "xq": x[i, c:L], "yq": y[i, c:L], "family": family[i]}
        )
    return curves


def _pad(rows: list[np.ndarray], width: int, fill: float) -> np.ndarray:
    out = np.full((len(rows), width, *rows[0].shape[1:]), fill, np.float32)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
    return out


def score_pfn(path: str, curves: list[dict]) -> dict:
    """Per-curve NLL and RMSLE of a PFN checkpoint (one batched forward pass, one bar call)."""
    from scalebayes.pfn import PFN

    pfn = PFN.load(path)
    t0 = time.perf_counter()
    preds = pfn.predict_many(
        [c["xc"] for c in curves],
        [c["yc"] for c in curves],
        [c["xq"] for c in curves],
        y_scale=1.0,
    )
    width = max(c["xq"].size for c in curves)
    logits = jnp.asarray(_pad([p.logits for p in preds], width, 0.0))
    y = jnp.asarray(_pad([c["yq"] for c in curves], width, 0.5))
    log_p = np.asarray(eqx.filter_jit(pfn.bar.log_prob)(logits, y), np.float64)
    median = np.asarray(eqx.filter_jit(pfn.bar.median)(logits), np.float64)
    seconds = time.perf_counter() - t0
    nll, rmsle, floored = [], [], 0
    for i, c in enumerate(curves):
        q = c["yq"].size
        nll.append(-float(np.mean(log_p[i, :q])))
        m = median[i, :q]
        floored += int(np.sum(m < MEDIAN_FLOOR))
        rmsle.append(_rmsle(m, c["yq"]))
    return {"nll": nll, "rmsle": rmsle, "floored": floored, "seconds": seconds}


def _rmsle(median: np.ndarray, y: np.ndarray) -> float:
    m = np.maximum(median, MEDIAN_FLOOR)
    return float(np.sqrt(np.mean((np.log(m) - np.log(y)) ** 2)))


def _gaussian_scores(curves, medians, sigmas) -> dict:
    nll, rmsle, floored = [], [], 0
    for c, m, s in zip(curves, medians, sigmas, strict=True):
        nll.append(-float(np.mean(norm.logpdf(c["yq"], loc=m, scale=s))))
        floored += int(np.sum(m < MEDIAN_FLOOR))
        rmsle.append(_rmsle(m, c["yq"]))
    return {"nll": nll, "rmsle": rmsle, "floored": floored}


def _last_value(c) -> tuple[np.ndarray, float]:
    sigma = max(float(np.sqrt(np.mean(np.diff(c["yc"]) ** 2))), SIGMA_FLOOR)
    return np.full(c["xq"].shape, c["yc"][-1]), sigma


def score_last_value(curves: list[dict]) -> dict:
    t0 = time.perf_counter()
    medians, sigmas = zip(*(_last_value(c) for c in curves), strict=True)
    out = _gaussian_scores(curves, medians, sigmas)
    out["seconds"] = time.perf_counter() - t0
    return out


def score_m2(curves: list[dict]) -> dict:
    from scalebayes.inference import fit_curves

    t0 = time.perf_counter()
    fit_idx = [i for i, c in enumerate(curves) if c["xc"].size >= 3]
    fits = fit_curves(
        "m2",
        [curves[i]["xc"] for i in fit_idx],
        [np.maximum(curves[i]["yc"], 1e-12) for i in fit_idx],
    )
    medians = [None] * len(curves)
    sigmas = [None] * len(curves)
    fallback = 0
    for i, c in enumerate(curves):
        medians[i], sigmas[i] = _last_value(c)
    for i, fit in zip(fit_idx, fits, strict=True):
        c = curves[i]
        pred = fit.predict(c["xq"])
        resid = c["yc"] - fit.predict(c["xc"])
        if np.all(np.isfinite(pred)) and np.all(np.isfinite(resid)):
            medians[i] = pred
            sigmas[i] = max(float(np.sqrt(np.mean(resid**2))), SIGMA_FLOOR)
        else:
            fallback += 1
    out = _gaussian_scores(curves, medians, sigmas)
    out["seconds"] = time.perf_counter() - t0
    out["fallback"] = len(curves) - len(fit_idx) + fallback
    return out


def train_cpu(args, prior_overrides=()) -> tuple[Path, dict]:
    """Train the CPU config into ``out/run`` under the wall-clock guard; returns its info.

    ``prior_overrides`` restricts the prior (``benchmarks/pfn_posterior_fidelity.py`` uses it).
    """
    from scalebayes.pfn import TrainConfig, train

    config = TrainConfig(
        model=args.model,
        steps=args.steps,
        batch_size=args.batch,
        n_points=N_POINTS,
        log10_length_range=LENGTH_RANGE,
        lr=args.lr,
        compute_dtype="float32",
        border_curves=args.border_curves,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        prior_overrides=prior_overrides,
    )
    run = Path(args.out) / "run"
    load_before = _load()
    t0 = time.perf_counter()
    # The guard is checked from the first step on; leave room for the borders and compile.
    train(config, run, max_seconds=args.minutes * 60 - 45, progress=False)
    wall = time.perf_counter() - t0
    return run, {"wall_seconds": wall, "load_before": load_before, "load_after": _load()}


def _summary(name: str, scores: dict, reference: dict) -> dict:
    nll, rmsle = np.asarray(scores["nll"]), np.asarray(scores["rmsle"])
    ref_nll, ref_rmsle = np.asarray(reference["nll"]), np.asarray(reference["rmsle"])
    return {
        "method": name,
        "nll_mean": float(np.mean(nll)),
        "nll_median": float(np.median(nll)),
        "rmsle_mean": float(np.mean(rmsle)),
        "rmsle_median": float(np.median(rmsle)),
        # paired, per curve: how often the CPU-trained PFN does strictly better than this method
        "cpu_pfn_better_nll": float(np.mean(ref_nll < nll)),
        "cpu_pfn_better_rmsle": float(np.mean(ref_rmsle < rmsle)),
        "floored_medians": scores["floored"],
        "seconds": scores["seconds"],
    }


def _num(value: float, width: int, digits: int) -> str:
    text = f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.2e}"
    return f"{text:>{width}}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=9.0, help="training wall-clock guard")
    parser.add_argument("--out", default="out/pfn_cpu")
    parser.add_argument("--eval-only", default=None, metavar="CHECKPOINT")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--steps", type=int, default=1100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--border-curves", type=int, default=5000)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-eval", type=int, default=1000)
    parser.add_argument("--eval-seed", type=int, default=20261123)
    parser.add_argument("--shipped", default="nslpfn-small,nslpfn-base")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.eval_only:
        checkpoint, train_info = Path(args.eval_only), {}
    else:
        checkpoint, train_info = train_cpu(args)
    from scalebayes.pfn import PFN

    meta = PFN.load(str(checkpoint)).meta
    history = meta.get("training", {})
    train_info.update(
        steps=meta["step"],
        planned_steps=meta["train_config"]["steps"],
        curves=history.get("curves"),
        step_seconds=history.get("seconds"),
        model=meta["model_config"]["name"],
        batch_size=meta["train_config"]["batch_size"],
        lr=meta["train_config"]["lr"],
    )

    load_eval = _load()
    curves = heldout_curves(args.n_eval, args.eval_seed)
    scores = {f"PFN cpu ({train_info['model']})": score_pfn(str(checkpoint), curves)}
    for name in filter(None, args.shipped.split(",")):
        scores[f"PFN shipped {name}"] = score_pfn(name, curves)
    scores["last value"] = score_last_value(curves)
    scores["M2 point fit"] = score_m2(curves)
    reference = next(iter(scores.values()))
    rows = [_summary(name, s, reference) for name, s in scores.items()]
    n_targets = [c["yq"].size for c in curves]
    result = {
        "train": train_info,
        "eval": {
            "n_curves": len(curves),
            "seed": args.eval_seed,
            "length_range": [10 ** LENGTH_RANGE[0], 10 ** LENGTH_RANGE[1]],
            "targets_total": int(np.sum(n_targets)),
            "context_lt3": sum(c["xc"].size < 3 for c in curves),
            "m2_fallback_to_last_value": scores["M2 point fit"]["fallback"],
            "load_before": load_eval,
            "load_after": _load(),
        },
        "rows": rows,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "per_curve.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "curve", "family", "n_context", "n_targets", "nll", "rmsle"])
        for name, s in scores.items():
            for i, c in enumerate(curves):
                writer.writerow(
                    [name, i, c["family"], c["xc"].size, c["yq"].size, s["nll"][i], s["rmsle"][i]]
                )

    t = train_info
    if "wall_seconds" in t:
        print(
            f"training: {t['model']} batch {t['batch_size']} lr {t['lr']}: {t['steps']}/"
            f"{t['planned_steps']} steps, {t['curves']:,} curves, {t['wall_seconds']:.0f} s wall "
            f"(steps {t['step_seconds']:.0f} s); load average {t['load_before']} -> "
            f"{t['load_after']}"
        )
    else:
        print(
            f"checkpoint {checkpoint}: {t['model']}, {t['steps']}/{t['planned_steps']} steps, "
            f"{t['curves']} curves, {t['step_seconds']} s of steps"
        )
    e = result["eval"]
    print(
        f"held-out: {e['n_curves']} NSL-PFN prior curves (seed {e['seed']}), "
        f"{e['targets_total']} targets; M2 fell back to last value on "
        f"{e['m2_fallback_to_last_value']} curves; load average {e['load_before']} -> "
        f"{e['load_after']}"
    )
    header = f"{'method':<26}{'NLL mean':>10}{'NLL med':>9}{'RMSLE mean':>11}{'RMSLE med':>10}"
    print(header + f"{'cpu<NLL':>8}{'cpu<RMSLE':>10}{'eval s':>7}")
    for r in rows:
        print(
            f"{r['method']:<26}{_num(r['nll_mean'], 10, 3)}{_num(r['nll_median'], 9, 3)}"
            f"{_num(r['rmsle_mean'], 11, 4)}{_num(r['rmsle_median'], 10, 4)}"
            f"{r['cpu_pfn_better_nll']:>8.2f}{r['cpu_pfn_better_rmsle']:>10.2f}{r['seconds']:>7.1f}"
        )
    floored = {r["method"]: r["floored_medians"] for r in rows if r["floored_medians"]}
    print(f"medians floored at {MEDIAN_FLOOR:g} for RMSLE: {floored or 'none'}")
    print(
        "cpu<NLL, cpu<RMSLE: fraction of curves on which the CPU-trained PFN scores strictly "
        "better than the row's method"
    )
    print(f"wrote {out / 'results.json'}, results.csv, per_curve.csv")


if __name__ == "__main__":
    main()
