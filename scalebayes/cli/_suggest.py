"""The ``scalebayes suggest`` subcommand: which run to do next.

``add_suggest`` defines the arguments without heavy imports; ``run_suggest`` imports JAX when
it runs. Bad input raises ``ValueError`` (or ``OSError``) with a one-line message, which
``scalebayes.cli.main`` reports with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

from .._checks import matches_runs, not_valid_csv, plain_float, shown_cell
from ._argtypes import (
    Once,
    add_csv_options,
    asked_text,
    csv_options,
    figure_file,
    one_x,
    positive,
    probability,
    read_x,
    readable_file,
    resolve_x,
    seed,
    x_text,
    x_values,
)
from ._notice import say_before_sampling

_candidates = x_values("candidate x values", "3e9,1e10,3e10 or 2x,4x,10x")
_one_target = one_x("1e12 or 100x")  # --target


_positive_int = positive(int)


def _cost(text: str) -> str | Path:
    """``x`` (cost proportional to x), ``equal``, or a readable CSV file with columns x, cost."""
    if text in ("x", "equal"):
        return text
    try:
        return readable_file(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(
            f"{error}; give x (cost proportional to x), equal, or a CSV file with columns x,cost"
        ) from None


def add_suggest(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``suggest`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "suggest",
        help="rank candidate next runs by what they tell about a target run, per cost",
        description=(
            "Read one curve from a CSV file (columns x, y and optionally curve; --x-column / "
            "--y-column name others), and rank the --candidates by the expected narrowing of "
            "the --level interval (default 90%) at --target per unit cost, fantasised by the "
            "PFN or by MCMC (see scalebayes.design.suggest_next)."
        ),
    )
    parser.add_argument("csv", type=readable_file, metavar="FILE.csv", help="runs so far")
    add_csv_options(parser)
    parser.add_argument(
        "--candidates",
        type=_candidates,
        required=True,
        action="extend",
        help="x of the possible next runs, comma-separated (repeat to add more), or multiples "
        "of the largest run, e.g. 2x,4x,10x",
    )
    parser.add_argument(
        "--target",
        type=_one_target,
        required=True,
        action=Once,
        help="x of the run you care about, or its multiple of the largest run, e.g. 100x",
    )
    parser.add_argument(
        "--cost",
        type=_cost,
        default="x",
        metavar="x|equal|FILE.csv",
        help="cost of a run: proportional to x (default), equal, or a CSV with columns x, cost "
        "(x as numbers, or multiples of the largest run such as 3x)",
    )
    parser.add_argument("--curve", default=None, help="the curve to use if FILE holds several")
    parser.add_argument(
        "--method",
        choices=("pfn", "mcmc-m3", "mcmc-m4", "mcmc-bnsl"),
        default="pfn",
        action=Once,
        help="model that fantasises the outcomes: the PFN (default, one forward pass) or NUTS "
        "on a Bayesian family (tens of seconds on a CPU; candidates may lie inside the runs)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seed of the MCMC run (default: 0); the run's key is "
        "scalebayes.inference.curve_keys(SEED, [curve name]), as in extrapolate",
    )
    parser.add_argument(
        "--model",
        default=None,
        action=Once,
        help="PFN checkpoint directory or shipped name (default: nslpfn-base, or the far model "
        "mixture-tiny when --target lies beyond 5x the largest run; one model fantasises "
        "every outcome, so within 5x the interval is the default model's, not the weighted "
        "pair that extrapolate answers with)",
    )
    parser.add_argument(
        "--fantasies",
        type=_positive_int,
        default=17,
        help="outcomes per candidate (7 to 1001; an even number is rounded up to the next odd)",
    )
    parser.add_argument(
        "--level", type=probability, default=0.9, help="interval to narrow (default 0.9)"
    )
    parser.add_argument(
        "--plot",
        type=figure_file(),
        default=None,
        metavar="OUT.png",
        help="write the current fan chart with the candidates and the target marked",
    )
    return parser


def _read_costs(path: Path, candidates: list[float], top: float) -> list[float]:
    """The cost of each candidate from a CSV file with columns x and cost; x as a number or
    a multiple of the largest run, ``top`` (``3x``, as ``--candidates`` may give them)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path}: not UTF-8 text ({err.reason}); save the cost file as UTF-8"
        ) from None
    except csv.Error as err:  # e.g. a quote left open swallowing the rest of the file
        raise ValueError(not_valid_csv(f"{path}, line {reader.line_num}", err)) from None
    if not rows:
        raise ValueError(
            f"{path}: the cost file has no rows; give the columns x,cost and one row per candidate"
        )
    table = {}
    for line, row in rows:
        keys = {k.strip().lower(): v for k, v in row.items() if k is not None}
        if "x" not in keys or "cost" not in keys:
            found = ", ".join(repr(k) for k in keys)
            hint = ""
            if len(keys) == 1 and any(sep in next(iter(keys)) for sep in ";\t|"):
                hint = "; the header looks like it uses another separator: save it with commas"
            raise ValueError(
                f"{path}: a cost file needs the columns x and cost; its header has {found}{hint}"
            )
        if keys["x"] is None or keys["cost"] is None:
            raise ValueError(f"{path} line {line}: the row has too few cells; give x,cost")
        try:
            x, cost = resolve_x([read_x(keys["x"])], top)[0], plain_float(keys["cost"])
        except ValueError:
            raise ValueError(
                f"{path} line {line}: x and cost must be numbers (x may be a multiple of the "
                f"largest run, 3x); got {shown_cell(keys['x'])}, {shown_cell(keys['cost'])}"
            ) from None
        if not (math.isfinite(cost) and cost > 0):
            raise ValueError(f"{path} line {line}: cost {cost:g} must be finite and > 0")
        if x in table and table[x][1] != cost:
            raise ValueError(
                f"{path} lines {table[x][0]} and {line}: x = {x:g} costs {table[x][1]:g} and "
                f"{cost:g}; give each x one cost"
            )
        table[x] = (line, cost)
    # a candidate asked as a multiple (3x of 1e21) may differ from the file's x in the last bit
    if table:
        same = matches_runs(candidates, list(table))
        table.update(
            {
                c: table[list(table)[row.argmax()]]
                for c, row in zip(candidates, same, strict=True)
                if row.any()
            }
        )
    missing = [c for c in candidates if c not in table]
    if missing:  # as they can be written into the file and match
        shown = ", ".join(x_text(c) for c in missing)
        raise ValueError(f"{path} gives no cost for the candidates {shown}; add a row x,cost each")
    return [table[c][1] for c in candidates]


def _key(seed: int, name: str):
    """The curve's key as `scalebayes extrapolate --method mcmc-*` draws it (its name folded
    into the seed), so the advice, its fan chart and `extrapolate` share one posterior."""
    from ..inference import curve_keys

    return curve_keys(seed, [name])


def run_suggest(args: argparse.Namespace) -> int:
    """Run ``suggest``."""
    from ..data import read_curves_csv
    from ..design import MAX_FANTASIES, MIN_FANTASIES, suggest_next

    curves = read_curves_csv(args.csv, curve=args.curve, **csv_options(args))
    if len(curves) != 1:
        names = ", ".join(repr(c.name) for c in curves[:5])
        raise ValueError(
            f"{args.csv} holds {len(curves)} curves ({names}...): choose one with --curve NAME"
        )
    from ._pfn import say_every_point_counts

    say_every_point_counts(curves, args.csv, "suggest")
    curve = curves[0].with_split(None)
    top = float(curve.x.max())
    # multiples (2x) are of the largest run
    candidates = resolve_x(args.candidates, top, "--candidates")
    target = resolve_x([args.target], top, "--target")[0]

    def said(xs: list[float], flag: list) -> str:  # as asked: with its multiple, if one
        return ", ".join(asked_text(x, top, flag) for x in xs)

    # the command line's own words for what suggest_next would reject in Python's
    if target <= top:
        raise ValueError(
            f"--target {said([target], [args.target])} is not beyond the runs (the largest x "
            f"is {top:g}); ask about a run larger than every run so far"
        )
    if candidates[-1] >= target:
        raise ValueError(
            f"every --candidates value must lie below --target {said([target], [args.target])}; "
            f"got {said([c for c in candidates if c >= target], args.candidates)} (running the "
            "target itself answers the question: compare its cost directly)"
        )
    if not MIN_FANTASIES <= args.fantasies <= MAX_FANTASIES:
        raise ValueError(
            f"--fantasies must be from {MIN_FANTASIES} to {MAX_FANTASIES}; got {args.fantasies}"
        )
    if args.model is not None and args.method != "pfn":
        raise ValueError(
            f"--model applies only to --method pfn; --method {args.method} fits its own "
            "model: leave --model out"
        )
    if args.cost == "x":
        cost = None  # proportional to x
    elif args.cost == "equal":
        cost = [1.0] * len(candidates)
    else:
        cost = _read_costs(args.cost, candidates, top)
    model = args.model
    if args.method == "pfn":  # loaded once, for the advice and the plot
        from .._warnings import warn_if_flat
        from ._pfn import load_pfns_for

        if model is None:  # a named model answers as asked
            warn_if_flat(curve.x, curve.y, f"curve {curve.name!r}")

        def beyond_the_runs(pfn) -> None:
            inside = [c for c in candidates if c <= float(curve.x.max())]
            if inside and not pfn.interpolation:
                raise ValueError(
                    f"--candidates {said(inside, args.candidates)} lie inside the runs "
                    f"(x <= {top:g}); the PFN extrapolates only: choose "
                    "candidates beyond the largest run, or use --method mcmc-m4"
                )

        models, note = load_pfns_for(model, [target / float(curve.x.max())], beyond_the_runs)
        model = models[0]
    if args.method != "pfn":
        say_before_sampling(
            f"sampling {args.method.removeprefix('mcmc-')} with NUTS on the runs: seconds to a "
            "minute on a CPU"
        )
    result = suggest_next(
        curve.x,
        curve.y,
        candidates,
        target,
        cost=cost,
        model=model,
        n_fantasies=args.fantasies,
        level=args.level,
        method=args.method,
        key=None if args.method == "pfn" else _key(args.seed, curve.name),
    )
    if args.method == "pfn" and note:
        print(note, file=sys.stderr)
    print(f"{curve.name}: {curve.x.size} runs, x from {curve.x.min():.4g} to {curve.x.max():.4g}")
    if args.method == "pfn" and args.model is None:
        _say_the_shipped_answer(curve, target, args.level)
    print(result.table())
    by = result.method
    if args.method == "pfn":  # which PFN: the one named, or the shipped one chosen above
        by = f"the PFN {args.model or Path(model.meta['_path']).name}"
    best = result.best
    runner = result.suggestions[1] if len(result.suggestions) > 1 else None
    other = "--method mcmc-m4" if args.method == "pfn" else "--method pfn, or another --seed"
    rerun = f"more --fantasies (now {result.n_fantasies})"
    if args.method != "pfn":  # the +- holds the fantasies' error, not the draws'
        rerun += " and another --seed (the +- leaves out the draws' own Monte Carlo error)"
    # a coherent model's expected narrowing is not negative: one below zero by more than
    # twice its error, at any candidate, means the model's fantasies disagree with its answer
    widening = [s for s in result.suggestions if s.gain < -2 * s.gain_error]
    w = widening[0] if widening else None
    widens = (
        ""
        if w is None
        else f"the gain at x = {w.x:.4g} ({w.gain:.4f} +- {w.gain_error:.4f}) is below zero "
        "by more than twice its estimated error"
    )
    if best.gain > 2 * best.gain_error and runner is not None and _close(best, runner):
        print(
            f"\nnext run: x = {best.x:.4g} ranks first, but the runner-up x = {runner.x:.4g} "
            f"is not told apart from it: their gains per cost, {best.gain_per_cost:.4g} and "
            f"{runner.gain_per_cost:.4g}, differ by less than twice their estimated error "
            f"({_combined_error(best, runner):.2g}): rerun with {rerun} to tell them apart, or "
            f"choose between them by other reasons (outcomes fantasised by {by})"
        )
    elif best.gain > 2 * best.gain_error:
        print(f"\nnext run: x = {best.x:.4g} (outcomes fantasised by {by})")
    elif best.gain > 0:  # not told apart from no gain by the fantasies drawn
        print(
            f"\nnext run: x = {best.x:.4g} ranks first, but its gain ({best.gain:.4f} +- "
            f"{best.gain_error:.4f}) cannot be told from zero (it is less than twice its "
            f"estimated error): rerun with {rerun} to tell the candidates apart "
            f"(outcomes fantasised by {by})"
        )
    else:  # a ranking of non-gains recommends nothing
        advice = (
            f"check with {other}; if it agrees, no run short of the target is expected to "
            "narrow its interval"
        )
        if widening:  # the model contradicts itself: no ranking from it
            advice = (
                f"{widens}, so the model's fantasies disagree with its own answer (a coherent "
                "model's expected narrowing is not negative) and this ranking says nothing: "
                f"rank the candidates with {other} instead"
            )
        print(
            f"\nnext run: none of the candidates is expected to narrow the interval at the "
            f"target (the best gain, at x = {best.x:.4g}, is {best.gain:.4f} +- "
            f"{best.gain_error:.4f}; outcomes fantasised by {by}): {advice}"
        )
    if widening and best.gain > 0:
        print(f"note: {widens}, which a coherent model's is not: check this ranking with {other}")
    if args.plot is not None:
        marked = [*candidates, target]
        marks = [(c, f"candidate {c:.3g}") for c in candidates] + [(target, "target")]
        if args.method == "pfn":
            from ..pfn import ReachWarning, SpanWarning, plot_fan

            with warnings.catch_warnings():  # the advice above has said what the x need
                warnings.simplefilter("ignore", ReachWarning)
                warnings.simplefilter("ignore", SpanWarning)
                plot_fan(model, [curve], marked, args.plot, marks=marks)
        else:  # NUTS with the same family and seed as the advice (which said if it mixed)
            from ._pfn import mcmc_fans

            mcmc_fans([curve], args.method, args.seed, [marked], args.plot, warn=False, marks=marks)
        print(f"wrote {args.plot}")
    return 0


def _say_the_shipped_answer(curve, target: float, level: float) -> None:
    """Within ``FAR_SWITCH`` the ranking fantasises with the default model alone, while
    ``scalebayes extrapolate`` answers with both shipped PFNs: print that answer first (it is
    the answer; a new user's audit read the default model's interval, [1, 2.828] where
    extrapolate says [1.769, 2.692], as the headline), then say whose the ranking's is."""
    from ..pfn import DEFAULT_MODEL, FAR_SWITCH, extrapolate

    if target > FAR_SWITCH * float(curve.x.max()):
        return  # the far model answers both
    with warnings.catch_warnings():  # the same runs: their warnings were said with the ranking
        warnings.simplefilter("ignore")
        answer = extrapolate(curve.x, curve.y, [target])
    lower, upper = (float(v[0]) for v in answer.interval(level))
    print(
        f"the answer at x = {target:.4g} (as scalebayes extrapolate gives it: both shipped PFNs "
        f"weighted by a back-test on the runs): median {float(answer.median()[0]):.4g}, "
        f"{100 * level:g}% interval [{lower:.4g}, {upper:.4g}]\n"
        f"the ranking below fantasises with the default model ({DEFAULT_MODEL}) alone, since "
        "a fantasised run would change the back-test that weighs the two; its own answer:"
    )


def _combined_error(best, runner) -> float:
    """The estimated error of the difference of two gains per cost: the two errors added in
    quadrature, as if independent (a heuristic: both come from the same rule)."""
    return math.hypot(best.gain_error / best.cost, runner.gain_error / runner.cost)


def _close(best, runner) -> bool:
    """Whether two candidates' gains per cost differ by less than twice their combined
    estimated error."""
    return best.gain_per_cost - runner.gain_per_cost < 2 * _combined_error(best, runner)
