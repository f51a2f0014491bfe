"""``benchmarks/far_synthetic.py --csv``: the synthetic LLM-like curves as a study CSV."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import far_synthetic

from scalebayes.data import read_curves_csv


def test_the_csv_holds_the_drawn_curves_with_the_questions_as_targets(tmp_path):
    path = tmp_path / "synth.csv"
    rows = far_synthetic.write_csv(str(path), 5, 3)
    xs, ys, xq, yq = far_synthetic.draw(5, 3)
    curves = read_curves_csv(path)
    assert rows == sum(x.size + q.size for x, q in zip(xs, xq, strict=True))
    assert [c.name for c in curves] == [f"llm{i:03d}" for i in range(5)]
    for c, x, y, q, t in zip(curves, xs, ys, xq, yq, strict=True):
        np.testing.assert_array_equal(c.x, np.concatenate([x, q]))  # exact: 17 digits
        np.testing.assert_array_equal(c.y, np.concatenate([y, t]))
        assert c.is_context.sum() == x.size and not c.is_context[x.size :].any()
        np.testing.assert_allclose(c.x[x.size :] / x[-1], far_synthetic.DISTANCES)
