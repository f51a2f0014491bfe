"""Score PFNs (and point fits) on held-out prior curves, the NSL-PFN splits and the far
splits, through the public predictor and ``scalebayes.evaluate.score_curve``.

Sets: held-out curves of both priors (fresh keys; context = the curve's first
``context_size`` points, targets = the rest); the NSL-PFN benchmark splits (IC, NLP+Nano,
DD; the protocol's y-space); the far splits ``far10`` and ``far100`` of every bundled dataset
that spans enough (see ``docs/far-split.md``). Cells are RMSLE / LL / 90%-interval coverage of
the targets, means over curves; a second table splits the far splits dataset by dataset.
``--point-fits m1,m2,m3,m4,bnsl`` adds a row per family (RMSLE) and, with more than one, the
best of them in each cell (the lowest mean RMSLE of any family on that set or dataset: the
bar issue 13 sets the PFN on every far dataset); ``--m4`` is ``--point-fits m4``.

    python benchmarks/pfn_eval.py --models nslpfn-base,out/run/weights [--point-fits m3,m4]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import jax
import numpy as np

BENCH = {"IC": ("ic",), "NLP+Nano": ("nlp", "nano"), "DD": ("dd",)}
FAR_DATASETS = ("ic", "nlp", "nano", "dd", "chinchilla")


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def heldout(prior: str, n: int, seed: int) -> list[dict]:
    """``n`` held-out curves of ``prior`` as context/target arrays (y > 0 kept)."""
    from scalebayes.pfn._train import TrainConfig, draw_curves

    config = TrainConfig(model="tiny", prior=prior, input="log-relative")
    curves = draw_curves(config, jax.random.PRNGKey(seed), n, config.n_points)
    x, y, mask = (np.asarray(a, np.float64) for a in (curves.x, curves.y, curves.mask))
    out = []
    for i, c in enumerate(np.asarray(curves.context_size)):
        length = int(mask[i].sum())
        xt, yt = x[i, c:length], y[i, c:length]
        keep = yt > 0  # the NSL-PFN prior's noise can push a target to <= 0 (not a loss)
        if keep.any():
            out.append({"xc": x[i, :c], "yc": y[i, :c], "xt": xt[keep], "yt": yt[keep]})
    return out


def _as_rows(curves, dataset: str | None = None) -> list[dict]:
    return [
        {"xc": c.x_context, "yc": c.y_context, "xt": c.x_target, "yt": c.y_target}
        | ({"dataset": dataset} if dataset else {})
        for c in curves
    ]


def eval_sets() -> dict[str, list[dict]]:
    from scalebayes.data import load_benchmark, load_far_benchmark

    sets = {
        "prior NSL-PFN": heldout("nslpfn", 400, 1234),
        "prior scale-free": heldout("scalefree", 400, 1234),
    }
    for label, names in BENCH.items():
        sets[label] = _as_rows([c for n in names for c in load_benchmark(n)])
    for split, factor in (("far10", 10), ("far100", 100)):
        sets[split] = [
            row for n in FAR_DATASETS for row in _as_rows(load_far_benchmark(n, factor), n)
        ]
    return sets


def _protocol_scales(rows: list[dict]) -> list[float | str]:
    """The study method's y scale per row (``protocol_scale``: 1 for a context below 1, else
    ``"auto"``): a held-out scale-free prior curve's y reaches beyond what ``y_scale=1`` may
    read, which the PFN refuses."""
    from scalebayes.pfn import protocol_scale

    return [protocol_scale(r["yc"]) for r in rows]


def score_pfn(model: str, rows: list[dict], y_scale: float | str | None = None) -> dict:
    """``model``'s scores on ``rows``; ``y_scale`` ``None`` reads each curve as a study does
    (``_protocol_scales``), ``"auto"`` as a user's y."""
    from scalebayes.evaluate import score_curve
    from scalebayes.pfn import PFN

    if y_scale is None:
        y_scale = _protocol_scales(rows)
    pfn = PFN.load(model)
    preds = pfn.predict_many(
        [r["xc"] for r in rows], [r["yc"] for r in rows], [r["xt"] for r in rows], y_scale=y_scale
    )
    return _scores(rows, [score_curve(p, r["yt"]) for p, r in zip(preds, rows, strict=True)])


def score_stacked(rows: list[dict], y_scale: float | str | None = None) -> dict:
    """The shipped near answer on ``rows``: the two shipped PFNs stacked per curve by their
    back-tests and stretched by ``NEAR_SCALE`` (``scalebayes.pfn.predict_each`` with
    ``stack``), at every distance."""
    from scalebayes.evaluate import score_curve
    from scalebayes.pfn import PFN, predict_each

    if y_scale is None:
        y_scale = _protocol_scales(rows)
    preds = predict_each(
        [PFN.load_for(1.0)] * len(rows),
        [r["xc"] for r in rows],
        [r["yc"] for r in rows],
        [r["xt"] for r in rows],
        y_scale=y_scale,
        stack=True,
    )
    return _scores(rows, [score_curve(p, r["yt"]) for p, r in zip(preds, rows, strict=True)])


def score_fit(family: str, rows: list[dict]) -> dict:
    """A point fit of ``family`` (m1-m4, bnsl) scored by RMSLE (curves of 3 or more runs)."""
    from scalebayes.evaluate import rmsle
    from scalebayes.inference import fit_curves, predict_fits

    ok = [r for r in rows if r["xc"].size >= 3 and np.all(r["yc"] > 0)]
    fits = fit_curves(family, [r["xc"] for r in ok], [r["yc"] for r in ok])
    preds = predict_fits(fits, [r["xt"] for r in ok])
    values = [rmsle(np.maximum(p, 1e-12), r["yt"]) for p, r in zip(preds, ok, strict=True)]
    scores = {"rmsle": float(np.mean(values)), "ll": None, "cover90": None, "n": len(ok)}
    return scores | _by_dataset(ok, {"rmsle": values})


def best_of(rows: list[dict]) -> dict:
    """The lowest mean RMSLE of ``rows`` (one ``score_fit`` result per family), overall and
    per dataset."""
    best = {"rmsle": min(r["rmsle"] for r in rows), "ll": None, "cover90": None}
    best["n"] = rows[0]["n"]
    if "by_dataset" in rows[0]:
        best["by_dataset"] = {
            name: {
                "rmsle": min(r["by_dataset"][name]["rmsle"] for r in rows),
                "n": rows[0]["by_dataset"][name]["n"],
            }
            for name in rows[0]["by_dataset"]
        }
    return best


def _by_dataset(rows, values: dict[str, list]) -> dict:
    """Per-curve ``values`` averaged within each dataset, for rows that name one."""
    names = list(dict.fromkeys(r["dataset"] for r in rows if "dataset" in r))
    if not names:
        return {}
    table = {}
    for name in names:
        idx = [i for i, r in enumerate(rows) if r.get("dataset") == name]
        table[name] = {k: float(np.mean([v[i] for i in idx])) for k, v in values.items()}
        table[name]["n"] = len(idx)
    return {"by_dataset": table}


def _scores(rows, metrics) -> dict:
    values = {
        "rmsle": [m["rmsle"] for m in metrics],
        "ll": [m["ll"] for m in metrics],
        "cover90": [m["cov90"] for m in metrics],
    }
    scores = {k: float(np.mean(v)) for k, v in values.items()} | {"n": len(rows)}
    return scores | _by_dataset(rows, values)


def _cell(s: dict) -> str:
    if s.get("ll") is None:
        return f"{s['rmsle']:.4f}"
    cover = "" if s.get("cover90") is None else f" / {s['cover90']:.2f}"
    return f"{s['rmsle']:.4f} / {s['ll']:.3f}{cover}"


def _datasets(table: dict, split: str) -> list[tuple[str, int]]:
    """``(dataset, curves)`` of a set scored dataset by dataset (the far splits)."""
    first = next(iter(table.values()))[split]
    return [(name, s["n"]) for name, s in first.get("by_dataset", {}).items()]


def print_table(table: dict, sets: dict) -> str:
    header = ["model", *(f"{k} ({len(v)})" for k, v in sets.items())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, row in table.items():
        lines.append("| " + " | ".join([label, *(_cell(row[k]) for k in sets)]) + " |")
    lines.append(
        f"\ncells: RMSLE / LL / 90% coverage, mean over curves (point fits: RMSLE); load {_load()}"
    )
    far = [(split, name, n) for split in sets for name, n in _datasets(table, split)]
    if far:  # the far splits dataset by dataset (the issue asks for every far dataset)
        header = ["model", *(f"{split} {name} ({n})" for split, name, n in far)]
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for label, row in table.items():
            cells = [_cell(row[split]["by_dataset"][name]) for split, name, _ in far]
            lines.append("| " + " | ".join([label, *cells]) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


FAMILIES = ("m1", "m2", "m3", "m4", "bnsl")


def evaluate(
    models: dict[str, str], point_fits: list[str] | bool = (), out: Path | None = None
) -> dict:
    """Score every model (label -> checkpoint or shipped name) and point-fit family on every
    set; print the table. ``point_fits=True`` means ``["m4"]``."""
    point_fits = ["m4"] if point_fits is True else list(point_fits or ())
    unknown = [f for f in point_fits if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown point fit(s) {unknown}; choose from {', '.join(FAMILIES)}")
    sets = eval_sets()
    table = {}
    for label, model in models.items():
        table[label] = {name: score_pfn(model, rows) for name, rows in sets.items()}
        print(f"scored {label}", flush=True)
    for family in point_fits:
        table[f"{family.upper()} point fit"] = {
            name: score_fit(family, rows) for name, rows in sets.items()
        }
    if len(point_fits) > 1:
        fits = [table[f"{f.upper()} point fit"] for f in point_fits]
        table["best point fit"] = {name: best_of([f[name] for f in fits]) for name in sets}
    text = print_table(table, sets)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "eval.json").write_text(json.dumps(table, indent=1))
        (out / "eval.md").write_text(text + "\n")
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="comma-separated checkpoints or names")
    parser.add_argument("--m4", action="store_true", help="add an M4 point-fit row")
    parser.add_argument(
        "--point-fits",
        default="",
        help=f"comma-separated families ({','.join(FAMILIES)}): a row each and their best",
    )
    parser.add_argument("--out", default=None, help="write eval.json and eval.md here")
    args = parser.parse_args(argv)
    models = {m: m for m in args.models.split(",") if m}
    fits = [f for f in args.point_fits.split(",") if f]
    if args.m4 and "m4" not in fits:
        fits.append("m4")
    unknown = [f for f in fits if f not in FAMILIES]
    if unknown:
        choices = ", ".join(FAMILIES)
        parser.error(f"unknown point fit(s) {', '.join(unknown)}; choose from {choices}")
    evaluate(models, fits, None if args.out is None else Path(args.out))


if __name__ == "__main__":
    main()
