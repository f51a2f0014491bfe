"""The training curve of a PFN run: loss against step (and curves seen) from its log.jsonl.

python benchmarks/plot_training.py runs/gpu/log.jsonl docs/img/training_curve.png
"""

from __future__ import annotations

import json
import sys

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from scalebayes._io import write_figure


def main(argv=None) -> None:
    log, path = (argv or sys.argv[1:])[:2]
    records = [json.loads(line) for line in open(log)]
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([r["step"] for r in records], [r["loss"] for r in records], "o-", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (bar NLL at the targets)")
    ax.set_title(f"{len(records)} checkpoints, last loss {records[-1]['loss']:.3f}")
    write_figure(fig, path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
