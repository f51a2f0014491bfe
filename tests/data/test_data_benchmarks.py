"""Tests for the bundled benchmarks: counts, splits, normalisation and de-duplication.

Expectations are checked against an independent parse of the bundled files with `csv`.
"""

import collections
import csv
import functools
from importlib import resources

import numpy as np
import pytest

from scalebayes.data import BENCHMARKS, Curve, CurveDataError, _benchmarks, load_benchmark

COUNTS = {
    "ic": 72,
    "nmt": 5,
    "lm": 5,
    "bb": 10,
    "nlp": 20,
    "nano": 24,
    "dd": 16,
    "nlp+nano": 44,
    "bnsl_addition": 1,
    "chinchilla": 11,
}


def _raw(filename):
    path = resources.files("scalebayes.data").joinpath("_bundled", filename)
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@functools.cache
def _raw_revisiting(filename, domain):
    """{Task|Model: [(x, y, training)]} straight from the file, in file order."""
    out = collections.defaultdict(list)
    for r in _raw(filename):
        if r["Domain"] == domain:
            out[f"{r['Task']}|{r['Model']}"].append(
                (float(r["Seen Examples"]), float(r["Loss"]), r["Training"] == "1")
            )
    return out


def test_benchmark_names():
    assert set(BENCHMARKS) == set(COUNTS)


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_curve_counts_names_and_order(name, count):
    curves = load_benchmark(name)
    assert len(curves) == count
    assert all(isinstance(c, Curve) for c in curves)
    assert len({c.name for c in curves}) == count
    for c in curves:
        assert np.all(np.diff(c.x) > 0) and np.all(c.x > 0)
        assert c.is_context is not None and c.is_context.any() and not c.is_context.all()


def test_nlp_is_nmt_lm_bb_and_datasets_are_labelled():
    nlp = load_benchmark("nlp")
    assert [c.dataset for c in nlp] == ["NMT"] * 5 + ["LM"] * 5 + ["BB"] * 10
    assert [c.name for c in nlp] == [c.name for n in ("nmt", "lm", "bb") for c in load_benchmark(n)]
    both = load_benchmark("nlp+nano")
    assert [c.name for c in both] == [c.name for c in nlp + load_benchmark("nano")]
    for name, dataset in [("ic", "IC"), ("dd", "DD"), ("nano", "Nano")]:
        assert {c.dataset for c in load_benchmark(name)} == {dataset}
    assert load_benchmark("bnsl_addition")[0].dataset == "bnsl_addition"


def test_lookup_is_case_insensitive():
    assert [c.name for c in load_benchmark(" NLP+Nano ")] == [
        c.name for c in load_benchmark("nlp+nano")
    ]
    assert len(load_benchmark("IC")) == 72


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown benchmark 'colpret'; valid names: ic, nmt"):
        load_benchmark("colpret")
    with pytest.raises(TypeError, match="must be a string"):
        load_benchmark(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "filename"), [("ic", "vision"), ("nlp", "lang")])
def test_ic_and_nlp_match_the_file_sorted_with_training_split(name, filename):
    for c in load_benchmark(name):
        raw = _raw_revisiting(f"benchmark.{filename}.csv", c.dataset)[c.name]
        points = sorted(set(raw))  # exact repeats (LM) counted once
        np.testing.assert_array_equal(c.x, [p[0] for p in points])
        np.testing.assert_array_equal(c.y, [p[1] for p in points])
        np.testing.assert_array_equal(c.is_context, [p[2] for p in points])
        assert c.y_scale == 1.0 and np.all((c.y > 0) & (c.y <= 0.999 + 1e-12))
        assert c.x_target.min() > c.x_context.max()  # every target beyond every context x
        assert 1.6 < c.x_target.max() / c.x_context.max() < 2.25


def test_ic_curves_list_their_first_x_point_out_of_order_in_the_file():
    raw = _raw_revisiting("benchmark.vision.csv", "IC")
    unsorted = [n for n, pts in raw.items() if pts[0][0] != min(p[0] for p in pts)]
    assert len(unsorted) == 72  # the loader's sorting matters for every IC curve
    curves = {c.name: c for c in load_benchmark("ic")}
    assert all(curves[n].x[0] == min(p[0] for p in raw[n]) for n in unsorted)


def test_lm_rows_repeat_four_times_and_are_merged():
    raw = _raw_revisiting("benchmark.lang.csv", "LM")
    lm = load_benchmark("lm")
    assert [c.n for c in lm] == [119, 24, 44, 21, 21]
    assert [c.metadata["n_rows"] for c in lm] == [476, 96, 176, 84, 84]
    for c in lm:
        assert set(collections.Counter(raw[c.name]).values()) == {4}
        assert c.metadata["n_merged_rows"] == 3 * c.n and c.metadata["averaged_x"] == ()
        assert c.y[0] == pytest.approx(0.999, abs=1e-12)  # first LM point clipped at 0.999


def _raw_nslpfn(filename):
    out = collections.defaultdict(list)
    for r in _raw(filename):
        out[r["curve_id"]].append((float(r["x"]), float(r["y"]), r["default_split"] == "context"))
    return out


def test_dd_split_follows_the_nslpfn_rule_and_the_file():
    raw = _raw_nslpfn("dd.csv")
    for c in load_benchmark("dd"):
        n_ctx = max(3, min(int(0.5 * c.n + 0.5), c.n - 1))
        np.testing.assert_array_equal(c.is_context, np.arange(c.n) < n_ctx)
        points = sorted(set(raw[c.name]))
        np.testing.assert_array_equal(c.is_context, [p[2] for p in points])  # default_split
        np.testing.assert_array_equal(c.x, [p[0] for p in points])


def test_dd_df18k_repeats_two_points():
    (c,) = [c for c in load_benchmark("dd") if c.name == "DD|df18k"]
    assert (c.n, c.metadata["n_rows"], c.n_context) == (25, 27, 13)
    assert c.metadata["averaged_x"] == ()


def test_nano_split_is_six_context_one_target():
    for c in load_benchmark("nano"):
        assert (c.n, c.n_context) == (7, 6)
        assert c.x_target[0] == c.x.max() == 384.0


@pytest.mark.parametrize(("name", "filename"), [("dd", "dd.csv"), ("nano", "nano.csv")])
def test_dd_and_nano_y_divided_by_max_context_y(name, filename):
    raw = _raw_nslpfn(filename)
    for c in load_benchmark(name):
        y_raw = np.array([p[1] for p in sorted(set(raw[c.name]))])
        assert c.y_context.max() == 1.0
        assert c.y_scale == y_raw[c.is_context].max()
        np.testing.assert_allclose(c.y * c.y_scale, y_raw, rtol=1e-15)


def test_bnsl_addition_curve():
    (c,) = load_benchmark("bnsl_addition")
    assert (c.name, c.n, c.n_context, c.y_scale) == ("4_digit_addition", 17, 14, 1.0)
    assert c.x[0] == 160.0 and c.x[-1] == 928.0
    assert c.x_target.min() > c.x_context.max()


def test_cached_curves_cannot_be_altered_through_a_returned_curve():
    first = load_benchmark("nano")[0]
    first.metadata["subset"] = "changed"
    with pytest.raises(ValueError, match="read-only"):
        first.y[0] = 0.0
    again = load_benchmark("nano")[0]
    assert again.metadata["subset"] == "minval"
    np.testing.assert_array_equal(again.y, first.y)


def test_bundled_files_are_checksummed(monkeypatch):
    monkeypatch.setitem(_benchmarks._SHA256, "nano.csv", "0" * 64)
    _benchmarks._checked_rows.cache_clear()
    try:
        with pytest.raises(CurveDataError, match=r"nano\.csv: SHA-256 [0-9a-f]{64} differs"):
            _benchmarks.bundled_table("nano.csv")
    finally:
        _benchmarks._checked_rows.cache_clear()


def test_every_bundled_file_passes_its_checksum():
    rows = {f: len(_benchmarks.bundled_table(f)) for f in _benchmarks._SHA256}
    assert rows["epoch_chinchilla_long.csv"] == rows["svg_extracted_data.csv"] == 245
    assert (rows["benchmark.vision.csv"], rows["benchmark.lang.csv"]) == (18883, 1399)
    assert sum(c.metadata["n_rows"] for c in load_benchmark("ic")) == 18883
    assert sum(c.metadata["n_rows"] for c in load_benchmark("nlp")) == 1399
    assert sum(c.metadata["n_rows"] for c in load_benchmark("dd")) == 929


def test_every_benchmark_says_how_it_is_split():
    from scalebayes.data import BENCHMARK_SPLITS, BENCHMARKS

    assert set(BENCHMARK_SPLITS) == set(BENCHMARKS)
    assert all(text.strip() for text in BENCHMARK_SPLITS.values())


def test_a_row_changed_by_a_caller_changes_no_later_read():
    # a review: a row changed in memory showed in every later read, after the checksum
    import json

    row = _benchmarks.bundled_table("nano.csv")[0]
    before = dict(row)
    row[next(iter(row))] = "changed"
    assert _benchmarks.bundled_table("nano.csv")[0] == before
    json.dumps(_benchmarks.bundled_table("nano.csv"))  # plain dicts, as documented
