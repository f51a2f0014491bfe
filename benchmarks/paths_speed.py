"""Time ``MCMCResult.sample_paths`` over IC's 72 target counts (each a new shape, as in a study).

The draws are hand-made (the tests' helper in ``tests/inference/test_mcmc_paths.py``: M4 with
``ou_irw`` noise, 1,200 draws of one 12-point curve), so this times the joint paths alone,
compilation included, not the sampler.

    python benchmarks/paths_speed.py [--paths 200]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=200)
    args = parser.parse_args()
    import jax

    sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "tests" / "inference"))
    import test_mcmc_paths

    from scalebayes.data import load_benchmark

    sizes = [c.x_target.size for c in load_benchmark("ic")]
    result = test_mcmc_paths._result("ou_irw", 1200, seed=0)
    tic = time.perf_counter()
    for m in sizes:
        x = np.geomspace(1.2e7, 1e9, m)
        result.sample_paths(jax.random.key(0), [x], n_paths=args.paths)
    print(
        f"IC's {len(sizes)} target counts ({min(sizes)}-{max(sizes)}), {args.paths} paths each: "
        f"{time.perf_counter() - tic:.1f} s"
    )


if __name__ == "__main__":
    main()
