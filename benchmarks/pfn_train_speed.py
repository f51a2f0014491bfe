"""Training-step throughput of the PFN: curves per second, prior drawn inside the step.

For each (config, dtype, batch) it compiles the training step once (timed), runs a few
warm-up steps, then times ``--steps`` steps (blocking on the result) and prints curves/s,
ms/step and an estimate of the model FLOP rate (6 x parameters x tokens per step, plus the
attention products). The prior generator alone (``draw_curves``, what the step draws) is
timed at the same batch, and its share of a step (generator time / step time) is printed
for each prior: the issue's target is at most a quarter.

    python benchmarks/pfn_train_speed.py --configs small,base --dtypes bfloat16 --batch 512 \
        [--priors nslpfn,scalefree,mixture] [--prior-only]

``--prior-only`` times the generators alone (no step compiled); `benchmarks/gpu_train.sh`
divides that by its training run's logged step time.

Reference (issue 5, an H100): a 26.7M-parameter encoder (the "paper" config) at batch 256 x
128 points in bf16 ran about 10,000 curves/s (about 210 TFLOP/s), compile about 18 s.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np


def _flops_per_step(config, batch: int, n_points: int) -> float:
    from scalebayes.pfn import PFNModel, count_parameters

    params = count_parameters(PFNModel(jax.random.PRNGKey(0), config))
    tokens = batch * n_points
    attention = 4 * config.n_layers * batch * n_points**2 * config.d_model
    return 3 * (2 * params * tokens + attention)  # forward + backward = 3x forward


def _time_step(config, warmup: int, steps: int) -> tuple[float, float, float]:
    """(compile seconds, seconds per step, last loss) of the training step at ``config``."""
    from scalebayes.pfn import BarDistribution, init_state, make_step

    bar_k = BarDistribution(np.linspace(0.0, 1.3, config.model_config.n_buckets + 1))
    state = init_state(config)
    step = make_step(config, bar_k, jax.random.PRNGKey(0))
    t0 = time.perf_counter()
    state, loss = step(state)
    loss.block_until_ready()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        state, loss = step(state)
    loss.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(steps):
        state, loss = step(state)
    loss.block_until_ready()
    return compile_s, (time.perf_counter() - t0) / steps, float(jnp.asarray(loss))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="small,base")
    parser.add_argument("--dtypes", default="bfloat16")
    parser.add_argument("--batch", default="512", help="comma-separated batch sizes")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps after compiling")
    parser.add_argument(
        "--priors", default="nslpfn", help="comma-separated: nslpfn,scalefree,mixture"
    )
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    parser.add_argument(
        "--prior-only",
        action="store_true",
        help="time only the prior generator (no model, no compile of the step); its share of "
        "a step is then prior ms over a step time measured elsewhere (a training log)",
    )
    args = parser.parse_args(argv)

    from scalebayes.pfn import TrainConfig
    from scalebayes.pfn._train import draw_curves

    print(f"devices: {jax.devices()}")
    rows = []
    combos = [
        (name, dtype, int(batch), prior)
        for name in args.configs.split(",")
        for dtype in args.dtypes.split(",")
        for batch in args.batch.split(",")
        for prior in args.priors.split(",")
    ]
    for name, dtype, batch, prior_name in combos:
        config = TrainConfig(
            model=name,
            steps=10_000,
            batch_size=batch,
            compute_dtype=dtype,
            prior=prior_name,
            input="nslpfn" if prior_name == "nslpfn" else "log-relative",
        )
        if args.prior_only:
            compile_s, per_step, loss = float("nan"), float("nan"), float("nan")
        else:
            compile_s, per_step, loss = _time_step(config, args.warmup, args.steps)
        gen = jax.jit(
            lambda k, batch=batch, config=config: draw_curves(config, k, batch, config.n_points).y
        )
        for i in range(1 + args.warmup):
            gen(jax.random.PRNGKey(100 + i)).block_until_ready()
        t0 = time.perf_counter()
        for i in range(args.steps):
            out = gen(jax.random.PRNGKey(2 + i))
        out.block_until_ready()
        gen_step = (time.perf_counter() - t0) / args.steps
        flops = _flops_per_step(config.model_config, batch, config.n_points)
        timed = not args.prior_only
        row = {
            "config": name,
            "prior": prior_name,
            "dtype": dtype,
            "batch": batch,
            "compile_s": round(compile_s, 1) if timed else None,
            "ms_per_step": round(per_step * 1e3, 2) if timed else None,
            "curves_per_s": round(batch / per_step) if timed else None,
            "prior_ms": round(gen_step * 1e3, 2),
            "prior_curves_per_s": round(batch / gen_step),
            "prior_share": float(f"{gen_step / per_step:.3g}") if timed else None,
            "tflops": round(flops / per_step / 1e12, 1) if timed else None,
            "loss": loss if timed else None,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f"{'config':<8} {'prior':<10} {'dtype':<9} {'batch':>6} {'compile s':>10} "
        f"{'ms/step':>9} {'curves/s':>10} {'prior ms':>9} {'share':>6} {'TFLOP/s':>8}"
    )
    for r in rows:
        cell = {k: "-" if v is None else v for k, v in r.items()}
        curves = "-" if r["curves_per_s"] is None else f"{r['curves_per_s']:,}"
        print(
            f"{r['config']:<8} {r['prior']:<10} {r['dtype']:<9} {r['batch']:>6} "
            f"{cell['compile_s']:>10} {cell['ms_per_step']:>9} {curves:>10} "
            f"{r['prior_ms']:>9} {cell['prior_share']:>6} {cell['tflops']:>8}"
        )
    print(
        "reference (issue 5, H100): paper config, bf16, batch 256 x 128: ~10,000 curves/s, "
        "~210 TFLOP/s, compile ~18 s"
    )
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
