"""Which prior should the GPU run train on? Tiny PFNs trained here, same steps, three priors.

Trains the ``tiny`` config with the scale-free ``"log-relative"`` input on (a) the NSL-PFN
prior, (b) the scale-free prior and (c) a 50/50 mixture, for the same number of steps and
batch size (so each sees the same number of curves; the wall time of each is printed), then
scores each with ``benchmarks/pfn_eval.py`` beside the shipped models (NSL-PFN input) and an
M4 point fit: held-out curves of both priors, the NSL-PFN splits and the far splits.

    python benchmarks/prior_choice.py --steps 1500 --out out/prior_choice
    python benchmarks/prior_choice.py --eval-only --out out/prior_choice
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pfn_eval import _load, evaluate

PRIORS = ("nslpfn", "scalefree", "mixture")


def train_all(args) -> dict:
    from scalebayes.pfn import TrainConfig, export_weights, train

    info = {}
    for prior in args.priors.split(","):
        run = Path(args.out) / prior
        config = TrainConfig(
            model="tiny",
            steps=args.steps,
            batch_size=args.batch,
            lr=1e-3,
            prior=prior,
            input="log-relative",
            ema_decay=0.995,
            checkpoint_every=max(1, args.steps // 5),
            border_curves=5000,
            seed=args.seed,
        )
        t0 = time.perf_counter()
        ckpt = train(config, run, progress=False, log=None)
        seconds = time.perf_counter() - t0
        export_weights(ckpt, run / "weights")
        info[prior] = {"seconds": seconds, "curves": args.steps * args.batch, "load": _load()}
        print(
            f"trained {prior}: {seconds:.0f} s, {args.steps * args.batch:,} curves, load {_load()}",
            flush=True,
        )
    return info


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--priors", default=",".join(PRIORS))
    parser.add_argument("--shipped", default="nslpfn-small,nslpfn-base")
    parser.add_argument("--out", default="out/prior_choice")
    parser.add_argument("--eval-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.eval_only:
        (out / "train.json").write_text(json.dumps(train_all(args), indent=1))
    models = {f"tiny, {p} prior": str(out / p / "weights") for p in args.priors.split(",")}
    models.update({f"shipped {m} (NSL-PFN input)": m for m in args.shipped.split(",") if m})
    evaluate(models, m4=True, out=out)


if __name__ == "__main__":
    main()
