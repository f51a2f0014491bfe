"""Do the point fits find a curve of their own form? Noise-free curves, default settings.

For each family, ``--curves`` parameter sets are drawn at random from the ranges below
(curves that fall over x = 1e6..1e12, losses of order 1), the family's own curve is evaluated
in float64 at ``--points`` log-spaced x over those six decades, and ``fit_curves`` fits it
with its defaults (BNSL: one break given, and the number of breaks chosen by the fit). A fit
that reaches the least-squares optimum reproduces every point exactly; printed per family:
the share of fits whose largest relative error at the fitted points is within 1e-6 and
within 1e-3, its median, and the median relative error 10x beyond the last point (where an
optimum that differs from the truth shows).

    python benchmarks/point_fit_recovery.py [--curves 40] [--points 8] [--seed 0] [--n-iter N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

X_LOW, X_HIGH = 1e6, 1e12


def _draw(family: str, rng: np.random.Generator) -> dict[str, float]:
    """One parameter set of ``family`` (natural parameters; see ``scalebayes.families``)."""

    def log_uniform(low, high):
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    if family == "m1":
        return {"beta": log_uniform(5, 100), "c": rng.uniform(-0.3, -0.05)}
    if family == "m2":
        return {
            "eps_inf": rng.uniform(0.5, 2.5),
            "beta": log_uniform(10, 100),
            "c": rng.uniform(-0.4, -0.1),
        }
    if family == "m3":
        return {
            "beta": log_uniform(10, 100),
            "gamma": log_uniform(1e-12, 1e-8),
            "c": rng.uniform(0.1, 0.4),
        }
    if family == "m4":
        eps_inf = rng.uniform(1.0, 2.0)
        return {
            "eps_inf": eps_inf,
            "eps_0": eps_inf + rng.uniform(1.5, 3.0),
            "alpha": rng.uniform(0.3, 1.5),
            "beta": log_uniform(1e2, 1e5),
            "c": rng.uniform(-0.7, -0.3),
        }
    return {  # bnsl, one break inside the runs
        "a": rng.uniform(0.3, 1.0),
        "b": log_uniform(10, 100),
        "c0": rng.uniform(0.1, 0.3),
        "c1": rng.uniform(0.02, 0.2),
        "d1": log_uniform(1e7, 1e11),
        "f1": rng.uniform(0.1, 0.5),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=40)
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-iter", type=int, default=None, help="fit_curves' n_iter (its default)")
    args = parser.parse_args(argv)
    if args.curves < 1 or args.points < 6:
        parser.error("--curves must be >= 1 and --points >= 6 (M4 and BNSL have 5-6 parameters)")

    from scalebayes import precision
    from scalebayes.families import get_family
    from scalebayes.inference import fit_curves, predict_fits

    x = np.geomspace(X_LOW, X_HIGH, args.points)
    beyond = np.array([10 * X_HIGH])
    rng = np.random.default_rng(args.seed)
    print(f"{args.curves} noise-free curves per family, {args.points} points over x = 1e6..1e12")
    print(
        "| family | fit | within 1e-6 | within 1e-3 | median largest error | median error 10x out |"
    )
    print("|---|---|---|---|---|---|")
    for family in ("m1", "m2", "m3", "m4", "bnsl"):
        fn = get_family(family, n_breaks=1) if family == "bnsl" else get_family(family)
        ys, truths = [], []
        while len(ys) < args.curves:
            params = _draw(family, rng)
            with precision("float64"):
                y = np.asarray(fn(x, params), np.float64)
                far = np.asarray(fn(beyond, params), np.float64)
            if np.all(np.isfinite(y) & (y > 0)) and np.all(np.diff(y) < 0) and far[0] > 0:
                ys.append(y)
                truths.append(far[0])
        settings = {"one break given": {"n_breaks": 1}, "breaks chosen": {}}
        runs = settings.items() if family == "bnsl" else [("default", {})]
        for label, options in runs:
            start = time.time()
            if args.n_iter is not None:
                options = {**options, "n_iter": args.n_iter}
            fits = fit_curves(family, [x] * len(ys), ys, **options)
            fitted = predict_fits(fits, [x] * len(ys))
            out = predict_fits(fits, [beyond] * len(ys))
            errors = np.array([np.max(np.abs(f / y - 1)) for f, y in zip(fitted, ys, strict=True)])
            far_errors = np.array([abs(o[0] / t - 1) for o, t in zip(out, truths, strict=True)])
            print(
                f"| {family} | {label} | {np.mean(errors <= 1e-6):.0%} | "
                f"{np.mean(errors <= 1e-3):.0%} | {np.median(errors):.2g} | "
                f"{np.median(far_errors):.2g} |  ({time.time() - start:.1f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
