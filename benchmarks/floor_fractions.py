"""Where the floor sits on the bundled far curves, against the scale-free prior's.

The scale-free prior draws the floor ``E`` as a fraction ``phi ~ Beta(floor_beta)`` of the
value at the last context point (``ScaleFreePriorConfig.floor_beta``, default ``(0.7, 1)``).
Per far10 dataset this fits M2 (``y = eps_inf + beta x^c``) to each whole curve and prints
the quantiles of ``eps_inf / y(last context point)`` beside the prior's. M2 fits of whole
curves are rough floors (a curve that keeps falling gets ``eps_inf`` near 0); read them as
where each kind of curve sits in the prior, not as measurements of irreducible loss.

    python benchmarks/floor_fractions.py
"""

from __future__ import annotations

import numpy as np

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


def main() -> None:
    from scipy import stats

    from scalebayes.data import FAR_SPLITS, load_far_benchmark
    from scalebayes.inference import fit_curves
    from scalebayes.priors import ScaleFreePriorConfig

    header = "| curves | n | " + " | ".join(f"q{int(100 * q)}" for q in LEVELS) + " |"
    print(header)
    print("|" + "---|" * (len(LEVELS) + 2))
    for dataset in ("ic", "nlp", "nano", "dd", "chinchilla"):
        curves = load_far_benchmark(dataset, FAR_SPLITS["far10"])
        fits = fit_curves("m2", [c.x for c in curves], [c.y for c in curves])
        phi = np.array(
            [f.params["eps_inf"] / c.y_context[-1] for c, f in zip(curves, fits, strict=True)]
        )
        cells = " | ".join(f"{v:.2f}" for v in np.quantile(np.clip(phi, 0, 1), LEVELS))
        print(f"| {dataset} far10 (M2 fit) | {len(curves)} | {cells} |")
    a, b = ScaleFreePriorConfig().floor_beta
    cells = " | ".join(f"{v:.2f}" for v in stats.beta(a, b).ppf(LEVELS))
    print(f"| scale-free prior, Beta({a:g}, {b:g}) | - | {cells} |")


if __name__ == "__main__":
    main()
