"""Runs that span many decades, asked a near question: what the default PFN should read.

``nslpfn-base`` (the default model) maps x linearly onto [0.01, 1] over the runs and the
queries, as NSL-PFN does, and its prior drew every curve inside that range: at most two
decades from the smallest x to the largest. Runs that span more (five runs 10x apart span four
decades) are squeezed into the first 1% of [0.01, 1], where its prior put almost no points.
Near questions (at most ``FAR_SWITCH`` = 5x beyond the largest run) go to this model.

Per answer, three ways: the default model reading every run (``as is``); reading only the
runs within ``NSLPFN_SPAN`` = 100x of the furthest x (``window``, at least the 2 largest);
and the far model (every run, scale-free input). Two sets:

- the bundled curves whose runs and targets span more than ``--span`` (default 100), with the
  furthest target within 5x: the NSL-PFN protocol's splits of IC, NLP, Nano and DD and the
  re-splits of ``far_switch.py`` at F = 2, 3 (at most 8 log-spaced runs); they span at most
  3.1 decades;
- synthetic power laws bending to a floor (``far_synthetic.draw``: 3-8 runs 2-10x apart)
  whose runs span more than four decades, asked 2x and 5x beyond the last run; and dense
  log-spaced curves of the same laws (30-120 points over 4.2-6 decades), asked 1.5x and 2x
  beyond (one per five synthetic curves drawn).

Cells are RMSLE / LL / 90% coverage, means over curves (the bundled curves in each split's
normalised y, the synthetic ones with the last run's loss 1); an M4 point fit beside them.
What was decided from it is in ``scalebayes.pfn.SPAN_GUARD``'s comment and docs/results/far.md.

    python benchmarks/span_switch.py [--span 100] [--synthetic 1500] [--seed 10] [--by-span N]
        [--y-window N] [--stacked N]

``--y-window N`` measures the far model's own guard, ``Y_SPAN_GUARD``: on synthetic curves
whose runs' y spans more than 10x the last run's, reading every run against reading only the
runs within that (no bundled curve's context spans more than 5x in y).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
import warnings

import far_synthetic
import numpy as np
from far_switch import DATASETS, split_rows
from pfn_eval import _as_rows, score_fit, score_pfn

NSL_DATASETS = ("ic", "nlp", "nano", "dd")


def span(row: dict) -> float:
    """``max(x) / min(x)`` over a row's context and targets."""
    return float(max(row["xc"].max(), row["xt"].max()) / row["xc"].min())


def reach(row: dict) -> float:
    """How far the furthest target lies beyond the context's largest x."""
    return float(row["xt"].max() / row["xc"].max())


def _keep(row: dict, keep: np.ndarray) -> dict:
    """The row with the runs ``keep`` marks, or its 2 largest x if it marks fewer."""
    if keep.sum() < 2:
        keep = np.isin(np.arange(keep.size), np.argsort(row["xc"])[-2:])
    return row | {"xc": row["xc"][keep], "yc": row["yc"][keep]}


def window(row: dict) -> dict:
    """The row with only the runs within ``NSLPFN_SPAN`` of its furthest x (at least 2)."""
    from scalebayes.pfn import NSLPFN_SPAN

    return _keep(row, row["xc"] >= max(row["xc"].max(), row["xt"].max()) / NSLPFN_SPAN)


def y_window(row: dict) -> dict:
    """The row with only the runs whose y is within ``Y_SPAN_GUARD`` of the last run's (the
    run at the largest x), at least the 2 largest x."""
    from scalebayes.pfn import Y_SPAN_GUARD

    return _keep(row, row["yc"] <= Y_SPAN_GUARD * row["yc"][np.argmax(row["xc"])])


@contextlib.contextmanager
def _off(guard: str):
    """The library's ``guard`` (``"SPAN_GUARD"`` or ``"Y_SPAN_GUARD"``) switched off, and
    warnings silenced, so that each column is what it says."""
    import scalebayes.pfn._predict as predict

    kept = getattr(predict, guard)
    setattr(predict, guard, math.inf)
    try:
        with warnings.catch_warnings():  # squeezed contexts and far targets: measured here
            warnings.simplefilter("ignore")
            yield
    finally:
        setattr(predict, guard, kept)


def y_span(row: dict) -> float:
    """The context's largest y over the last run's."""
    return float(row["yc"].max() / row["yc"][np.argmax(row["xc"])])


def far_y_window(n_curves: int, seed: int) -> None:
    """The far model on synthetic curves whose runs' y spans more than ``Y_SPAN_GUARD``:
    reading every run against reading the y window."""
    from scalebayes.pfn import FAR_MODEL, Y_SPAN_GUARD

    sets = {"dense, 1.5-2x": _dense(max(n_curves // 5, 1), seed)}
    xs, ys, xq, yq = far_synthetic.draw(n_curves, seed)
    for j, d in enumerate(far_synthetic.DISTANCES):
        sets[f"3-8 runs, {d:g}x"] = [
            {"xc": x, "yc": y, "xt": q[j : j + 1], "yt": t[j : j + 1]}
            for x, y, q, t in zip(xs, ys, xq, yq, strict=True)
        ]
    print(
        f"\nthe far model on synthetic curves whose runs' y spans > {Y_SPAN_GUARD:g}x (seed {seed})"
    )
    print(f"| set | curves | {FAR_MODEL} as is | {FAR_MODEL}, y window |\n|---|---|---|---|")
    for label, rows in sets.items():
        hit = [r for r in rows if y_span(r) > Y_SPAN_GUARD]
        if not hit:
            continue
        with _off("Y_SPAN_GUARD"):
            as_is = score_pfn(FAR_MODEL, hit, "auto")
            windowed = score_pfn(FAR_MODEL, [y_window(r) for r in hit], "auto")
        print(f"| {label} | {len(hit)} of {len(rows)} | {_cell(as_is)} | {_cell(windowed)} |")


def _cell(s: dict) -> str:
    return f"{s['rmsle']:.4f} / {s['ll']:.2f} / {s['cover90']:.2f}"


def _three(rows: list[dict], y_scale: float | str = 1.0) -> tuple[dict, dict, dict, dict]:
    """As is, window, far model and M4 on ``rows`` (the guard off, so each is what it says);
    ``y_scale`` as in ``pfn_eval.score_pfn``."""
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL

    with _off("SPAN_GUARD"):
        as_is = score_pfn(DEFAULT_MODEL, rows, y_scale)
        windowed = score_pfn(DEFAULT_MODEL, [window(r) for r in rows], y_scale)
        far = score_pfn(FAR_MODEL, rows, y_scale)
        m4 = score_fit("m4", rows)
    return as_is, windowed, far, m4


def _synthetic(n_curves: int, seed: int) -> dict[str, list[dict]]:
    distances = (2.0, 5.0)
    xs, ys, xq, yq = far_synthetic.draw(n_curves, seed, distances)
    return {
        f"{d:g}x": [
            {"xc": x, "yc": y, "xt": q[j : j + 1], "yt": t[j : j + 1]}
            for x, y, q, t in zip(xs, ys, xq, yq, strict=True)
            if x[-1] / x[0] > 1e4
        ]
        for j, d in enumerate(distances)
    }


def _dense(n_curves: int, seed: int) -> list[dict]:
    """Dense log-spaced curves (30-120 points over 4.2-6 decades) of ``far_synthetic``'s law
    family, asked 1.5x and 2x beyond the last point: many points, not a few runs."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_curves):
        n, decades = int(rng.integers(30, 121)), rng.uniform(4.2, 6.0)
        x = np.geomspace(1.0, 10.0**decades, n)
        f, a = rng.uniform(0.3, 0.85), rng.uniform(0.05, 0.5)
        b = (1.0 - f) * x[-1] ** a  # y(x_last) = 1
        y = (f + b * x**-a) * np.exp(10.0 ** rng.uniform(-2.7, -1.7) * rng.standard_normal(n))
        xt = x[-1] * np.array([1.5, 2.0])
        rows.append({"xc": x, "yc": y, "xt": xt, "yt": f + b * xt**-a})
    return rows


def by_span(n_curves: int, seed: int) -> None:
    """RMSLE at 2x of the three answers on every synthetic curve, by the runs' span."""
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL

    xs, ys, xq, yq = far_synthetic.draw(n_curves, seed, (2.0,))
    rows = [{"xc": x, "yc": y, "xt": q, "yt": t} for x, y, q, t in zip(xs, ys, xq, yq, strict=True)]
    decades = np.array([np.log10(x[-1] / x[0]) for x in xs])
    print(f"\nRMSLE 2x beyond by the runs' span in decades (synthetic, seed {seed})")
    print(f"| span | curves | {DEFAULT_MODEL} as is | {DEFAULT_MODEL}, window | {FAR_MODEL} |")
    print("|---|---|---|---|---|")
    for lo, hi in ((0, 1), (1, 2), (2, 3), (3, 4), (4, 6)):
        hit = [r for r, d in zip(rows, decades, strict=True) if lo <= d < hi]
        if hit:
            with _off("SPAN_GUARD"):
                answers = (
                    score_pfn(DEFAULT_MODEL, hit, "auto"),
                    score_pfn(DEFAULT_MODEL, [window(r) for r in hit], "auto"),
                    score_pfn(FAR_MODEL, hit, "auto"),
                )
            cells = " | ".join(f"{a['rmsle']:.3f}" for a in answers)
            print(f"| {lo}-{hi} | {len(hit)} | {cells} |", flush=True)


def stacked_long_span(n_curves: int, seed: int, distances=(1.5, 2.0, 3.0, 4.9)) -> None:
    """The shipped near answer on synthetic runs that, with the question, span more than
    ``SPAN_GUARD``: as shipped (both models weighted by the back-test, the default one reading
    only the runs within ``NSLPFN_SPAN`` of the question) against the same without the
    default model (the far model alone, stretched by ``NEAR_SCALE`` as the stack is)."""
    from scalebayes.evaluate import ScaledPredictive
    from scalebayes.pfn import FAR_MODEL, NEAR_SCALE, PFN, SPAN_GUARD, predict_shipped

    far = PFN.load(FAR_MODEL)
    xs, ys, xq, yq = far_synthetic.draw(n_curves, seed, distances)
    print(
        f"\nshipped near answer on synthetic runs spanning, with the question, more than "
        f"{math.log10(SPAN_GUARD):g} decades ({n_curves} drawn, seed {seed}); cells: RMSLE / "
        "mean LL / 90% coverage / mean 90% width in ln y"
    )
    print("| answer | " + " | ".join(f"{d:g}x" for d in distances) + " |")
    print("|---|" + "---|" * len(distances))
    rows: dict[str, list[str]] = {"shipped": [], "without the default model": []}
    counts = []
    for j, _ in enumerate(distances):
        sel = [i for i in range(n_curves) if xq[i][j] / xs[i][0] > SPAN_GUARD]
        counts.append(len(sel))
        args = ([xs[i] for i in sel], [ys[i] for i in sel], [xq[i][j : j + 1] for i in sel])
        truth = np.array([yq[i][j] for i in sel])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            answers = {
                "shipped": predict_shipped(*args),
                "without the default model": [
                    ScaledPredictive(p, NEAR_SCALE) for p in far.predict_many(*args)
                ],
            }
        for name, preds in answers.items():
            med = np.array([float(np.asarray(p.median())[0]) for p in preds])
            bounds = [p.interval(0.9) for p in preds]
            lo, hi = (np.array([float(np.asarray(b[k])[0]) for b in bounds]) for k in (0, 1))
            ll = np.array(
                [
                    float(np.asarray(p.log_prob(t[None]))[0])
                    for p, t in zip(preds, truth, strict=True)
                ]
            )
            rows[name].append(
                f"{np.mean(np.abs(np.log(med / truth))):.4f} / {np.mean(ll):.2f} / "
                f"{np.mean((lo <= truth) & (truth <= hi)):.2f} / {np.mean(np.log(hi / lo)):.3f}"
            )
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("curves per distance: " + ", ".join(map(str, counts)))


def main(argv=None) -> None:
    from scalebayes.data import load_benchmark
    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, FAR_SWITCH

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--span", type=float, default=100.0, help="bundled curves beyond it")
    parser.add_argument("--synthetic", type=int, default=1500, help="synthetic curves drawn")
    parser.add_argument("--seed", type=int, default=10, help="seed of the synthetic curves")
    parser.add_argument(
        "--y-window",
        type=int,
        default=0,
        metavar="N",
        help="also draw N synthetic curves (seed --seed) and compare the far model with and "
        "without its y window on those whose y spans more than Y_SPAN_GUARD",
    )
    parser.add_argument(
        "--by-span",
        type=int,
        default=0,
        metavar="N",
        help="also draw N synthetic curves (seed --seed) and print RMSLE 2x beyond by span",
    )
    parser.add_argument(
        "--stacked",
        type=int,
        default=0,
        metavar="N",
        help="also draw N synthetic curves (seed --seed) and compare the shipped near answer "
        "with and without the default model where the runs and the question span more than "
        "SPAN_GUARD (1.5-4.9x beyond)",
    )
    args = parser.parse_args(argv)
    if not (math.isfinite(args.span) and args.span > 1) or args.synthetic < 0:
        parser.error("--span must be finite and > 1, --synthetic >= 0")
    header = (
        f"| set | curves | {DEFAULT_MODEL} as is | {DEFAULT_MODEL}, window | {FAR_MODEL} "
        "| M4 point fit |\n|---|---|---|---|---|---|"
    )
    start = time.perf_counter()
    splits = [(f"NSL-PFN protocol, {n}", _as_rows(load_benchmark(n), n)) for n in NSL_DATASETS]
    splits += [(f"F = {f:g}, {n}", split_rows(n, f, 8)) for f in (2, 3) for n in DATASETS]
    print(f"bundled curves spanning more than {args.span:g}x, targets within {FAR_SWITCH:g}x")
    print(header)
    pooled = []
    for label, rows in splits:
        hit = [r for r in rows if span(r) > args.span and reach(r) <= FAR_SWITCH * (1 + 1e-9)]
        if hit:
            scores = _three(hit)
            pooled.append((len(hit), scores))
            cells = " | ".join(_cell(s) for s in scores[:3])
            print(f"| {label} | {len(hit)} | {cells} | {scores[3]['rmsle']:.4f} |", flush=True)
    if pooled:
        n = sum(k for k, _ in pooled)
        means = [
            " / ".join(f"{sum(k * s[i][m] for k, s in pooled) / n:.4f}" for m in ("rmsle", "ll"))
            for i in range(3)
        ]
        print(f"| all of the above | {n} | {' | '.join(means)} | |")
    if args.synthetic:
        print(f"\nsynthetic power laws whose runs span more than 4 decades (seed {args.seed})")
        print(header)
        sets = _synthetic(args.synthetic, args.seed)
        sets["dense, 1.5-2x"] = _dense(max(args.synthetic // 5, 1), args.seed)
        for label, rows in sets.items():
            scores = _three(rows, "auto")  # y as a user gives it
            cells = " | ".join(_cell(s) for s in scores[:3])
            print(f"| {label} | {len(rows)} | {cells} | {scores[3]['rmsle']:.4f} |", flush=True)
    if args.by_span:
        by_span(args.by_span, args.seed)
    if args.y_window:
        far_y_window(args.y_window, args.seed)
    if args.stacked:
        stacked_long_span(args.stacked, args.seed)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
