"""How fast does a real curve's log-log slope drift from M4's? An empirical-Bayes prior for tau.

The ``ou_irw`` noise model adds a random walk of the log-log slope with diffusion ``tau``
(site ``log_drift``, prior N(-3.5, 1.5) in the context's normalised ``v``). With a few runs
the data barely inform ``tau``, so far out the predictive is whatever the prior says (issue
16: far10 intervals 1.5-2x too wide on IC, NLP and Chinchilla). This measures ``tau`` where
the data do inform it, on whole bundled curves (every point, thinned to at most
``--max-points`` log-spaced ones), and fits the prior that the curves' posteriors imply:

- per curve, NUTS with the study's keys (``curve_keys``) samples ``log tau`` under the
  default prior;
- a Normal hyperprior ``N(m, sd)`` on ``log tau`` is fitted by maximising the curves' marginal
  likelihood, each estimated from its posterior draws by importance weights
  ``N(log tau; m, sd) / N(log tau; -3.5, 1.5)`` (a grid over ``m`` and ``sd``);
- in two units: per unit ``v^(3/2)`` (as now, so a curve's ``tau`` in decades depends on the
  span of its context) and per decade of x (``log tau_v = log tau_dec + 1.5 log(s / ln 10)``
  with ``s`` the sd of ``ln x`` over the points): the two hyperpriors have two parameters
  each, so their marginal likelihoods say which unit the real curves prefer;
- per dataset, pooled, and leave-one-dataset-out (the prior a dataset would get from the
  others).

    python benchmarks/drift_prior.py --json runs/drift_prior.json
    python benchmarks/drift_prior.py --table runs/drift_prior.json

``--json FILE`` keeps the per-curve draws (rewritten atomically after every batch); a rerun
with the same file resumes after the curves it holds.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from msce_null import _load, _save  # the sibling script's resumable JSON rows

PRIOR = (-3.5, 1.5)  # the default prior of log_drift (scalebayes.inference._bayes_base)
LOCS = np.arange(-12.0, 2.0001, 0.05)
SDS = np.arange(0.05, 3.0001, 0.05)


def run(datasets, max_points: int, seed: int, json_path: str | None) -> list[dict]:
    """Per-curve rows: the sd of ln x over the thinned points and the log tau draws."""
    from scalebayes.data import load_benchmark
    from scalebayes.data._far import thin_log_spaced
    from scalebayes.inference import curve_keys, sample_posterior

    rows = _load(json_path)
    done = {(r["dataset"], r["name"]) for r in rows}
    for dataset in datasets:
        curves = [c for c in load_benchmark(dataset) if (dataset, c.name) not in done]
        tic = time.perf_counter()
        for start in range(0, len(curves), 8):
            batch = curves[start : start + 8]
            keep = [thin_log_spaced(np.log10(c.x), max_points) for c in batch]
            xs = [c.x[k] for c, k in zip(batch, keep, strict=True)]
            ys = [c.y[k] for c, k in zip(batch, keep, strict=True)]
            names = [c.name for c in batch]
            result = sample_posterior(
                curve_keys(seed, names), "m4", xs, ys, names=names, noise="ou_irw"
            )
            drift = np.asarray(result.samples["log_drift"]).reshape(len(batch), -1)
            for j, (curve, x, d) in enumerate(zip(batch, xs, drift, strict=True)):
                rows.append(
                    {
                        "dataset": dataset,
                        "name": curve.name,
                        "n": int(x.size),
                        "s": float(result.curve_data(j).s),  # sd of ln x, as the model
                        "log_drift": [round(float(v), 4) for v in d[::4]],
                    }
                )
            _save(json_path, rows)
            print(
                f"  {dataset}: {start + len(batch)}/{len(curves)} curves, "
                f"{time.perf_counter() - tic:.0f} s",
                flush=True,
            )
    return rows


def _log_normal(x, loc, sd):
    return -0.5 * ((x - loc) / sd) ** 2 - np.log(sd) - 0.5 * math.log(2 * math.pi)


def fit(rows: list[dict], units: str) -> tuple[float, float, float]:
    """The hyperprior ``(m, sd)`` of log tau (in ``units``) of largest marginal likelihood,
    and that log marginal likelihood relative to the default prior's (0 for the default)."""
    total = np.zeros((LOCS.size, SDS.size))
    for row in rows:
        lt = np.asarray(row["log_drift"])
        shift = 1.5 * math.log(row["s"] / math.log(10.0)) if units == "decade" else 0.0
        base = _log_normal(lt, *PRIOR)
        logw = (
            _log_normal((lt - shift)[None, None, :], LOCS[:, None, None], SDS[None, :, None]) - base
        )
        top = logw.max(axis=2, keepdims=True)
        total += np.log(np.exp(logw - top).mean(axis=2)) + top[..., 0]
    i, j = np.unravel_index(np.argmax(total), total.shape)
    return float(LOCS[i]), float(SDS[j]), float(total[i, j])


def tables(rows: list[dict]) -> str:
    """Markdown: per dataset, pooled and leave-one-dataset-out hyperpriors in both units."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    lines = [
        "| curves | n | median s (sd of ln x) | posterior mean log tau_v (median) "
        "| hyperprior per unit v: m, sd (log ML gain) | per decade: m, sd (log ML gain) |",
        "|---|---|---|---|---|---|",
    ]
    groups = [(d, [r for r in rows if r["dataset"] == d]) for d in datasets]
    groups.append(("all", rows))
    groups += [(f"all but {d}", [r for r in rows if r["dataset"] != d]) for d in datasets]
    for label, group in groups:
        if not group:
            continue
        mean_lt = np.median([np.mean(r["log_drift"]) for r in group])
        s = np.median([r["s"] for r in group])
        cells = []
        for units in ("v", "decade"):
            m, sd, gain = fit(group, units)
            cells.append(f"{m:.2f}, {sd:.2f} ({gain:+.1f})")
        lines.append(f"| {label} | {len(group)} | {s:.2f} | {mean_lt:.2f} | " + " | ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="ic,nlp,nano,dd,chinchilla")
    parser.add_argument("--max-points", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--table", default=None, help="print the tables of a kept JSON file")
    args = parser.parse_args()
    if args.table:
        print(tables(_load(args.table)))
        return
    rows = run(args.datasets.split(","), args.max_points, args.seed, args.json)
    print(tables(rows))


if __name__ == "__main__":
    main()
