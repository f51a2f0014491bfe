"""Every method's predictions on every bundled curve are finite and non-negative.

For each bundled benchmark (its NSL-PFN split and, where curves span enough, far10/far100)
and each method (the point fits M1-M4 and BNSL, the shipped PFN; ``--mcmc`` adds MCMC(M4)
and MCMC(BNSL), slow), predict the targets from the context and count predictions that are
NaN, infinite or negative (the PFN's 5%/95% quantiles too). Prints one row per method.

    python benchmarks/finite_sweep.py [--mcmc] [--no-far]

``--no-far`` keeps the NSL-PFN splits only (144 curves; the MCMC sweep then takes about half
an hour on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _curves(far: bool) -> list:
    from scalebayes.data import BENCHMARKS, load_benchmark, load_far_benchmark

    parts = ("ic", "nmt", "lm", "bb", "nano", "dd", "bnsl_addition", "chinchilla")
    assert set(parts) <= set(BENCHMARKS)
    curves = [c for name in parts for c in load_benchmark(name)]
    if far:
        curves += [c for name in parts for f in (10, 100) for c in load_far_benchmark(name, f)]
    return curves


def _bad(values: np.ndarray) -> int:
    return int(np.sum(~np.isfinite(values) | (values < 0)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mcmc", action="store_true", help="also MCMC(M4) and MCMC(BNSL)")
    parser.add_argument(
        "--no-far", action="store_true", help="only the NSL-PFN splits (not far10 / far100)"
    )
    args = parser.parse_args(argv)
    from scalebayes.inference import fit_curves, mcmc_method, predict_fits
    from scalebayes.pfn import PFN

    curves = _curves(far=not args.no_far)
    xc, yc, xt = ([getattr(c, a) for c in curves] for a in ("x_context", "y_context", "x_target"))
    n_values = sum(x.size for x in xt)
    print(f"{len(curves)} curves, {n_values} target points")
    print("| method | non-finite or negative predictions | seconds |\n|---|---|---|")
    for family in ("m1", "m2", "m3", "m4", "bnsl"):
        tic = time.perf_counter()
        preds = predict_fits(fit_curves(family, xc, yc), xt)
        bad = sum(_bad(p) for p in preds)
        print(f"| {family} | {bad} of {n_values} | {time.perf_counter() - tic:.0f} |", flush=True)
    tic = time.perf_counter()
    preds = PFN.load().predict_many(xc, yc, xt, y_scale=1.0)
    bad = sum(_bad(p.median()) + _bad(p.quantile([0.05, 0.95])) for p in preds)
    print(
        f"| pfn (median, q05, q95) | {bad} of {3 * n_values} | {time.perf_counter() - tic:.0f} |",
        flush=True,
    )
    if args.mcmc:
        for family in ("m4", "bnsl"):
            tic = time.perf_counter()
            bad, method = 0, mcmc_method(family)
            for start in range(0, len(curves), 16):
                batch = curves[start : start + 16]
                preds = method(batch)
                bad += sum(_bad(p.median()) + _bad(p.quantile([0.05, 0.95])) for p in preds)
            print(
                f"| mcmc-{family} (median, q05, q95) | {bad} of {3 * n_values} | "
                f"{time.perf_counter() - tic:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
