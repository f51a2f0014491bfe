"""``benchmarks/far_switch.py``: the re-split that places the far model's switch."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import far_switch

from scalebayes.data import load_far_benchmark


@pytest.mark.parametrize("factor", [2.0, 5.0, 30.0])
def test_targets_lie_sqrt_f_to_f_and_more_beyond_a_few_runs(factor):
    rows = far_switch.split_rows("nlp", factor, 8)
    assert rows
    for r in rows:
        assert 2 <= r["xc"].size <= 8 and r["xt"].size >= 1
        ratio = r["xt"] / r["xc"].max()
        assert ratio.min() >= math.sqrt(factor) * (1 - 1e-12)
        assert ratio.max() >= factor * (1 - 1e-12)


def test_factor_10_is_the_far10_split():
    rows = far_switch.split_rows("nano", 10.0, 8)
    far10 = load_far_benchmark("nano", 10)
    assert len(rows) == len(far10)
    for r, c in zip(rows, far10, strict=True):
        for got, want in ((r["xc"], c.x_context), (r["yc"], c.y_context), (r["xt"], c.x_target)):
            np.testing.assert_array_equal(got, want)


def test_bad_factors_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        far_switch.main(["--factors", "1,abc"])
    assert stop.value.code == 2 and "--factors" in capsys.readouterr().err
