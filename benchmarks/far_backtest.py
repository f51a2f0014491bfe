"""Can the context alone say which fast method to trust on a curve? Back-test rules against
the per-curve oracle on the far splits (issue 12's open question).

``docs/results/far-prior.md`` ("What choosing the best answer per curve would reach") finds
that an oracle picking, per curve and after seeing its targets, the best of the seven fast
methods (point fits M1-M4 and BNSL, the PFNs ``nslpfn-base`` and ``mixture-tiny``) reaches
about half the error of the best single method. This script measures how much of that gap
rules that see only the context close. Every rule is fixed before any target is read:

- **back-test selection** (``select/<test>/<scale>``): hide the context's last runs, fit
  every method on the rest, score its log error on the hidden runs and answer with the method
  of least error. Tests: ``k1`` and ``k2`` hide the last one or two runs, ``r3`` and ``r10``
  every run beyond ``x_max_context / 3`` (``/ 10``), ``all`` the mean of a method's errors
  over the tests it could take. Scales: ``raw`` is the RMS log error over the hidden runs,
  ``dec`` divides each hidden run's log error by its distance in decades beyond the fitted
  runs first (an error per decade of reach). ``select4/...`` picks among ``pfn-far``, M2,
  M3 and M4 only.
- **back-test weighting** (``weight/<test>/<scale>``): the geometric mean of the methods'
  medians weighted by ``softmax(-error / T)``, with ``T`` the curve's median back-test error
  over the methods (scale-free, fixed a priori).
- **fixed averages** (``geo(...)``, ``median(all 7)``): the geometric mean (or the per-target
  median) of the methods' medians, the same for every curve.

A method that cannot take a back-test (too few runs left: M2-M4 and BNSL need 3, M1 and the
PFNs 2) is not a candidate for it; a curve where no method can take it falls back to the
geometric mean of all seven (counted under ``fallback``). A method with no finite positive
answer at the question is never chosen nor averaged. Every method is called as
``scalebayes study`` calls it (``scalebayes.studies.METHODS``: point fits padded in batches of
64, PFN medians), so the single-method rows reproduce the study's means (far10 to the last
digit; far100's M4 and BNSL differ in the fourth decimal: padded here to another shape).

Splits: ``far10`` (IC, NLP, Nano, DD, Chinchilla: 132 curves) and ``far100`` (IC, NLP,
Chinchilla: 49), as ``scalebayes study --split far10`` builds them; ``nsl``, the NSL-PFN
default split of IC, NLP, Nano and DD (near extrapolation: do the rules hurt there?); ``llm``,
the synthetic LLM-like curves of ``far_synthetic.py`` (its ``draw``), each asked at 10, 30,
100 and 300x alone. Cells are mean RMSLE over curves (``scalebayes.evaluate.rmsle``);
``picks = oracle`` is the share of curves where a method is the oracle's pick (for a
selection rule: where its pick is, over the curves it did not fall back on); ``reference`` is
far-prior.md's figure. A second table per split says how well back-test
errors rank the methods' target errors (mean Spearman correlation over curves, and the
share of curves whose back-test winner is the target winner, among the methods it scored,
and on how many curves each method won the back-test).

    python benchmarks/far_backtest.py [--splits far10,far100,nsl,llm] [--llm-curves 100]

All four splits took 285 s on a 2-core CPU with a warm compilation cache (far10 alone, cold:
109 s); no NUTS is run.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

METHOD_NAMES = ("m1", "m2", "m3", "m4", "bnsl", "pfn-default", "pfn-far")
SPLITS = {
    "far10": ("ic", "nlp", "nano", "dd", "chinchilla"),
    "far100": ("ic", "nlp", "chinchilla"),
    "nsl": ("ic", "nlp", "nano", "dd"),
    "llm": (10.0, 30.0, 100.0, 300.0),  # distances beyond the largest run
}
TESTS = ("k1", "k2", "r3", "r10")
SCALES = ("raw", "dec")
SELECT4 = ("pfn-far", "m2", "m3", "m4")
FIXED = {  # name -> members (None: all seven), "median" for the per-target median
    "geo(pfn-far, m3)": ("pfn-far", "m3"),
    "geo(pfn-far, m4)": ("pfn-far", "m4"),
    "geo(pfn-far, m2)": ("pfn-far", "m2"),
    "geo(pfn-far, pfn-default)": ("pfn-far", "pfn-default"),
    "geo(point fits)": ("m1", "m2", "m3", "m4", "bnsl"),
    "geo(all 7)": None,
    "median(all 7)": "median",
}
# far-prior.md, "What choosing the best answer per curve would reach": mean RMSLE over curves
REFERENCE = {
    "far10": {
        "m1": 0.1729, "m2": 0.1483, "m3": 0.1323, "m4": 0.1855, "bnsl": 0.2602,
        "pfn-default": 0.2849, "pfn-far": 0.1696, "oracle over the 7": 0.0826,
    },
    "far100": {
        "m1": 0.4990, "m2": 0.4989, "m3": 0.5059, "m4": 0.4579, "bnsl": 0.4664,
        "pfn-default": 0.3662, "pfn-far": 0.2916, "oracle over the 7": 0.206,
    },
}  # fmt: skip


def load_split(split: str, llm_curves: int, seed: int) -> dict[str, list]:
    """``{dataset: curves}`` of a split, as the study builds it (see the module)."""
    from scalebayes.data import Curve, load_benchmark, load_far_benchmark, parse_split

    if split == "llm":
        from far_synthetic import draw

        xs, ys, xq, yq = draw(llm_curves, seed, distances=SPLITS["llm"])
        out = {}
        for j, d in enumerate(SPLITS["llm"]):
            out[f"llm@{d:g}x"] = [
                Curve(
                    x=np.append(x, q[j]),
                    y=np.append(y, t[j]),
                    name=f"llm{i:03d}",
                    dataset="llm",
                    is_context=np.arange(x.size + 1) < x.size,
                )
                for i, (x, y, q, t) in enumerate(zip(xs, ys, xq, yq, strict=True))
            ]
        return out
    if split == "nsl":
        return {name: list(load_benchmark(name)) for name in SPLITS["nsl"]}
    factor = parse_split(split)
    return {name: load_far_benchmark(name, factor) for name in SPLITS[split]}


def backtest_curve(curve, test: str):
    """The curve's context re-split for a back-test: its first runs as context, the hidden
    ones as targets; None when fewer than 2 runs would remain or none would be hidden."""
    from scalebayes.data import Curve

    x, y = curve.x_context, curve.y_context
    if test.startswith("k"):
        n_fit = x.size - int(test[1:])
    else:
        n_fit = int(np.sum(x <= x[-1] / float(test[1:]) * (1 + 1e-9)))
    if not 2 <= n_fit < x.size:
        return None
    return Curve(
        x=x,
        y=y,
        name=curve.name,
        dataset=curve.dataset,
        is_context=np.arange(x.size) < n_fit,
        y_scale=curve.y_scale,
    )


def medians(name: str, curves: list, pad_to: tuple[int, int]) -> list[np.ndarray | None]:
    """Each curve's point answer at its targets by the study method ``name`` (a PFN's
    median); None where the method rejects the curve or answers no finite positive value."""
    from scalebayes.studies import DEFAULT_BATCH_SIZE, METHODS

    method = METHODS[name]
    out: list[np.ndarray | None] = [None] * len(curves)
    valid = []
    for i, curve in enumerate(curves):
        try:
            method.validate(curve)
            valid.append(i)
        except ValueError:
            pass
    size = method.batch_size or DEFAULT_BATCH_SIZE
    for start in range(0, len(valid), size):
        index = valid[start : start + size]
        batch = [curves[i] for i in index]
        if method.pad_batches:  # one shape per split: one compilation per family
            batch += [batch[-1]] * (size - len(batch))
        predictions = method(batch, pad_to=pad_to)
        for i, p in zip(index, predictions, strict=False):
            value = np.asarray(p.median() if hasattr(p, "median") else p, np.float64)
            if np.all(np.isfinite(value)) and np.all(value > 0):
                out[i] = np.log(value)
    return out


@dataclass
class Scored:
    """One curve: log answers per method (rows of NaN where none), log targets, the
    back-test errors ``errors[(test, scale)]`` per method (NaN where not taken)."""

    dataset: str
    log_pred: np.ndarray  # (methods, targets)
    log_y: np.ndarray  # (targets,)
    errors: dict[tuple[str, str], np.ndarray]

    def rmsle(self, log_pred: np.ndarray) -> float:
        return float(np.sqrt(np.mean((log_pred - self.log_y) ** 2)))

    @property
    def method_rmsle(self) -> np.ndarray:
        return np.sqrt(np.mean((self.log_pred - self.log_y) ** 2, axis=1))  # NaN: failed


def score_split(split: str, data: dict[str, list]) -> list[Scored]:
    """Answer every curve and every back-test with every method (one batch per method)."""
    jobs: list = []  # curves to answer: the split's, then the back-tests (deduplicated)
    keys: dict = {}

    def job(curve) -> int:
        key = (curve.name, curve.x.tobytes(), curve.y.tobytes(), curve.is_context.tobytes())
        if key not in keys:
            keys[key] = len(jobs)
            jobs.append(curve)
        return keys[key]

    plan = []
    for dataset, curves in data.items():
        for curve in curves:
            tests = {t: backtest_curve(curve, t) for t in TESTS}
            plan.append((dataset, curve, job(curve), {t: job(b) for t, b in tests.items() if b}))
    pad_to = (max(c.n_context for c in jobs), max(c.x_target.size for c in jobs))
    answers = {}
    for name in METHOD_NAMES:
        tic = time.perf_counter()
        answers[name] = medians(name, jobs, pad_to)
        print(
            f"  {split}: {name} on {len(jobs)} curves and back-tests, "
            f"{time.perf_counter() - tic:.0f} s",
            flush=True,
        )

    def log_or_nan(name: str, i: int) -> np.ndarray:
        value = answers[name][i]
        return np.full(jobs[i].x_target.size, np.nan) if value is None else value

    scored = []
    for dataset, curve, i, tests in plan:
        errors = {}
        for test in TESTS:
            for scale in SCALES:
                errors[(test, scale)] = np.full(len(METHOD_NAMES), np.nan)
            if test not in tests:
                continue
            b = jobs[tests[test]]
            reach = np.log10(b.x_target / b.x_context.max())
            log_yb = np.log(b.y_target)
            for m, name in enumerate(METHOD_NAMES):
                e = log_or_nan(name, tests[test]) - log_yb
                errors[(test, "raw")][m] = np.sqrt(np.mean(e**2))
                errors[(test, "dec")][m] = np.sqrt(np.mean((e / reach) ** 2))
        for scale in SCALES:  # "all": each method's mean over the tests it took
            stack = np.stack([errors[(t, scale)] for t in TESTS])
            taken = np.isfinite(stack)
            with np.errstate(invalid="ignore"):
                errors[("all", scale)] = np.where(
                    taken.any(axis=0), np.nansum(stack, axis=0) / taken.sum(axis=0), np.nan
                )
        log_pred = np.stack([log_or_nan(name, i) for name in METHOD_NAMES])
        scored.append(Scored(dataset, log_pred, np.log(curve.y_target), errors))
    return scored


def _geo(s: Scored, weights: np.ndarray) -> np.ndarray:
    ok = np.isfinite(s.log_pred).all(axis=1) & (weights > 0)
    w = weights[ok] / weights[ok].sum()
    return w @ s.log_pred[ok]


def _equal(s: Scored) -> np.ndarray:
    return _geo(s, np.ones(len(METHOD_NAMES)))


def rules() -> dict:
    """Every rule: name -> f(Scored) -> (log answer, chosen method index or None, fell back)."""
    out = {}
    index = {name: m for m, name in enumerate(METHOD_NAMES)}
    for test in (*TESTS, "all"):
        for scale in SCALES:
            key = (test, scale)
            for label, allowed in (("select", METHOD_NAMES), ("select4", SELECT4)):
                if label == "select4" and scale == "raw":
                    continue
                mask = np.isin(np.arange(len(METHOD_NAMES)), [index[n] for n in allowed])

                def select(s, key=key, mask=mask):
                    e = np.where(mask & np.isfinite(s.log_pred).all(axis=1), s.errors[key], np.nan)
                    if not np.isfinite(e).any():
                        return _equal(s), None, True
                    m = int(np.nanargmin(e))
                    return s.log_pred[m], m, False

                out[f"{label}/{test}/{scale}"] = select

            def weight(s, key=key):
                e = np.where(np.isfinite(s.log_pred).all(axis=1), s.errors[key], np.nan)
                if not np.isfinite(e).any():
                    return _equal(s), None, True
                t = float(np.nanmedian(e))
                z = np.where(np.isfinite(e), -(e - np.nanmin(e)) / max(t, 1e-12), -np.inf)
                return _geo(s, np.exp(z)), None, False

            out[f"weight/{test}/{scale}"] = weight
    for label, members in FIXED.items():
        if members == "median":

            def fixed(s):
                ok = np.isfinite(s.log_pred).all(axis=1)
                return np.median(s.log_pred[ok], axis=0), None, False

        else:
            w = np.array([members is None or n in members for n in METHOD_NAMES], np.float64)

            def fixed(s, w=w):
                return _geo(s, w), None, False

        out[label] = fixed
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def report(split: str, scored: list[Scored]) -> None:
    """Print the split's two markdown tables (see the module)."""
    datasets = list(dict.fromkeys(s.dataset for s in scored))
    groups = {d: [i for i, s in enumerate(scored) if s.dataset == d] for d in datasets}
    groups["all"] = list(range(len(scored)))
    per_method = np.stack([s.method_rmsle for s in scored])  # (curves, methods)
    best = np.where(np.isfinite(per_method), per_method, np.inf).argmin(axis=1)
    reference = REFERENCE.get(split, {})

    def cells(values: np.ndarray) -> list[str]:
        out = []
        for rows in groups.values():
            v = values[rows]
            ok = np.isfinite(v)
            note = "" if ok.all() else f" ({(~ok).sum()} failed)"
            out.append(f"{v[ok].mean():.4f}{note}" if ok.any() else "-")
        return out

    header = [f"{d} ({len(r)})" for d, r in groups.items()]
    print(f"\n### {split}: mean RMSLE over curves\n")
    print("| method or rule | " + " | ".join(header) + " | reference | picks = oracle | fallback |")
    print("|---|" + "---|" * (len(header) + 3))
    for m, name in enumerate(METHOD_NAMES):
        ref = reference.get(name)
        share = np.mean(best == m)
        print(
            f"| {name} | "
            + " | ".join(cells(per_method[:, m]))
            + f" | {'' if ref is None else f'{ref:.4f}'} | {share:.2f} | |"
        )
    oracle = np.nanmin(np.where(np.isfinite(per_method), per_method, np.nan), axis=1)
    ref = reference.get("oracle over the 7")
    print(
        "| **oracle over the 7** (sees the targets) | "
        + " | ".join(cells(oracle))
        + f" | {'' if ref is None else f'{ref:.4f}'} | 1.00 | |"
    )
    for name, rule in rules().items():
        values, picks, fallbacks = np.empty(len(scored)), [], 0
        for i, s in enumerate(scored):
            log_answer, chosen, fell_back = rule(s)
            values[i] = s.rmsle(log_answer)
            fallbacks += fell_back
            if chosen is not None:
                picks.append(chosen == best[i])
        share = f"{np.mean(picks):.2f}" if name.startswith("select") and picks else ""
        print(f"| {name} | " + " | ".join(cells(values)) + f" | | {share} | {fallbacks or ''} |")
    print(f"\n### {split}: do back-test errors rank the methods' target errors?\n")
    print(
        "| test / scale | curves tested | mean Spearman (methods tested) "
        "| back-test winner = target winner | back-test wins, " + ", ".join(METHOD_NAMES) + " |"
    )
    print("|---|---|---|---|---|")
    for test in (*TESTS, "all"):
        for scale in SCALES:
            rhos, wins, n = [], [], 0
            winners = np.zeros(len(METHOD_NAMES), int)
            for s, target in zip(scored, per_method, strict=True):
                e = s.errors[(test, scale)]
                ok = np.isfinite(e) & np.isfinite(target)
                if ok.sum() >= 2:
                    n += 1
                    winners[np.flatnonzero(ok)[np.argmin(e[ok])]] += 1
                    wins.append(np.argmin(e[ok]) == np.argmin(target[ok]))
                    if ok.sum() >= 3:
                        rhos.append(_spearman(e[ok], target[ok]))
            rho = np.nanmean(rhos) if rhos else math.nan
            win = np.mean(wins) if wins else math.nan
            shares = ", ".join(str(w) for w in winners)
            print(f"| {test} / {scale} | {n} | {rho:.2f} | {win:.2f} | {shares} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--splits", default="far10,far100,nsl,llm", help=f"any of {', '.join(SPLITS)}"
    )
    parser.add_argument("--llm-curves", type=int, default=100, help="synthetic curves (llm)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic curves")
    args = parser.parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        parser.error(f"--splits: choose from {', '.join(SPLITS)}; got {args.splits!r}")
    if args.llm_curves < 1:
        parser.error("--llm-curves must be >= 1")
    from scalebayes.cli._cache import enable_compilation_cache

    enable_compilation_cache()  # as the command line: a second run does not compile again
    start = time.perf_counter()
    for split in splits:
        data = load_split(split, args.llm_curves, args.seed)
        with warnings.catch_warnings():  # fits that fail and PFNs beyond reach are measured
            warnings.simplefilter("ignore")
            scored = score_split(split, data)
            report(split, scored)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
