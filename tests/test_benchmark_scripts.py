"""Benchmark scripts whose output the docs quote, where a cheap check can run."""

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pfn_eval_scores_the_default_model_on_curves_above_two():
    """A review: `pfn_eval.py --models nslpfn-base` raised on the held-out scale-free prior
    curves (y up to several times the first run's) since y_scale=1 beyond y = 2 is refused;
    it now reads each curve as a study does."""
    pfn_eval = _script("pfn_eval")
    x = np.geomspace(1.0, 100.0, 10)
    rows = [
        {"xc": x[:7], "yc": 3.0 * x[:7] ** -0.2, "xt": x[7:], "yt": 3.0 * x[7:] ** -0.2},
        {"xc": x[:7], "yc": 0.9 * x[:7] ** -0.2, "xt": x[7:], "yt": 0.9 * x[7:] ** -0.2},
    ]
    assert pfn_eval._protocol_scales(rows) == ["auto", 1.0]
    scores = pfn_eval.score_pfn("nslpfn-base", rows)
    assert scores["n"] == 2 and np.isfinite(scores["rmsle"]) and scores["rmsle"] < 0.2
