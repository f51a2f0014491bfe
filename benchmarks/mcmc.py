"""Accuracy, calibration and speed of MCMC(M4) and MCMC(BNSL) on the NSL-PFN protocol.

For each family and dataset (IC, NLP+Nano, DD) every curve's context points are sampled with
NUTS (``sample_posterior``, default settings: OU residuals on log y, 4 chains x (300 warm-up +
300 draws), float32) and its targets are scored with the posterior predictive: RMSLE of the
median, LL and MSCE, mean +- std over curves, beside the published MCMC figures (emcee, NSL-PFN
paper, table 1 and the MSCE table).

Timing: JAX compilation is measured through ``jax.monitoring`` compile events. "s/curve" is
the wall time of everything (the point fits that start the chains, sampling, the predictive
at the targets and scoring) amortised over the dataset's curves, with compilation ("s/curve
(all)") and without it ("s/curve (run)"); both are set beside the published 154.64 s (M4) and
280.55 s (BNSL) per curve. CPU seconds of this process are shown too, since a shared machine
stretches wall time; the load average is printed at the start and the end. The convergence
column counts curves failing ``check_convergence`` (R-hat <= 1.01, bulk/tail ESS >= 400, no
divergences; needs ArviZ, else "n/a") and the total divergent transitions.

    python benchmarks/mcmc.py [--quick] [--families m4,bnsl] [--datasets ic,nlp+nano,dd]

``--quick`` keeps the first 8 curves of each dataset.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from scalebayes.data import load_benchmark
from scalebayes.evaluate import score_curve
from scalebayes.inference import sample_posterior

PUBLISHED = {  # (RMSLE, LL, MSCE); None where the paper gives no figure
    ("m4", "ic"): (0.0422, 3.024, 0.0381),
    ("m4", "nlp+nano"): (0.0235, 2.216, 0.3732),
    ("m4", "dd"): (None, None, 0.6331),
    ("bnsl", "ic"): (0.0645, 2.921, None),
    ("bnsl", "dd"): (0.0494, 1.250, None),
}
PUBLISHED_SECONDS = {"m4": 154.64, "bnsl": 280.55}

_COMPILE = {"seconds": 0.0}


def _on_event(name: str, seconds: float, **_) -> None:
    if name.startswith("/jax/core/compile/"):
        _COMPILE["seconds"] += seconds


def _fmt(values: np.ndarray, digits: int) -> str:
    return f"{np.mean(values):.{digits}f} +- {np.std(values):.{digits}f}"


def _pub(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _convergence(result) -> str:
    try:
        from scalebayes.inference import check_convergence

        report = check_convergence(result, warn=False)
    except ImportError:
        return f"n/a; {int(result.divergences().sum())}"
    return f"{len(report.failed)} of {result.n_curves}; {int(report.divergences.sum())}"


def evaluate(family: str, dataset: str, n_curves: int | None, seed: int) -> dict:
    curves = list(load_benchmark(dataset))[:n_curves]
    compile_before = _COMPILE["seconds"]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = sample_posterior(
        jax.random.key(seed),
        family,
        [c.x_context for c in curves],
        [c.y_context for c in curves],
        names=[c.name for c in curves],
    )
    preds = result.predictive([c.x_target for c in curves])
    scores = [score_curve(p, c.y_target) for p, c in zip(preds, curves, strict=True)]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    compile_s = _COMPILE["seconds"] - compile_before
    return {
        "n": len(curves),
        "rmsle": np.array([s["rmsle"] for s in scores]),
        "ll": np.array([s["ll"] for s in scores]),
        "msce": np.array([s["msce"] for s in scores]),
        "compile": compile_s,
        "all": wall / len(curves),
        "run": (wall - compile_s) / len(curves),
        "cpu": cpu / len(curves),
        "convergence": _convergence(result),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 8 curves per dataset")
    parser.add_argument("--families", default="m4,bnsl", help="comma-separated: m3, m4, bnsl")
    parser.add_argument("--datasets", default="ic,nlp+nano,dd", help="comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    jax.monitoring.register_event_duration_secs_listener(_on_event)
    n_curves = 8 if args.quick else None
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"device: {jax.devices()[0].device_kind}; CPU cores: {os.cpu_count()}")
    print(f"load average (1, 5, 15 min) at start: {load}\n")
    print(
        "| method | dataset | curves | RMSLE (published) | LL (published) | MSCE (published) "
        "| s/curve all / run (CPU s) | compile s | speed-up all / run "
        "| not converged; divergences |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    start = time.perf_counter()
    for family in args.families.split(","):
        for dataset in args.datasets.split(","):
            r = evaluate(family, dataset, n_curves, args.seed)
            pub = PUBLISHED.get((family, dataset), (None, None, None))
            paper = PUBLISHED_SECONDS.get(family, float("nan"))
            print(
                f"| MCMC({family.upper()}) | {dataset} | {r['n']}"
                f" | {_fmt(r['rmsle'], 4)} ({_pub(pub[0], 4)})"
                f" | {_fmt(r['ll'], 3)} ({_pub(pub[1], 3)})"
                f" | {_fmt(r['msce'], 4)} ({_pub(pub[2], 4)})"
                f" | {r['all']:.2f} / {r['run']:.2f} ({r['cpu']:.2f})"
                f" | {r['compile']:.0f} | {paper / r['all']:.0f}x / {paper / r['run']:.0f}x"
                f" | {r['convergence']} |",
                flush=True,
            )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nTotal wall time: {time.perf_counter() - start:.0f} s; load average at end: {load}")


if __name__ == "__main__":
    main()
