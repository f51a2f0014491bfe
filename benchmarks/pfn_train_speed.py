"""Training-step throughput of the PFN: curves per second, prior drawn inside the step.

For each (config, dtype, batch) it compiles the training step once (timed), runs a few
warm-up steps, then times ``--steps`` steps (blocking on the result) and prints curves/s,
ms/step and an estimate of the model FLOP rate (6 x parameters x tokens per step, plus the
attention products). The prior generator alone (``draw_curves``, what the step draws) is
timed at the same batch, and its share of a step (generator time / step time) is printed
for each prior: the issue's target is at most a quarter.

    python benchmarks/pfn_train_speed.py --configs small,base --dtypes bfloat16 --batch 512 \
        [--priors nslpfn,scalefree,mixture]

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
    args = parser.parse_args(argv)

    from scalebayes.pfn import BarDistribution, TrainConfig, init_state, make_step
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
        bar_k = BarDistribution(np.linspace(0.0, 1.3, config.model_config.n_buckets + 1))
        state = init_state(config)
        step = make_step(config, bar_k, jax.random.PRNGKey(0))
        t0 = time.perf_counter()
        state, loss = step(state)
        loss.block_until_ready()
        compile_s = time.perf_counter() - t0
        for _ in range(args.warmup):
            state, loss = step(state)
        loss.block_until_ready()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            state, loss = step(state)
        loss.block_until_ready()
        per_step = (time.perf_counter() - t0) / args.steps
        gen = jax.jit(
            lambda k, batch=batch, config=config: draw_curves(config, k, batch, config.n_points).y
        )
        gen(jax.random.PRNGKey(1)).block_until_ready()
        t0 = time.perf_counter()
        for i in range(args.steps):
            out = gen(jax.random.PRNGKey(2 + i))
        out.block_until_ready()
        gen_step = (time.perf_counter() - t0) / args.steps
        flops = _flops_per_step(config.model_config, batch, config.n_points)
        row = {
            "config": name,
            "prior": prior_name,
            "dtype": dtype,
            "batch": batch,
            "compile_s": round(compile_s, 1),
            "ms_per_step": round(per_step * 1e3, 2),
            "curves_per_s": round(batch / per_step),
            "prior_ms": round(gen_step * 1e3, 2),
            "prior_share": float(f"{gen_step / per_step:.3g}"),
            "tflops": round(flops / per_step / 1e12, 1),
            "loss": float(jnp.asarray(loss)),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f"{'config':<8} {'prior':<10} {'dtype':<9} {'batch':>6} {'compile s':>10} "
        f"{'ms/step':>9} {'curves/s':>10} {'prior ms':>9} {'share':>6} {'TFLOP/s':>8}"
    )
    for r in rows:
        print(
            f"{r['config']:<8} {r['prior']:<10} {r['dtype']:<9} {r['batch']:>6} "
            f"{r['compile_s']:>10} {r['ms_per_step']:>9} {r['curves_per_s']:>10,} "
            f"{r['prior_ms']:>9} {r['prior_share']:>6} {r['tflops']:>8}"
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
