"""Which prior should the GPU run train on? Tiny PFNs trained here, same steps, three priors.

Trains the ``tiny`` config with the scale-free ``"log-relative"`` input on (a) the NSL-PFN
prior, (b) the scale-free prior and (c) a 50/50 mixture, for the same number of steps and
batch size (so each sees the same number of curves; the wall time of each is printed), then
scores each with ``benchmarks/pfn_eval.py`` beside the shipped models (NSL-PFN input) and an
M4 point fit: held-out curves of both priors, the NSL-PFN splits and the far splits.
An entry ``PRIOR:INPUT`` of ``--priors`` trains with another input encoding, e.g.
``nslpfn:nslpfn`` for the status quo (NSL-PFN's prior and its linear x mapping).
``--scalefree JSON`` replaces scale-free prior defaults (``TrainConfig.scalefree_overrides``)
for every run that draws scale-free curves, and ``--tag`` names such a variant.
``--key-scheme 1`` draws the runs' keys as before 2026-12-06 (``TrainConfig.key_scheme``), so
the tables of ``docs/results/far-prior.md`` measured before then reproduce.

    python benchmarks/prior_choice.py --steps 1500 --out out/prior_choice
    python benchmarks/prior_choice.py --eval-only --out out/prior_choice
    python benchmarks/prior_choice.py --steps 2000 --batch 48 --priors nslpfn:nslpfn
    python benchmarks/prior_choice.py --steps 2000 --batch 48 --priors mixture \
        --scalefree '{"break_prob": 0.25}' --tag fewer-breaks
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pfn_eval import _load, evaluate

PRIORS = ("nslpfn", "scalefree", "mixture")


def _variants(spec: str, tag: str = "") -> list[tuple[str, str, str]]:
    """``(run folder, prior, input)`` for each ``PRIOR`` or ``PRIOR:INPUT`` of ``spec``."""
    out = []
    for entry in spec.split(","):
        prior, _, encoding = entry.partition(":")
        folder = prior if not encoding else f"{prior}-{encoding}"
        out.append((f"{folder}-{tag}" if tag else folder, prior, encoding or "log-relative"))
    return out


def _label(prior: str, encoding: str, tag: str = "") -> str:
    extra = "" if encoding == "log-relative" else f", {encoding} input"
    extra += f", {tag}" if tag else ""
    return f"tiny, {prior} prior{extra}"


def train_all(args) -> dict:
    from scalebayes.pfn import TrainConfig, export_weights, train

    info = {}
    overrides = json.loads(args.scalefree) if args.scalefree else {}
    for folder, prior, encoding in _variants(args.priors, args.tag):
        run = Path(args.out) / folder
        config = TrainConfig(
            model="tiny",
            steps=args.steps,
            batch_size=args.batch,
            lr=1e-3,
            prior=prior,
            input=encoding,
            ema_decay=0.995,
            checkpoint_every=max(1, args.steps // 5),
            border_curves=5000,
            seed=args.seed,
            scalefree_overrides=overrides if prior != "nslpfn" else {},
            key_scheme=args.key_scheme,
        )
        t0 = time.perf_counter()
        ckpt = train(config, run, progress=False, log=None)
        seconds = time.perf_counter() - t0
        export_weights(ckpt, run / "weights")
        info[folder] = {"seconds": seconds, "curves": args.steps * args.batch, "load": _load()}
        print(
            f"trained {folder}: {seconds:.0f} s, {args.steps * args.batch:,} curves, "
            f"load {_load()}",
            flush=True,
        )
    return info


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--key-scheme",
        type=int,
        choices=(1, 2),
        default=2,
        help="TrainConfig.key_scheme; 1 reproduces the tables measured before 2026-12-06",
    )
    parser.add_argument("--priors", default=",".join(PRIORS))
    parser.add_argument("--shipped", default="nslpfn-small,nslpfn-base")
    parser.add_argument("--out", default="out/prior_choice")
    parser.add_argument("--eval-only", action="store_true")
    parser.add_argument("--scalefree", default="", help="JSON object of scale-free overrides")
    parser.add_argument("--tag", default="", help="names the --scalefree variant")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.eval_only:
        (out / "train.json").write_text(json.dumps(train_all(args), indent=1))
    models = {
        _label(p, i, args.tag): str(out / f / "weights")
        for f, p, i in _variants(args.priors, args.tag)
    }
    models.update({f"shipped {m} (NSL-PFN input)": m for m in args.shipped.split(",") if m})
    evaluate(models, ["m4"], out=out)


if __name__ == "__main__":
    main()
