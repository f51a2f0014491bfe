"""The ``scalebayes ntk-study`` subcommand: mu_L, sigma_L, eps_L against N, infinite and finite.

``add_ntk_study(subparsers)`` defines the arguments (no heavy imports);
``run_ntk_study_command(args)`` loads the data, runs the study, prints the tables and writes
the plot. Bad input raises ``ValueError`` with a one-line message (``scalebayes.cli.main``
reports it with exit status 2).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .._checks import plain_float, plain_int
from .._precision import float64
from ._argtypes import check_readable, figure_file, output_dir, positive, seed


def _sizes(text: str) -> tuple[int, int]:
    """Parse ``"32:2048"`` into ``(32, 2048)``."""
    lo, sep, hi = text.partition(":")
    try:
        lo_n, hi_n = plain_int(lo), plain_int(hi)
    except ValueError:
        lo_n = hi_n = 0
    if not sep or not 2 <= lo_n < hi_n:
        raise argparse.ArgumentTypeError(
            f"expected LO:HI with integers 2 <= LO < HI, such as 32:2048, got {text!r}"
        )
    return lo_n, hi_n


_STEPS = 1000
_MEMBERS = 32


def _ints(text: str) -> list[int]:
    try:
        values = [plain_int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = [0]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers, got {text!r}"
        )
    return values


def _floats(text: str) -> list[float]:
    try:
        values = [plain_float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = [math.nan]
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive numbers, such as 8,4, got {text!r}"
        )
    return values


_positive = positive


def add_ntk_study(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``ntk-study`` subcommand to ``subparsers`` and return its parser."""
    parser = subparsers.add_parser(
        "ntk-study",
        help="NTK ensemble test-loss mean, spread and eps_L against training-set size",
        description=(
            "For an MLP in NTK parameterisation, compute the exact mean mu_L, standard "
            "deviation sigma_L and eps_L = sigma_L/mu_L of the test MSE over initialisations "
            "of the infinite-width ensemble at log-spaced training-set sizes, optionally train "
            "finite-width ensembles for comparison, fit power laws and report the eps_L "
            "plateau."
        ),
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--dataset", choices=("digits", "calorimeter"), help="built-in dataset")
    data.add_argument("--npz", type=Path, metavar="FILE.npz", help="arrays x, y from a file")
    parser.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="with --npz: what y is (integer labels or one-hot / real targets)",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=(32, 2048),
        metavar="LO:HI",
        help="smallest and largest training-set size (default: 32:2048, capped at the points "
        "left after the test points)",
    )
    parser.add_argument(
        "--n-sizes",
        type=_positive(int),
        metavar="K",
        help="K log-spaced sizes (default: powers of 2)",
    )
    parser.add_argument("--n-test", type=_positive(int), default=500, help="test points")
    parser.add_argument("--depth", type=_positive(int), default=2, help="hidden layers")
    parser.add_argument(
        "--W-std",
        type=_positive(float),
        default=math.sqrt(2.0),
        dest="W_std",
        help="weight standard deviation of the NTK parametrisation (default: sqrt(2))",
    )
    parser.add_argument(
        "--b-std", type=float, default=0.1, dest="b_std", help="bias standard deviation"
    )
    parser.add_argument(
        "--activation", choices=("relu", "erf"), default="relu", help="hidden nonlinearity"
    )
    parser.add_argument(
        "--widths", type=_ints, default=[], metavar="W[,W...]", help="finite widths to train"
    )
    parser.add_argument(
        "--lrs",
        type=_floats,
        metavar="LR[,LR...]",
        help="GD learning rates (default: 0.5 and 0.25 of the largest stable rate "
        "2|Y|/lambda_max of the infinite-width NTK at the largest finite size)",
    )
    parser.add_argument(
        "--steps", type=_positive(int), default=None, help=f"GD steps (default: {_STEPS})"
    )
    parser.add_argument(
        "--members", type=_positive(int), default=None, help=f"ensemble size (default: {_MEMBERS})"
    )
    parser.add_argument(
        "--finite-max-size", type=_positive(int), metavar="N", help="finite widths only up to N"
    )
    parser.add_argument(
        "--draws", type=_positive(int), default=1, help="training-subset draws per size"
    )
    parser.add_argument("--rtol", type=_positive(float), default=0.1, help="plateau tolerance")
    parser.add_argument("--calorimeter-n", type=_positive(int), default=4000, help="showers")
    parser.add_argument("--seed", type=seed, default=0, help="seed (default 0)")
    parser.add_argument(
        "--out",
        type=output_dir,
        default=None,
        metavar="DIR",
        help="write each curve to DIR as it finishes; rerunning with the same options reads "
        "the finished curves back (an interrupted study resumes)",
    )
    parser.add_argument(
        "--plot",
        type=figure_file(),
        metavar="OUT.png",
        help="write a log-log plot (.png, .pdf or .svg; checked before any work)",
    )
    return parser


@float64
def _default_learning_rates(config, dataset, sizes, args) -> list[float]:
    """0.5 and 0.25 of ``2 |Y| / lambda_max(Theta_XX)`` at the largest finite size."""
    from ..ntk import max_stable_learning_rate, mlp_kernels

    finite = sizes if args.finite_max_size is None else sizes[sizes <= args.finite_max_size]
    if finite.size == 0:
        raise ValueError(f"--finite-max-size {args.finite_max_size} is below every size")
    pool, _ = dataset.split(args.n_test, seed=args.seed)
    theta = mlp_kernels(config, pool.x[: int(finite[-1])]).ntk
    lr_max = max_stable_learning_rate(theta, dataset.y.shape[1])
    return [0.5 * lr_max, 0.25 * lr_max]


def run_ntk_study_command(args: argparse.Namespace) -> int:
    """Run ``scalebayes ntk-study``: print the tables and write the plot.

    Returns:
        0 on success.

    Raises:
        ValueError: For bad input, in one line (a diverging finite-width run says to lower
            ``--lrs``).
    """
    try:
        return _run(args)
    except FloatingPointError as error:
        raise ValueError(f"{error}; lower --lrs") from error


def _run(args: argparse.Namespace) -> int:
    from ..ntk import (
        MLPConfig,
        calorimeter_showers,
        load_digits,
        load_npz,
        log_sizes,
        run_ntk_study,
    )

    if args.npz is not None:
        if args.task is None:
            raise ValueError("--npz needs --task classification or --task regression")
        dataset = load_npz(check_readable(args.npz), task=args.task)
    elif args.task is not None:
        raise ValueError(
            f"--task describes an --npz file; --dataset {args.dataset} is a fixed task (digits: "
            "classification, calorimeter: regression): drop --task"
        )
    elif args.dataset == "digits":
        dataset = load_digits()
    else:
        if args.calorimeter_n < 2:
            raise ValueError(
                f"--calorimeter-n must be at least 2 showers, got {args.calorimeter_n}"
            )
        dataset = calorimeter_showers(args.calorimeter_n, seed=args.seed)
    finite_only = [
        flag
        for flag, value in (
            ("--lrs", args.lrs),
            ("--steps", args.steps),
            ("--members", args.members),
            ("--finite-max-size", args.finite_max_size),
        )
        if value is not None
    ]
    if finite_only and not args.widths:
        verb = "applies" if len(finite_only) == 1 else "apply"
        raise ValueError(
            f"{' and '.join(finite_only)} {verb} only to the finite-width ensembles, which run "
            "only with --widths W[,W...]: add --widths, or drop them"
        )
    args.steps = _STEPS if args.steps is None else args.steps
    args.members = _MEMBERS if args.members is None else args.members
    if args.members < 2:
        raise ValueError("--members must be at least 2")
    if args.n_test >= len(dataset) - 1:
        raise ValueError(f"--n-test {args.n_test} leaves no training pool ({len(dataset)} points)")
    pool_size = len(dataset) - args.n_test
    # re-drawn subsets (--draws > 1) need a pool larger than the largest size
    largest = pool_size if args.draws == 1 else pool_size - 1
    lo, hi = args.sizes
    notes = []
    if hi > largest:
        if lo >= largest:
            raise ValueError(
                f"--sizes: {lo} is not below the {largest} training points a size can use "
                f"after {args.n_test} test points of {dataset.name}"
                + ("" if args.draws == 1 else " (re-drawn subsets need one more)")
            )
        notes.append(
            f"{dataset.name} leaves {pool_size} training points after {args.n_test} test "
            f"points: sizes capped at {largest}"
            + ("" if args.draws == 1 else " (re-drawn subsets need a larger pool)")
        )
        hi = largest
    config = MLPConfig(
        depth=args.depth, W_std=args.W_std, b_std=args.b_std, activation=args.activation
    )
    sizes = log_sizes(lo, hi, args.n_sizes)
    learning_rates = args.lrs
    if args.widths and learning_rates is None:
        learning_rates = _default_learning_rates(config, dataset, sizes, args)
        notes.append(
            "learning rates 0.5 and 0.25 of the largest stable rate: "
            + ", ".join(f"{lr:.4g}" for lr in learning_rates)
        )
    study = run_ntk_study(
        config,
        dataset,
        sizes,
        n_test=args.n_test,
        widths=args.widths,
        learning_rates=learning_rates or (),
        steps=args.steps,
        n_members=args.members,
        finite_max_size=args.finite_max_size,
        n_draws=args.draws,
        seed=args.seed,
        rtol=args.rtol,
        out_dir=args.out,
        progress=True,
    )
    print(
        f"{dataset.name} ({dataset.task}, {len(dataset)} points, d = {dataset.x.shape[1]}, "
        f"k = {dataset.y.shape[1]}), {args.n_test} test points; depth {config.depth}, "
        f"W_std {config.W_std:.4g}, b_std {config.b_std:.4g}, {config.activation}"
    )
    for note in notes:
        print(f"note: {note}")
    if study.n_resumed:
        print(
            f"note: {study.n_resumed} of {len(study.curves)} curves read back from {args.out}, "
            "finished by an earlier run with these settings"
        )
    print()
    print(study.table())
    print("\npower laws a N^-alpha (bootstrap intervals) and the eps_L plateau:")
    print(study.fits_table())
    print("\ntiming:")
    print(study.timing_table())
    if args.plot is not None:
        study.plot(args.plot)
        print(f"\nwrote {args.plot}")
    return 0
