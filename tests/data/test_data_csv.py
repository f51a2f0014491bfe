"""Tests for read_curves_csv: accepted layouts and every error path."""

import re
import warnings

import numpy as np
import pytest

from scalebayes._warnings import warn_if_early_rise
from scalebayes.data import (
    CurveDataError,
    RisingCurveWarning,
    load_benchmark,
    read_curves_csv,
    rises_throughout,
)


def _write(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_multi_curve_file_with_split_and_loose_header(tmp_path):
    text = (
        " Curve_ID , X ,Y, Split ,note\n"
        "b,100,2.0,context,\n"
        "a,10,3.0,CONTEXT,first\n"
        "a,30,2.5,context,\n"
        "a,20,2.8,context,\n"
        "\n"
        "a,40,2.4,Target,\n"
        "b,200,1.8,train,\n"
        "b,400,1.7,test,\n"
    )
    curves = read_curves_csv(_write(tmp_path, text))
    assert [c.name for c in curves] == ["b", "a"]  # order of first appearance
    a, b = curves[1], curves[0]
    np.testing.assert_array_equal(a.x, [10.0, 20.0, 30.0, 40.0])  # sorted by x
    np.testing.assert_array_equal(a.y, [3.0, 2.8, 2.5, 2.4])
    np.testing.assert_array_equal(a.is_context, [True, True, True, False])
    np.testing.assert_array_equal(b.is_context, [True, True, False])
    assert a.dataset == b.dataset == "runs" and a.y_scale == 1.0
    assert a.metadata["lines"] == (3, 7) and a.metadata["n_rows"] == 4


def test_single_curve_without_curve_or_split_column(tmp_path):
    text = "\ufeffx,loss\r\n1e3,3.5\r\n1e2,4.0\r\n1e4,3.1\r\n"  # BOM, CRLF, alias
    (c,) = read_curves_csv(_write(tmp_path, text, "my run.csv"))
    assert c.name == c.dataset == "my run" and c.is_context is None
    np.testing.assert_array_equal(c.x, [100.0, 1000.0, 10000.0])
    np.testing.assert_array_equal(c.y, [4.0, 3.5, 3.1])


def test_dedupe_mean_averages_y_of_repeated_x(tmp_path):
    text = "curve,x,y,split\nc,1,4,context\nc,2,1,context\nc,2,3,context\nc,3,2,target\n"
    text += "c,3,2,target\nc,4,1.5,target\n"
    (c,) = read_curves_csv(_write(tmp_path, text), dedupe="mean")
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(c.y, [4.0, 2.0, 2.0, 1.5])  # (1 + 3) / 2; exact repeat kept
    np.testing.assert_array_equal(c.is_context, [True, True, False, False])
    assert c.metadata["averaged_x"] == (2.0,) and c.metadata["n_merged_rows"] == 2


def test_round_trip_of_a_bundled_curve(tmp_path):
    src = load_benchmark("nmt")[0]
    labels = np.where(src.is_context, "context", "target")
    points = zip(src.x.tolist(), src.y.tolist(), labels, strict=True)
    rows = [f"{x!r},{y!r},{s}" for x, y, s in points]
    (c,) = read_curves_csv(_write(tmp_path, "x,y,split\n" + "\n".join(rows[::-1]) + "\n"))
    np.testing.assert_array_equal(c.x, src.x)
    np.testing.assert_array_equal(c.y, src.y)
    np.testing.assert_array_equal(c.is_context, src.is_context)


@pytest.mark.parametrize(
    ("text", "kw", "message"),
    [
        ("", {}, "the file is empty; expected a header line"),
        ("\n\n  \n", {}, "the file is empty"),
        ("x,y\n", {}, "the file has a header but no data rows"),
        (
            "size,val\n1,2\n",
            {},
            "line 1 (header): no column for x and y. Found columns ['size', 'val']; expected x, y",
        ),
        ("x;y\n1;2\n", {}, "uses another separator; save the file with commas"),
        ("# my runs\nx,y\n1,2\n", {}, "The first line looks like a comment: remove it"),
        (
            'x,y\n"1,000",2\n',
            {},
            "'1,000' is not a number; if ',' is a decimal comma write '1.000', if it separates "
            "thousands write '1000'",
        ),
        ('x,y\n"1,000,000",2\n', {}, "remove the thousands separators (write '1000000')"),
        ("x,y,curve,curve_id\n", {}, "columns 'curve', 'curve_id' all mean 'curve'; keep one"),
        ("x,y\n1,2\nabc,3\n", {}, "line 3 (data row 2): x value 'abc' is not a number"),
        # Python's float reads these as 25 and 10: in a data file they are typos
        ("x,y\n1,2\n2_5,3\n", {}, "line 3 (data row 2): x value '2_5' is not a number"),
        ("x,y\n1,2\n\uff11\uff10,3\n", {}, "x value '\uff11\uff10' is not a number"),
        # a review: Curve refused it without the file and line
        ("x,y\n1,2\n2,1e-320\n", {}, "line 3 (data row 2): y = 1e-320 is below 1e-300"),
        ("x,y\n1,2\n2, \n", {}, "line 3 (data row 2): y is empty; fill in a number"),
        ("x,y\nnan,2\n", {}, "line 2 (data row 1): x is 'nan'; only finite numbers"),
        ("x,y\n1,2\n2,inf\n", {}, "line 3 (data row 2): y is 'inf'; only finite numbers"),
        ("x,y\n0,2\n", {}, "line 2 (data row 1): x = 0 must be > 0 (x is a scale"),
        ("x,y\n1,2\n2,-1\n", {}, "line 3 (data row 2): y = -1 must be > 0 (y is a loss"),
        ("x,y\n1,2\n\n2,0\n", {}, "line 4 (data row 2): y = 0 must be > 0"),  # blank line
        ("x,y\n1,2\n2,3\n1,1\n3,1\n", {}, "x = 1 appears on lines 2, 4 (1 repeated x in all)"),
        (  # a review: names under an unread header read as one curve; say so, not only dedupe
            # (names whose own rows repeat an x do not tell the repeats apart: not read)
            "model_family,x,y,seed\nA,1,3,0\nA,1,2,1\nB,2,4,0\nB,2,3,1\n",
            {},
            "(2 repeated x in all); if column 'model_family' names the curves, call it curve "
            "(or curve_id, or name it: --curve-column model_family)",
        ),
        (
            "x,y,split\n1,2,context\n2,3,context\n2,3,target\n4,1,target\n",
            {"dedupe": "mean"},
            "x = 2 on lines 3, 4 is labelled both context and target",
        ),
        ("curve,x,y\na,1,2\na,2,1\nb,1,2\na,3,1\n", {}, "curve 'b': has 1 distinct x (line 4)"),
        ("x,y\n1,2\n2,1\n1,2\n", {"dedupe": "mean"}, "has 2 distinct x (lines 2, 3, 4) but at"),
        ("x,y\n1,4\n2,3\n3,2\n4,1\n", {"min_points": 5}, "has 4 distinct x (lines 2, 3, 4, 5)"),
        (
            "x,y,split\n1,2,context\n2,1,validation\n",
            {},
            "line 3 (data row 2): unknown split label 'validation'; use 'context'",
        ),
        (
            "x,y,split\n1,2,\n",
            {},
            "line 2 (data row 1): the split cell is empty; a split column labels every row",
        ),
        ("x,y,split\n1,2,target\n2,1,target\n3,1,test\n", {}, "every row (lines 2, 3, 4)"),
        ("x,y,curve\n1,2,a\n2,1\n", {}, "line 3 (data row 2): has 2 fields but the header has 3"),
        ("x,y\n1,2\n2,1,5\n", {}, "line 3 (data row 2): has 3 fields but the header has 2"),
        ("curve,x,y\na,1,2\n ,2,1\n", {}, "line 3 (data row 2): the curve id is empty"),
        ('x,y\n1,2\n2,"3"x\n3,1\n', {}, "line 3: not valid CSV (',' expected after '\"')"),
        ('x,y\n1,2\n2,"3\n3,1\n', {}, "line 4: not valid CSV (unexpected end of data)"),
        (b"x,y\n1,2\n\xff,1\n", {}, "line 3: byte 0xff is not UTF-8 (invalid start byte)"),
    ],
)
def test_bad_files_raise_curve_data_error_naming_the_problem(tmp_path, text, kw, message):
    path = _write(tmp_path, text)
    with pytest.raises(CurveDataError, match=re.escape(message)) as info:
        read_curves_csv(path, **kw)
    assert str(info.value).startswith(str(path))


def test_duplicate_x_error_points_to_dedupe_mean(tmp_path):
    path = _write(tmp_path, "x,y\n1,2\n2,3\n1,1\n3,1\n")
    with pytest.raises(
        CurveDataError, match=r"average their y with dedupe='mean' \(command line: --dedupe mean\)"
    ):
        read_curves_csv(path)


def test_trailing_empty_cells_are_tolerated(tmp_path):
    (c,) = read_curves_csv(_write(tmp_path, "x,y\n1,3,\n2,2,,\n3,1\n"))
    np.testing.assert_array_equal(c.y, [3.0, 2.0, 1.0])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"dedupe": "median"}, "dedupe must be 'error' or 'mean'"),
        ({"min_points": 2}, "min_points must be an integer >= 3"),
        ({"min_points": 3.0}, "min_points must be an integer >= 3"),
    ],
)
def test_invalid_arguments(tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        read_curves_csv(_write(tmp_path, "x,y\n1,3\n2,2\n3,1\n"), **kw)


def test_columns_named_by_the_caller(tmp_path):
    path = _write(tmp_path, "Compute , val loss,x,Loss\n4,3,10,50\n1,5,40,30\n2,4,20,40\n")
    (c,) = read_curves_csv(path, x_column="compute", y_column="Val Loss")
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(c.y, [5.0, 4.0, 3.0])
    # naming x alone leaves y to its aliases, and a named column is not also an alias's
    with pytest.warns(UserWarning, match="x spans only 1.67x"):  # x 3-5: an exponent?
        (c,) = read_curves_csv(path, x_column="val_loss")
    np.testing.assert_array_equal(c.y, [50.0, 40.0, 30.0])
    (c,) = read_curves_csv(path, y_column="x", x_column="compute")
    np.testing.assert_array_equal(c.y, [40.0, 20.0, 10.0])
    assert c.axis_labels == ("Compute", "x")  # the file's headers, stripped


def test_scale_axes_and_losses_under_their_usual_names(tmp_path):
    # a first user's file: runs logged as compute and loss read without --x-column
    (c,) = read_curves_csv(_write(tmp_path, "Compute,Loss\n1e17,3.5\n1e18,3.1\n1e19,2.8\n"))
    np.testing.assert_array_equal(c.x, [1e17, 1e18, 1e19])
    assert c.axis_labels == ("Compute", "Loss")
    (c,) = read_curves_csv(_write(tmp_path, "n_params,train_loss,val_loss\n1,5,4\n2,4,3\n3,3,2\n"))
    np.testing.assert_array_equal(c.y, [4.0, 3.0, 2.0])  # the held-out loss, not train_loss
    # x and y (and loss) come first: another scale column beside them is only a column
    (c,) = read_curves_csv(_write(tmp_path, "tokens,x,error,y\n9,1,9,3\n9,2,9,2\n9,3,9,1\n"))
    np.testing.assert_array_equal(c.x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(c.y, [3.0, 2.0, 1.0])
    (c,) = read_curves_csv(  # and a named column wins over every name
        _write(tmp_path, "params,tokens,loss\n1,10,3\n2,20,2\n3,40,1\n"), x_column="tokens"
    )
    np.testing.assert_array_equal(c.x, [10.0, 20.0, 40.0])


def test_axis_labels_are_the_headers_read(tmp_path):
    (c,) = read_curves_csv(_write(tmp_path, " X ,Loss\n1,3\n2,2\n3,1\n"))
    assert c.axis_labels == ("X", "Loss")
    assert c.with_split([True, True, False]).axis_labels == ("X", "Loss")
    assert load_benchmark("dd")[0].axis_labels == ("x", "y")  # not read from a CSV file


@pytest.mark.parametrize(
    ("text", "kw", "message"),
    [
        (
            "size,loss\n1,2\n",
            {},
            "or name the columns to use (command line: --x-column NAME; Python: x_column=NAME)",
        ),
        (  # scale axes named two ways are not guessed at
            "params,tokens,loss\n1,2,3\n",
            {},
            "no column named x, and columns 'params', 'tokens' could each be x: name the one to "
            "read (command line: --x-column NAME; Python: x_column=NAME)",
        ),
        ("flops,error,perplexity\n1,2,3\n", {}, "columns 'error', 'perplexity' could each be y"),
        (
            "compute,loss\n1,2\n",
            {"x_column": "flops"},
            "line 1 (header): no column 'flops' for x; the columns are ['compute', 'loss'], name",
        ),
        ("c,c,loss\n1,2,3\n", {"x_column": "C"}, "2 columns are named 'C'; keep one"),
        ("n,val\n1,2\n", {"x_column": "n"}, "no column for y. Found"),
    ],
)
def test_bad_column_names_say_what_to_fix(tmp_path, text, kw, message):
    with pytest.raises(CurveDataError, match=re.escape(message)):
        read_curves_csv(_write(tmp_path, text), **kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"x_column": " "}, "x_column must be a column's header; got ' '"),
        ({"y_column": 3}, "y_column must be a column's header; got 3"),
        ({"x_column": "a", "y_column": " A"}, "x_column and y_column both name 'a'"),
    ],
)
def test_invalid_column_arguments(tmp_path, kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        read_curves_csv(_write(tmp_path, "a,y\n1,3\n2,2\n3,1\n"), **kw)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_curves_csv(tmp_path / "absent.csv")


def test_a_curve_that_rises_at_every_run_is_warned_about(tmp_path):
    """An accuracy given for a loss: one warning naming the curve and what to give instead,
    judged on all its rows (a command may drop the split); falling curves, a bump the runs
    come down from and a rising context before a falling target read silently, a dip that
    ends rising gets the late-rise warning."""
    text = (
        "curve,x,y,split\n"
        "acc,1e6,0.50,context\nacc,1e7,0.60,context\nacc,1e8,0.70,target\n"
        "loss,1e6,3.0,context\nloss,1e7,2.5,context\nloss,1e8,2.4,context\n"
        "dd,1e6,3.0,context\ndd,1e7,2.0,context\ndd,1e8,2.6,context\ndd,1e9,2.8,context\n"
        "bump,1e6,2.0,context\nbump,1e7,2.5,context\nbump,1e8,2.9,context\nbump,1e9,2.2,target\n"
    )
    with pytest.warns(RisingCurveWarning) as rec:
        curves = read_curves_csv(_write(tmp_path, text))
    # the dip that ends rising is named as one (a new-user audit), the bump that came down not
    assert len(rec) == 2 and all(r.filename == __file__ for r in rec)  # the caller's line
    assert re.search(r"curve 'acc'.*0\.5 -> 0\.7.*1 - accuracy", str(rec[0].message))
    assert "curve 'dd': y rises from 2 at x = 1e+07 to 2.8 at its largest run" in str(
        rec[1].message
    )
    assert [c.name for c in curves] == ["acc", "loss", "dd", "bump"]


def test_exponents_for_x_are_warned_about_and_sizes_are_not(tmp_path):
    text = "x,y\n17,3.5\n17.75,3.1\n18.5,2.8\n19.25,2.5\n20,2.33\n"
    with pytest.warns(UserWarning, match=r"x spans only 1.18x \(17 to 20\) while y moves by 33%"):
        read_curves_csv(_write(tmp_path, text))
    sizes = "x,y\n" + "".join(f"{10**e:g},{y}\n" for e, y in ((17, 3.5), (18.5, 2.8), (20, 2.33)))
    read_curves_csv(_write(tmp_path, sizes))  # no warning: filterwarnings = error
    # exponents with a flat y (a loss at its floor over a narrow range of sizes) pass too
    read_curves_csv(_write(tmp_path, "x,y\n17,2.00\n18,1.95\n19,1.91\n"))


def test_a_header_of_numbers_is_refused_whatever_columns_are_named(tmp_path):
    path = _write(tmp_path, "1e17,3.5\n1e18,3.1\n1e19,2.8\n")
    for kw in ({}, {"x_column": "1e17", "y_column": "3.5"}):
        with pytest.raises(CurveDataError, match=r"line 1 .*the first line holds numbers"):
            read_curves_csv(path, **kw)
    # a trailing comma's blank cell does not make it names (the module held two _is_number
    # functions, the second shadowing the first; the check now has its own)
    path = _write(tmp_path, "1e17,3.5,\n1e18,3.1,\n1e19,2.8,\n")
    with pytest.raises(CurveDataError, match=r"the first line holds numbers \(1e17, 3\.5\)"):
        read_curves_csv(path)


def test_a_noisy_accuracy_is_warned_about_and_a_bump_or_a_noisy_floor_is_not(tmp_path):
    """Real accuracies do not rise at every run: a rising trend (Kendall's tau >= 0.6, the
    last run more than 5% above the first) is warned about too."""
    text = (
        "curve,x,y\n"
        + "".join(
            f"acc,{x:g},{y}\n"
            for x, y in zip(
                [1e17, 1e18, 3e18, 1e19, 5e19, 3e20],
                [0.31, 0.38, 0.37, 0.45, 0.52, 0.58],
                strict=True,
            )
        )
        + "bump,1e6,2.0\nbump,1e7,2.5\nbump,1e8,2.9\nbump,1e9,2.2\n"
        + "floor,1e6,2.01\nfloor,1e7,2.00\nfloor,1e8,2.02\nfloor,1e9,2.03\nfloor,1e10,2.015\n"
    )
    with pytest.warns(
        RisingCurveWarning, match=r"curve 'acc': y rises over its 6 runs, up at 4 of 5 steps"
    ) as rec:
        read_curves_csv(_write(tmp_path, text))
    assert len(rec) == 1


@pytest.mark.parametrize(
    ("x", "y", "rises"),
    [
        ([1, 2, 3], [0.1, 0.2, 0.3], True),
        ([3, 1, 2], [0.3, 0.1, 0.2], True),  # ordered by x first
        ([1, 2, 3], [0.2, 0.2, 0.3], False),  # a flat step (a loss at a rounded floor)
        ([1, 2, 3], [0.2, 0.2, 0.2], False),  # flat throughout
        ([1, 2, 3], [0.3, 0.2, 0.1], False),
        ([1, 2, 3, 4], [0.1, 0.3, 0.2, 0.4], False),  # falls once
        ([1, 2], [0.1, 0.2], False),  # too few runs to tell
    ],
)
def test_rises_throughout(x, y, rises):
    assert rises_throughout(np.array(x, float), np.array(y)) is rises


def test_rises_throughout_needs_one_y_per_x():
    with pytest.raises(ValueError, match="same size"):
        rises_throughout(np.arange(3.0), np.arange(4.0))


def test_reading_one_curve_leaves_the_others_unchecked(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("curve,x,y\na,1,3\na,2,2.5\na,4,2.2\nb,1,0.5\n")
    with pytest.raises(CurveDataError, match=r"curve 'b': has 1 distinct x"):
        read_curves_csv(path)
    (a,) = read_curves_csv(path, curve="a")
    np.testing.assert_allclose(a.x, [1, 2, 4])
    with pytest.raises(CurveDataError, match=r"no curve 'c'; the file has 'a', 'b'"):
        read_curves_csv(path, curve="c")


def test_every_short_curve_is_named_at_once(tmp_path):
    path = tmp_path / "short.csv"
    rows = "".join(f"c{i},{x},{1 / x}\n" for i in range(7) for x in (1, 2)[: 1 + i % 2])
    path.write_text("curve,x,y\n" + rows)
    with pytest.raises(CurveDataError, match=r"7 curves have fewer than 3 distinct x \('c0', "):
        read_curves_csv(path)


def test_an_id_shared_by_two_datasets_is_two_curves(tmp_path):
    """Sizes such as "410m" repeat across model families: the dataset / subset columns keep
    them apart instead of merging their rows into one zig-zag curve."""
    rows = [("pythia", "410m", 1e9, 4.0), ("pythia", "410m", 1e10, 3.3)]
    rows += [("pythia", "410m", 1e11, 2.9), ("opt", "410m", 2e9, 3.6)]
    rows += [("opt", "410m", 2e10, 3.0), ("opt", "410m", 2e11, 2.7), ("opt", "1b", 1e9, 3.5)]
    rows += [("opt", "1b", 1e10, 3.0), ("opt", "1b", 1e11, 2.6)]
    text = "dataset,subset,curve_id,x,y\n" + "".join(
        f"{d},tok,{c},{x},{y}\n" for d, c, x, y in rows
    )
    curves = {c.name: c for c in read_curves_csv(_write(tmp_path, text))}
    assert sorted(curves) == ["1b", "opt|tok|410m", "pythia|tok|410m"]
    np.testing.assert_array_equal(curves["pythia|tok|410m"].y, [4.0, 3.3, 2.9])
    np.testing.assert_array_equal(curves["opt|tok|410m"].x, [2e9, 2e10, 2e11])
    assert read_curves_csv(_write(tmp_path, text), curve="opt|tok|410m")[0].y[0] == 3.6
    clash = "dataset,curve,x,y\n" + "".join(
        f"{d},{c},{x},2\n" for d, c in (("a", "b"), ("c", "b"), ("", "a|b")) for x in (1, 2, 3)
    )
    with pytest.raises(CurveDataError, match=re.escape("'a|b' is used twice")):
        read_curves_csv(_write(tmp_path, clash))


def test_a_warm_up_at_the_start_gets_one_warning(tmp_path):
    """y climbing from the first run before it falls (a warm-up, or a real bump) is named
    once, with where it peaks; a rise within 1% (flat noise) and a falling curve are not."""
    from scalebayes.data import EarlyRiseWarning

    x = np.logspace(6, 12, 12)
    y = 1.8 + 400 * x**-0.3
    y[:3] = [10.8, 10.95, 11.0]
    text = "x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(x, y, strict=True))
    with pytest.warns(EarlyRiseWarning, match=r"climbs from 10\.8 .* to 11 at x = 1\.[0-9]+e\+07"):
        read_curves_csv(_write(tmp_path, text))
    y[:3] = [10.8, 10.85, 10.7]  # +0.5%: noise on a plateau
    flat = "x,y\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(x, y, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_curves_csv(_write(tmp_path, flat))
        for name in ("ic", "nlp", "nano", "chinchilla"):  # no bundled loss curve warns
            for curve in load_benchmark(name):
                assert not warn_if_early_rise(curve.x, curve.y, curve.name)


def test_the_rising_check_is_kendalls_tau_in_linear_memory():
    """A review: the check built an n x n sign matrix, 2 GB and 8-15 s for a 10,000-run
    file; the row-by-row sum must be the same tau (ties count 0) as the pairwise definition."""
    from scalebayes import _warnings

    rng = np.random.default_rng(0)
    for n in (4, 7, 30):
        y = np.round(rng.normal(size=n), 1)  # ties included
        pairs = [np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n)]
        tau = sum(pairs) / len(pairs)
        x = np.arange(1.0, n + 1)
        rising = tau >= _warnings.RISING_TAU and y[-1] - y[0] > _warnings.RISING_GAIN * abs(y[0])
        assert (_warnings._trending_up(x, y) is not None) == rising
    x = np.arange(1.0, 20_001)
    y = 0.3 + 0.2 * x / x[-1] + 0.001 * rng.normal(size=x.size)  # a long, noisy rise
    assert _warnings._trending_up(x, y) is not None


def test_a_curve_that_starts_over_in_a_second_block_is_said(tmp_path):
    """A review: two files pasted together, each with a curve 'a', were read as one zig-zag
    curve without a word; curves interleaved row by row (sorted by x) stay silent."""
    pasted = "curve,x,y\na,1e6,4\na,1e7,3.1\na,1e8,2.6\nb,1e6,5\nb,1e7,4\nb,1e8,3.5\n"
    pasted += "a,2e6,6\na,2e7,5.1\na,2e8,4.6\n"
    with (
        pytest.warns(UserWarning, match=r"curve 'a' starts over at line 8, .* up to line 4 "),
        pytest.warns(RisingCurveWarning, match=r"curve 'a': y rises from 2\.6"),  # zig-zag
    ):
        curves = read_curves_csv(_write(tmp_path, pasted))
    assert [c.x.size for c in curves] == [6, 3]
    interleaved = "curve,x,y\na,1e6,4\nb,1e6,5\na,1e7,3.1\nb,1e7,4\na,1e8,2.6\nb,1e8,3.5\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_curves_csv(_write(tmp_path, interleaved))


def test_a_decimal_comma_gets_its_own_hint(tmp_path):
    """A review: '0,85' got the thousands-separator hint, which turns it into 85."""
    with pytest.raises(CurveDataError, match=r"'0,85' is not a number; write the decimal point"):
        read_curves_csv(_write(tmp_path, 'x,y\n1e6,"0,85"\n2e6,"0,80"\n4e6,"0,76"\n'))
    # a later review: three decimals got the thousands hint, which makes a loss 1000x too big
    with pytest.raises(CurveDataError, match=r"'0,125' is not a number; write the decimal point"):
        read_curves_csv(_write(tmp_path, 'x,y\n1e6,"0,125"\n2e6,"0,120"\n'))
    with pytest.raises(CurveDataError, match=r"if ',' is a decimal comma write '2\.715'"):
        read_curves_csv(_write(tmp_path, 'x,y\n2000,"2,715"\n1000,3\n4000,2.1\n'))
    # a re-read: points grouping thousands got "write '1.2345'"
    with pytest.raises(CurveDataError, match=r"a decimal point and no separators \('1234\.5'\)"):
        read_curves_csv(_write(tmp_path, 'x,y\n"1.234,5",2\n2e6,1.9\n'))


def test_a_late_rise_gets_one_warning(tmp_path):
    """A new-user audit: runs falling then climbing at the end (3.9, 3.2, 3.4, 3.6) were read
    without a word; a largest run above the one before it and more than 5% above a smaller
    run's loss is named."""
    from scalebayes._warnings import warn_if_late_rise
    from scalebayes.pfn import extrapolate

    text = "x,y\n1e17,3.9\n1e18,3.2\n1e19,3.4\n1e20,3.6\n"
    with pytest.warns(RisingCurveWarning, match=r"rises from 3\.2 at x = 1e\+18 to 3\.6 at its"):
        read_curves_csv(_write(tmp_path, text))
    with pytest.warns(RisingCurveWarning, match=r"the context: y rises from 3\.2"):
        extrapolate([1e17, 1e18, 1e19, 1e20], [3.9, 3.2, 3.4, 3.6], [1e21])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within 5%, or falling, or a zero: no word
        read_curves_csv(_write(tmp_path, "x,y\n1e17,3.9\n1e18,3.2\n1e19,3.35\n"))
        assert not warn_if_late_rise(np.arange(1.0, 5), np.array([1.0, 0.5, 0.0, 0.2]), "zero")
        for name in ("ic", "nlp", "nano", "chinchilla"):  # no bundled context warns
            for curve in load_benchmark(name):
                x, y = curve.x[curve.is_context], curve.y[curve.is_context]
                assert not warn_if_late_rise(x, y, curve.name)
    # eight runs at a floor with 1% noise: rarely named (a 2% threshold named a quarter)
    floors = 2.0 * np.exp(0.01 * np.random.default_rng(0).standard_normal((400, 8)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        named = sum(warn_if_late_rise(np.arange(1.0, 9), f, "floor") for f in floors)
    assert named <= 4, named


def test_a_column_that_sorts_the_rows_into_runs_is_named(tmp_path):
    """A new user's audit: runs of two models under a column 'model' (not 'curve') were read
    as one curve without a word when their x did not collide."""
    rows = ["model,params,loss,note"]
    rows += [f"A,{x},{4 - k * 0.2},run {k}" for k, x in enumerate([1e8, 3e8, 1e9, 3e9])]
    rows += [f"B,{x},{3.9 - k * 0.2},run {k + 4}" for k, x in enumerate([2e8, 6e8, 2e9, 6e9])]
    path = tmp_path / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"column 'model' sorts the rows into 2 groups \('A' \(4"):
        (curve,) = read_curves_csv(path, x_column="params")
    assert curve.x.size == 8  # read as asked: one curve
    path.write_text("\n".join(r.replace("model,", "curve,", 1) for r in rows) + "\n")
    assert [c.name for c in read_curves_csv(path, x_column="params")] == ["A", "B"]  # no word
    # a text per row, or groups that follow each other in x (a review: a column 'phase' or
    # 'gpu' that changed as the runs grew), are one curve's notes: no word either
    rows = ["x,y,note,phase"] + [
        f"{10.0**k},{4 - 0.3 * k},run {k},{'small' if k < 3 else 'large'}" for k in range(6)
    ]
    path.write_text("\n".join(rows) + "\n")
    assert read_curves_csv(path)[0].x.size == 6


def test_a_column_of_names_that_tells_repeated_x_apart_is_read_as_the_curves(tmp_path):
    """A review: a sweep exported as `model,params,loss` (four models at the same sizes)
    stopped on its repeated x, and no option could name the column."""
    sizes = [1e8, 3e8, 1e9, 3e9]
    rows = ["model,params,loss,note"]
    rows += [
        f"{m},{x},{4 - k * 0.2 - j * 0.1},run {k}"
        for j, m in enumerate("AB")
        for k, x in enumerate(sizes)
    ]
    path = _write(tmp_path, "\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"column 'model' tells the repeats apart, so its 2 names"):
        curves = read_curves_csv(path)
    assert [(c.name, c.x.size) for c in curves] == [("A", 4), ("B", 4)]
    np.testing.assert_allclose(curves[1].y, [3.9, 3.7, 3.5, 3.3])
    # named outright: no word (the note column, one text per row, is no curve name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        named = read_curves_csv(path, curve_column="model")
    assert [c.name for c in named] == ["A", "B"]
    with pytest.raises(ValueError, match="curve_column 'params' is also x_column"):
        read_curves_csv(path, x_column="params", curve_column="params")
    # one row per model, no x repeated: the models are the runs of one curve, as before
    one = _write(
        tmp_path,
        "model,params,loss\n" + "".join(f"m{k},{x},{4 - k * 0.2}\n" for k, x in enumerate(sizes)),
        "one.csv",
    )
    assert [c.x.size for c in read_curves_csv(one)] == [4]
    # two columns that could each tell the repeats apart: none is guessed
    both = _write(
        tmp_path,
        "\n".join(
            r.replace(",run ", ",r") + f",{r[0]}" if i else r + ",arch" for i, r in enumerate(rows)
        )
        + "\n",
        "both.csv",
    )
    with pytest.raises(CurveDataError, match="appears on"):
        read_curves_csv(both)


def test_a_loss_read_beside_a_held_out_loss_is_said(tmp_path):
    """A review: with `params,loss,val_loss` the training loss was read without a word."""
    path = _write(tmp_path, "params,loss,val_loss\n1,3,3.2\n2,2,2.3\n4,1.5,1.8\n")
    with pytest.warns(UserWarning, match=r"y is read from column 'loss'; column 'val_loss' is"):
        (curve,) = read_curves_csv(path)
    assert curve.y.tolist() == [3.0, 2.0, 1.5]
    with warnings.catch_warnings():  # named: no word
        warnings.simplefilter("error")
        assert read_curves_csv(path, y_column="val_loss")[0].y.tolist() == [3.2, 2.3, 1.8]
        assert read_curves_csv(path, y_column="loss")[0].y.tolist() == [3.0, 2.0, 1.5]


def test_two_columns_for_y_point_at_the_option_that_chooses(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("x,y,loss\n1,3,2.9\n2,2,1.9\n3,1.5,1.4\n")
    with pytest.raises(CurveDataError, match=r"keep one, or name the one to read \(command line"):
        read_curves_csv(path)
    assert read_curves_csv(path, y_column="loss")[0].y.tolist() == [2.9, 1.9, 1.4]
