"""What a user waits for on a first call: each step in a fresh Python process, no compilation
cache (``SCALEBAYES_CACHE_DIR=`` and no ``JAX_COMPILATION_CACHE_DIR``), so every program is
compiled as on a new machine or in a new notebook kernel.

Steps, each timed in its own process after ``import scalebayes`` (the import is timed too):
``PFN.load()`` of the default and the far model, their first ``predict`` on a 6-run curve,
``fit_curves`` of each family on that curve (first call, then a second call of another curve
of the same size), and the command line ``scalebayes extrapolate`` on a CSV of the runs (at
3x and 30x), with its cache off and then with a warm cache of its own (a temporary directory).

    python benchmarks/cold_start.py [--repeats 3] [--python PYTHON] [--root DIR]

``--root`` runs the steps against another checkout (e.g. an older commit in a ``git
worktree``), to set a change beside what it replaced on the same machine; the figures are
medians over the repeats, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

X = [1e17, 5e17, 2e18, 8e18, 3e19, 1e20]
Y = [3.9, 3.5, 3.2, 3.0, 2.85, 2.74]
QUERY = 3e21

_STEP = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    import scalebayes
    from scalebayes.inference import fit_curves
    from scalebayes.pfn import PFN
    out = {"import": time.perf_counter() - t0}
    x, y = np.array(%(x)r), np.array(%(y)r)
    step = sys.argv[1]
    if step.startswith("pfn:"):
        t = time.perf_counter(); pfn = PFN.load(step[4:]); out["load"] = time.perf_counter() - t
        t = time.perf_counter(); pfn.predict(x, y, np.array([%(q)r])).quantile(0.5)
        out["first predict"] = time.perf_counter() - t
    else:
        t = time.perf_counter(); fit_curves(step, [x], [y])
        out["first fit"] = time.perf_counter() - t
        t = time.perf_counter(); fit_curves(step, [x * 2], [y * 1.1])
        out["second fit"] = time.perf_counter() - t
    print(json.dumps(out))
    """
)


_IMPORT = "import numpy, scalebayes.inference, scalebayes.pfn (every step's process)"
_CLI = "import sys; from scalebayes.cli import main; sys.exit(main())"


def _run(python: str, root: Path, args: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(
        [python, *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr[-2000:]}")
    return wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    root = args.root.resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env.update(SCALEBAYES_CACHE_DIR="", PYTHONPATH=str(root), TQDM_DISABLE="1")
    script = _STEP % {"x": X, "y": Y, "q": QUERY}
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for step in ("pfn:nslpfn-base", "pfn:mixture-tiny", "m2", "m4", "bnsl"):
            _, printed = _run(args.python, root, ["-c", script, step], env)
            for what, seconds in json.loads(printed.strip().splitlines()[-1]).items():
                key = _IMPORT if what == "import" else f"{step} {what}"
                rows.setdefault(key, []).append(seconds)
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "runs.csv"
            csv.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(X, Y, strict=True)))
            cli = ["-c", _CLI, "extrapolate", str(csv), "--to", f"{X[-1] * 3},{QUERY}"]
            wall, _ = _run(args.python, root, cli, env)
            rows.setdefault("scalebayes extrapolate, no cache", []).append(wall)
            warm = {**env, "SCALEBAYES_CACHE_DIR": str(Path(tmp) / "cache")}
            _run(args.python, root, cli, warm)  # fills the cache
            wall, _ = _run(args.python, root, cli, warm)
            rows.setdefault("scalebayes extrapolate, warm cache", []).append(wall)
    print(f"cold start, {root} (medians over {args.repeats} repeats, seconds)\n")
    print("| step | median | range |\n|---|---|---|")
    for what, values in rows.items():
        print(f"| {what} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} |")


if __name__ == "__main__":
    main()
