"""Fit the bar's tail scales of shipped PFNs to their training priors and store them.

For each named model under ``scalebayes/pfn/weights/``: rebuild its training config from
its ``meta.json``, draw the prior's encoded y afresh (``prior_tail_scales``) and write
``tail_scales`` into ``meta.json`` (atomically; the weights and their checksum are not
touched). ``PFN.load`` then spreads the outer buckets' masses as the prior's values do.

    python tools/fit_tail_scales.py mixture-tiny nslpfn-base nslpfn-small
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from scalebayes.pfn import PFN, TrainConfig
from scalebayes.pfn._checkpoint import write_meta
from scalebayes.pfn._train import prior_tail_scales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="shipped model names")
    args = parser.parse_args()
    for name in args.models:
        start = time.perf_counter()
        pfn = PFN.load(name)  # a shipped name, checksum verified
        path = Path(pfn.meta["_path"]) / "meta.json"
        meta = json.loads(path.read_text())
        config = TrainConfig.from_dict(meta["train_config"])
        scales = prior_tail_scales(config, meta["borders"])
        before = [float(s) for s in pfn.bar.scales]
        meta["tail_scales"] = [float(s) for s in scales]
        write_meta(path.parent, meta)  # its meta_sha256 recomputed
        print(
            f"{name}: tail scales {before[0]:.4g}, {before[1]:.4g} (outer widths) -> "
            f"{scales[0]:.4g}, {scales[1]:.4g} ({time.perf_counter() - start:.0f} s)"
        )


if __name__ == "__main__":
    main()
