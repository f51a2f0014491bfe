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


def test_near_edge_measures_each_answer_against_the_truth():
    """``benchmarks/near_edge.py``: one log error per curve and distance for each answer; an
    M4 point fit of these M2-family curves is near the truth just beyond the runs."""
    import near_edge

    errors = near_edge.near_edge(4, 0)
    assert set(errors) == {
        "shipped answer (extrapolate)",
        "PFN nslpfn-base alone",
        "PFN mixture-tiny alone",
        "M4 point fit",
    }
    for logr in errors.values():
        assert logr.shape == (4, len(near_edge.DISTANCES)) and np.all(np.isfinite(logr))
    assert np.abs(errors["M4 point fit"][:, 0]).max() < 0.05


def test_floors_set_the_floors_range_and_default_to_the_published_draws():
    """``--floors`` moves the floor's range; the default draws are the documented ones."""
    xs, ys, xq, yq = far_synthetic.draw(20, 0)
    again = far_synthetic.draw(20, 0, floors=far_synthetic.FLOORS)
    for a, b in zip((xs, ys, xq, yq), again, strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
    _, _, _, near = far_synthetic.draw(20, 0, floors=(0.9, 0.9))
    # y = f + (1 - f) (x / x_last)^-a: every question lies between the floor and the last run
    for q in near:
        assert np.all((q > 0.9) & (q < 1.0))
