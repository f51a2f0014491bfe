"""Runs from CSV files and arrays: every bad input is rejected with a message naming the fix."""

import warnings

import numpy as np
import pytest

from scalebayes.compute import Runs, chinchilla_runs, read_runs_csv, validate_runs
from scalebayes.data._benchmarks import bundled_table

GOOD = """N,D,loss
1e8,2e9,3.1
1e8,4e9,3.0
4e8,2e9,2.9
4e8,8e9,2.7
1.6e9,4e9,2.6
1.6e9,3.2e10,2.4
"""


def write(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_columns_in_any_case_and_order(tmp_path):
    text = "Loss,extra,n,d\n" + "\n".join(
        f"{loss},x,{n},{d}" for n, d, loss in (r.split(",") for r in GOOD.splitlines()[1:])
    )
    runs = read_runs_csv(write(tmp_path, text + "\n\n"))
    assert isinstance(runs, Runs) and len(runs) == 6
    np.testing.assert_allclose(runs.N, [1e8, 1e8, 4e8, 4e8, 1.6e9, 1.6e9])
    np.testing.assert_allclose(runs.loss, [3.1, 3.0, 2.9, 2.7, 2.6, 2.4])
    assert runs.source == "runs.csv"
    assert not runs.N.flags.writeable


def test_c_column_gives_d(tmp_path):
    rows = [r.split(",") for r in GOOD.splitlines()[1:]]
    text = "n,C,LOSS\n" + "\n".join(f"{n},{6 * float(n) * float(d)},{loss}" for n, d, loss in rows)
    runs = read_runs_csv(write(tmp_path, text))
    np.testing.assert_allclose(runs.D, [float(d) for _, d, _ in rows], rtol=1e-12)
    np.testing.assert_allclose(runs.compute(), [6 * float(n) * float(d) for n, d, _ in rows])


def test_copied_rows_are_warned_about_and_seeds_are_not(tmp_path):
    """A review: every row twice was fitted as twice the runs without a word."""
    rows = GOOD.splitlines()
    with pytest.warns(UserWarning, match=r"6 of 12 runs copy another row exactly .*line 2, line 8"):
        read_runs_csv(write(tmp_path, "\n".join([*rows, *rows[1:]])))
    seeds = [*rows, *(row.replace(",3.", ",3.05") for row in rows[1:3])]  # other losses
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_runs_csv(write(tmp_path, "\n".join(seeds)))


def test_a_c_column_beside_d_is_checked_against_6nd(tmp_path):
    """A review: C = 10 x 6ND beside D was read as D alone without a word."""
    rows = [r.split(",") for r in GOOD.splitlines()[1:]]

    def text(factor):
        return "N,D,C,loss\n" + "\n".join(
            f"{n},{d},{factor * 6 * float(n) * float(d)},{loss}" for n, d, loss in rows
        )

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within 2x (attention, embeddings): silent
        read_runs_csv(write(tmp_path, text(1.3)))
    with pytest.warns(UserWarning, match=r"C is not 6 N D on 6 of 6 runs \(up to 10x, line"):
        runs = read_runs_csv(write(tmp_path, text(10.0)))
    np.testing.assert_allclose(runs.D, [float(d) for _, d, _ in rows])  # D is what is read


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("N,loss\n1,2\n", r"missing column\(s\) D \(or C\)"),
        ("width,D,loss\n1,2,3\n", r"missing column\(s\) N; the header has 'width'"),
        ("N,D\n1,2\n", r"missing column\(s\) loss"),
        ("N,D,loss,n\n1,2,3,4\n", "column 'n' appears twice"),
        ("N,D,loss\n", "no runs"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,8e9"), "line 5: 2 cells but the header has 3"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,abc,2.7"), "line 5, column 'D': 'abc' is not a number"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,8e9,2_7"), "line 5, column 'loss': '2_7' is not a"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,,2.7"), "line 5, column 'D': an empty cell"),
        (
            GOOD.replace("4e8,8e9,2.7", "4e8,8e9,nan"),
            "line 5, column 'loss': 'nan' is not a finite",
        ),
        (GOOD.replace("4e8,8e9,2.7", "inf,8e9,2.7"), "line 5, column 'N': 'inf' is not a finite"),
        (GOOD.replace("4e8,8e9,2.7", "-4e8,8e9,2.7"), r"line 5: N = -4e\+08 must be > 0"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,0,2.7"), "line 5: D = 0 must be > 0"),
        (GOOD.replace("4e8,8e9,2.7", "4e8,8e9,0"), "line 5: loss = 0 must be > 0"),
        (  # a review: 6 N D overflowed, a raw NumPy warning and "inf" in the report
            GOOD.replace("4e8,8e9,2.7", "4e297,8e9,2.7"),
            r"line 5: its compute 6 N D \(N = 4e\+297, D = 8e\+09\) is beyond float64",
        ),
        (  # a review: a quote left open swallowed the file into one cell, echoed whole
            GOOD.replace("4e8,8e9,2.7", '4e8,8e9,"2.7') + "\n".join(["1e9,2e10,2.5"] * 50),
            r"line 5, column 'loss': '2\.7\\n.*\.\.\.' \(a cell across lines: is a quote",
        ),
        (  # ... opened in a cell that is not the last: the row's own line, a hint
            GOOD.replace("4e8,8e9,2.7", '4e8,"8e9,2.7'),
            r"line 5: 2 cells but the header has 3 columns; fix the row \(a quote",
        ),
        (  # ... and past the csv module's field limit, a traceback
            GOOD.replace("4e8,8e9,2.7", '4e8,8e9,"2.7') + "\n".join(["1e9,2e10,2.5"] * 12000),
            r"line .*: not valid CSV \(field larger than field limit .*\); is a quote",
        ),
        (
            "N,D,loss\n1e8,1e9,3\n1e8,2e9,2.9\n2e8,4e9,2.8\n2e8,8e9,2.7\n",
            "only 2 distinct N value",
        ),
        (
            "N,D,loss\n1e8,1e9,3\n2e8,1e9,2.9\n4e8,2e9,2.8\n8e8,2e9,2.7\n",
            "only 2 distinct D value",
        ),
        (  # a review's runs: D = 20 N throughout, so N's and D's terms cannot be told apart
            "N,D,loss\n1e7,2e8,4\n1e8,2e9,3.2\n1e9,2e10,2.7\n2e9,4e10,2.6\n",
            "every run has D/N = 20 .* other tokens-per-parameter ratios",
        ),
    ],
)
def test_bad_files_name_the_line_and_the_fix(tmp_path, text, match):
    with pytest.raises(ValueError, match=match) as info:
        read_runs_csv(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("runs.csv") and "\n" not in message


def test_runs_at_few_tokens_per_parameter_ratios_are_warned_about(tmp_path):
    # a review: six Chinchilla runs at D/N 17.5-23.5 gave D*/N* [4.7e-7, 6.8e13] and R-hat
    # 1.6 however long the chains; the warning names the ratios and the fix
    text = "N,D,loss\n1e7,2e8,4\n1e8,2.5e9,3.2\n1e9,1.8e10,2.7\n2e9,4e10,2.6\n"
    with pytest.warns(UserWarning, match=r"D/N spans only 18 to 25 \(1.4x\).* other tokens"):
        runs = read_runs_csv(write(tmp_path, text))
    assert runs.N.size == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_runs_csv(write(tmp_path, text.replace("2e9,4e10", "2e9,1.2e11")))  # 18-60: fine


def test_bad_c_column(tmp_path):
    text = "N,C,loss\n1e8,6e17,3\n2e8,-1,2.9\n"
    with pytest.raises(ValueError, match="line 3: C = -1 must be > 0"):
        read_runs_csv(write(tmp_path, text))
    text = "N,C,loss\n1e8,6e17,3\n0,6e17,2.9\n"
    with pytest.raises(ValueError, match="line 3: N = 0 must be > 0"):
        read_runs_csv(write(tmp_path, text))


def test_flops_per_param_token_is_checked_as_an_option(tmp_path):
    path = write(tmp_path, "N,C,loss\n1e8,6e17,3\n")
    with pytest.raises(ValueError, match="flops_per_param_token must be finite and > 0"):
        read_runs_csv(path, flops_per_param_token=0)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        read_runs_csv(tmp_path / "nope.csv")


def test_validate_runs_arrays():
    n = [1e8, 2e8, 4e8]
    d = [1e9, 6e9, 2e10]
    runs = validate_runs(n, d, [3.0, 2.8, 2.6])
    assert len(runs) == 3
    with pytest.raises(ValueError, match="same length"):
        validate_runs(n, d, [3.0, 2.8])
    with pytest.raises(ValueError, match=r"run 1: loss = -2\.8 must be > 0"):
        validate_runs(n, d, [3.0, -2.8, 2.6])
    with pytest.raises(ValueError, match="must be 1-D"):
        validate_runs([n], [d], [[3.0, 2.8, 2.6]])
    with pytest.raises(ValueError, match="N must be numbers"):
        validate_runs(["a", "b", "c"], d, [3.0, 2.8, 2.6])
    with pytest.raises(ValueError, match="N must be numbers"):  # numbers written as text
        validate_runs(["1e8", "2e8", "4e8"], d, [3.0, 2.8, 2.6])
    big = [10**19, 9 * 10**19, 5 * 10**19]  # Python ints beyond int64: an object array
    with pytest.warns(UserWarning, match="plain counts"):  # 1e11 tokens per parameter
        assert validate_runs(n, big, [3.0, 2.8, 2.6]).D[-1] == 5e19
    with pytest.raises(ValueError, match="runs: D must be finite; got an integer of 401 digits"):
        validate_runs(n, [1e9, 6e9, 10**400], [3.0, 2.8, 2.6])  # was a bare OverflowError


def test_one_budget_is_refused_and_other_units_are_questioned():
    # a review: six runs at one budget ran to the end (R-hat 1.75, D*/N* [7e-7, 1.8e7]) with
    # exit 0; N written in millions answered N* = 8.4e5 with no word of units
    n = np.array([1e8, 2e8, 4e8, 8e8])
    with pytest.raises(
        ValueError, match=r"every run has compute 6ND = 6e\+18 FLOPs \(within 10%\)"
    ):
        validate_runs(n, 1e18 / n, [3.0, 2.9, 2.95, 3.1])
    with pytest.raises(ValueError, match=r"every run has compute 2ND = 2e\+18 FLOPs"):
        validate_runs(n, 1e18 / n, [3.0, 2.9, 2.95, 3.1], flops_per_param_token=2)  # its own k
    d = np.array([2e9, 8e9, 3e10, 2e11])
    with pytest.warns(UserWarning, match=r"the median D/N is 5\.48e\+07 tokens per parameter"):
        validate_runs(n / 1e6, d, [3.0, 2.8, 2.6, 2.5])
    with warnings.catch_warnings():  # plain counts: no warning
        warnings.simplefilter("error")
        validate_runs(n, d, [3.0, 2.8, 2.6, 2.5])
    # runs built directly are held to the same design checks (fit_joint_law takes Runs)
    with pytest.raises(ValueError, match=r"every run has compute 6ND"):
        Runs(n, 1e18 / n, np.array([3.0, 2.9, 2.95, 3.1]))
    with pytest.raises(ValueError, match=r"every run has D/N = 20"):
        Runs(n, 20 * n, np.array([3.0, 2.9, 2.8, 2.7]))


def test_runs_of_fewer_than_one_parameter_are_questioned():
    # a review: N and D both in billions keep D/N plausible, and the allocation was clipped to
    # one parameter without a word (N* = 1 [1, 1])
    n, d = np.array([0.1, 0.2, 0.4, 0.8]), np.array([2.0, 8.0, 30.0, 200.0])
    with pytest.warns(UserWarning, match=r"a run has N = 0\.1 parameters, fewer than one"):
        validate_runs(n, d, [3.0, 2.8, 2.6, 2.5])  # (an audit: D, in tokens, was named too)
    with pytest.warns(UserWarning, match=r"N = 0\.1 parameters and D = 0\.5 tokens, fewer"):
        validate_runs(n, d / 4, [3.0, 2.8, 2.6, 2.5])


def test_drop_highest_reads_the_kept_runs_and_checks_every_runs_c(tmp_path):
    rows = [r.split(",") for r in GOOD.splitlines()[1:]]
    text = "N,D,C,loss\n" + "\n".join(
        f"{n},{d},{float(n) * float(d)},{loss}" for n, d, loss in rows
    )
    with pytest.warns(UserWarning, match="C is not 6 N D on 6 of 6 runs"):
        runs = read_runs_csv(write(tmp_path, text), drop_highest=1, min_distinct=2)
    np.testing.assert_allclose(runs.loss, [3.0, 2.9, 2.7, 2.6, 2.4])  # file order
    with pytest.raises(ValueError, match=r"drop_highest must be in \[0, 5\] for 6 runs"):
        read_runs_csv(write(tmp_path, GOOD), drop_highest=6)
    with pytest.raises(ValueError, match=r"after dropping the 2 highest-loss runs: .*drop fewer"):
        read_runs_csv(write(tmp_path, GOOD), drop_highest=2)
    with pytest.raises(TypeError, match="drop_highest must be an int"):
        read_runs_csv(write(tmp_path, GOOD), drop_highest=1.5)


def test_chinchilla_runs_match_both_bundled_files():
    runs = chinchilla_runs()
    assert len(runs) == 240
    everything = chinchilla_runs(drop_highest=0)
    assert len(everything) == 245
    # the 5 dropped runs are the 5 highest losses
    assert everything.loss.max() > 4.5 and runs.loss.max() < np.sort(everything.loss)[-5]
    # the long-form file carries the same N, loss and D = C / (6 N)
    import json

    rows = bundled_table("epoch_chinchilla_long.csv")
    n = np.array([float(r["x"]) for r in rows])
    loss = np.array([float(r["y"]) for r in rows])
    d = np.array([json.loads(r["metadata"])["D_tokens_C_over_6N"] for r in rows])
    np.testing.assert_allclose(everything.N, n, rtol=1e-12)
    np.testing.assert_allclose(everything.loss, loss, rtol=1e-12)
    np.testing.assert_allclose(everything.D, d, rtol=1e-9)
    with pytest.raises(ValueError, match="drop_highest"):
        chinchilla_runs(drop_highest=245)


def test_runs_built_directly_are_checked_too():
    # a review: Runs(N, D, loss with a NaN) reached the MLE, which answered NaN parameters
    n, d = [1e8, 2e8, 4e8], [1e9, 6e9, 2e10]
    for loss in ([3.0, np.nan, 2.6], [3.0, -2.8, 2.6], [[3.0, 2.8, 2.6]], ["a", "b", "c"]):
        with pytest.raises(ValueError, match=r"Runs.loss must be .* validate_runs\(N, D, loss\)"):
            Runs(np.array(n), np.array(d), loss)
    with pytest.raises(ValueError, match="same length"):
        Runs(n, d[:2], [3.0, 2.8, 2.6])
    mine = np.array(n)
    runs = Runs(mine, d, [3.0, 2.8, 2.6])  # lists and arrays become read-only float64 copies
    assert runs.D.dtype == np.float64 and not runs.N.flags.writeable and mine.flags.writeable


def test_runs_whose_loss_rises_with_compute_are_warned_about(tmp_path):
    # a review: allocate answered runs whose loss rose with N and D (an accuracy column?)
    # without a word, where extrapolate warns about a rising curve
    rising = "N,D,loss\n1e8,2e9,0.5\n2e8,8e9,0.6\n4e8,1.6e10,0.7\n8e8,1.6e11,0.8\n"
    with pytest.warns(UserWarning, match=r"loss rises with compute .*\(rank correlation 1.00\)"):
        read_runs_csv(write(tmp_path, rising))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_runs_csv(write(tmp_path, GOOD))


def test_the_file_may_name_its_own_columns(tmp_path):
    # a review: a file with params,tokens,val_loss had to be renamed before allocate read it
    path = tmp_path / "runs.csv"
    rows = [(1e8, 2e9, 3.0), (2e8, 8e9, 2.8), (4e8, 3e10, 2.6), (8e8, 2e11, 2.5)]
    path.write_text("N,params,tokens,val_loss\n" + "".join(f"7,{a},{b},{c}\n" for a, b, c in rows))
    runs = read_runs_csv(path, columns={"N": "params", "D": "TOKENS", "loss": "val_loss"})
    np.testing.assert_array_equal(runs.N, [r[0] for r in rows])  # not the literal N column
    np.testing.assert_array_equal(runs.D, [r[1] for r in rows])
    with pytest.raises(ValueError, match=r"no column 'size' \(given as the N column\)"):
        read_runs_csv(path, columns={"N": "size", "D": "tokens", "loss": "val_loss"})
    with pytest.raises(ValueError, match="unknown key 'tokens'"):
        read_runs_csv(path, columns={"tokens": "D"})
    # a review: one column named for two roles read as "missing column(s) N"
    with pytest.raises(ValueError, match="'Params' is named for two roles, N and D; each"):
        read_runs_csv(path, columns={"N": "params", "D": "Params", "loss": "val_loss"})


def test_usual_names_are_read_when_the_roles_own_are_absent(tmp_path):
    # a review: `allocate` refused params,tokens,val_loss, which `extrapolate` reads
    rows = [(1e8, 2e9, 3.0), (2e8, 8e9, 2.8), (4e8, 3e10, 2.6), (8e8, 2e11, 2.5)]
    body = "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    runs = read_runs_csv(write(tmp_path, "Params,num-tokens,val_loss\n" + body))
    np.testing.assert_array_equal(runs.N, [r[0] for r in rows])
    np.testing.assert_array_equal(runs.D, [r[1] for r in rows])
    np.testing.assert_array_equal(runs.loss, [r[2] for r in rows])
    flops = "".join(f"{a},{6 * a * b},{c}\n" for a, b, c in rows)
    by_flops = read_runs_csv(write(tmp_path, "model size,Training FLOPs,eval_loss\n" + flops))
    np.testing.assert_allclose(by_flops.D, runs.D, rtol=1e-12)
    # a role's own name wins over a usual one, which is then an ordinary column
    own = read_runs_csv(
        write(tmp_path, "params,N,D,loss\n" + "".join(f"7,{r}" for r in body.splitlines(True)))
    )
    np.testing.assert_array_equal(own.N, runs.N)
    both = "N,D,val_loss,test_loss\n" + body.replace("\n", ",1\n")
    with pytest.raises(ValueError, match=r"columns 'val_loss', 'test_loss' could each be it"):
        read_runs_csv(write(tmp_path, both))


def test_min_distinct_must_be_a_positive_integer():
    import pytest

    from scalebayes.compute import validate_runs

    for bad in (-1, 0, 2.5, True):
        with pytest.raises(ValueError, match="min_distinct must be an integer >= 1"):
            validate_runs([1e8, 2e8, 4e8], [2e9, 8e9, 3e10], [3.0, 2.8, 2.6], min_distinct=bad)


def test_runs_record_the_flops_per_param_token_they_were_read_with(tmp_path):
    """A review: read with k = 2, the runs' compute() came back 3x the file's C column."""
    text = "N,C,loss\n2e7,4.8e16,4.6\n6e7,4.32e17,3.8\n2e8,4.8e18,3.1\n6e8,4.32e19,2.7\n"
    text += "2e8,2.4e19,2.8\n"
    runs = read_runs_csv(write(tmp_path, text), flops_per_param_token=2)
    assert runs.flops_per_param_token == 2.0
    np.testing.assert_allclose(runs.compute(), [4.8e16, 4.32e17, 4.8e18, 4.32e19, 2.4e19])
    np.testing.assert_allclose(runs.compute(6), 3 * runs.compute())
    assert read_runs_csv(write(tmp_path, text)).flops_per_param_token == 6.0
    direct = validate_runs(runs.N, runs.D, runs.loss, flops_per_param_token=2)
    np.testing.assert_array_equal(direct.compute(), runs.compute())
    for k in (0, float("nan"), "6"):
        with pytest.raises(ValueError, match="flops_per_param_token must be finite and > 0"):
            validate_runs(runs.N, runs.D, runs.loss, flops_per_param_token=k)
