"""The ``scalebayes allocate`` subcommand: compute-optimal N*, D*, L* from a CSV of runs.

``add_allocate(subparsers)`` defines the arguments (no heavy imports); ``run_allocate(args)``
reads and validates the runs, samples the posterior of the Chinchilla law with NUTS and prints
the fitted parameters and the allocation at each budget with credible intervals. Bad input
raises ``ValueError`` with a one-line message (``scalebayes.cli.main`` reports it with exit
status 2). Fewer runs than the law has parameters give a warning: the posterior is then
mostly the prior.
"""

from __future__ import annotations

import argparse
import warnings

from ._argtypes import non_negative_int, positive, positive_floats, probability, readable_file, seed
from ._notice import say_before_sampling

FAR_ABOVE = 1000.0
"""A compute budget more than this many times the largest run's gets a warning (as far as
the far PFN is trained to answer a loss curve)."""

_budgets = positive_floats("budgets in FLOPs", "5.76e23 or 1e21,5.76e23", "budget")
_count = positive(int)


def add_allocate(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``allocate`` subcommand to ``subparsers`` and return its parser.

    Args:
        subparsers: the ``add_subparsers()`` object of the ``scalebayes`` parser.

    Returns:
        The subcommand's parser.
    """
    parser = subparsers.add_parser(
        "allocate",
        help="compute-optimal model and data size from a CSV of training runs",
        description=(
            "Fit L(N, D) = E + A/N^alpha + B/D^beta to training runs (a CSV file with columns "
            "N, D and loss, or N, C and loss with D = C/(6N); names are case-insensitive, "
            "and usual names are read too: params, parameters or model size as N, tokens as D, "
            "flops, compute or training flop(s) as C, val_loss or eval_loss as loss) "
            "by NUTS with a robust likelihood on log loss, and print the compute-optimal "
            "N*, D*, L* and D*/N* at each budget with credible intervals."
        ),
    )
    parser.add_argument("file", metavar="RUNS.csv", type=readable_file, help="the training runs")
    parser.add_argument(
        "--compute",
        required=True,
        type=_budgets,
        action="extend",
        metavar="C[,C...]",
        help="compute budget(s) in FLOPs, e.g. 5.76e23 (repeat --compute to add more)",
    )
    parser.add_argument(
        "--likelihood",
        choices=("huber", "student_t", "normal"),
        default="huber",
        help="residual density on log loss (default: huber, as Besiroglu et al.)",
    )
    parser.add_argument(
        "--level",
        "--prob",
        dest="level",
        type=probability,
        default=0.9,
        help="credible mass of the intervals (default 0.9)",
    )
    parser.add_argument("--samples", type=_count, default=1000, help="draws per chain")
    parser.add_argument("--warmup", type=_count, default=1000, help="warm-up steps per chain")
    parser.add_argument("--chains", type=_count, default=4, help="chains (>= 2, vectorised)")
    parser.add_argument("--seed", type=seed, default=0, help="PRNG seed (default 0)")
    parser.add_argument(
        "--drop-highest",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="drop the K highest-loss runs before fitting (Besiroglu et al. dropped 5)",
    )
    for role, example in (("N", "params"), ("D", "tokens"), ("C", "flops"), ("loss", "val_loss")):
        parser.add_argument(
            f"--{role.lower()}-column",
            metavar="NAME",
            help=(
                f"the file's name for the {role} column (e.g. {example}; default {role}, or "
                "one column with a usual name of it)"
            ),
        )
    return parser


def run_allocate(args: argparse.Namespace) -> int:
    """Run ``scalebayes allocate``: fit the runs and print the allocation table.

    Args:
        args: the parsed arguments of the parser made by ``add_allocate``.

    Returns:
        0 on success.

    Raises:
        ValueError: for bad input (a malformed file, too few distinct N or D, a bad option),
            in one line.
        OSError: if the file cannot be read.

    Warns:
        UserWarning: if there are no more runs than the law has parameters (the data cannot
            determine the allocation; its intervals then reflect the prior).
    """
    import jax

    from ..compute import chinchilla_law, fit_joint_law, read_runs_csv

    args.compute = sorted(set(args.compute))  # each budget once, smallest first (as --to)
    if args.chains < 2:
        raise ValueError("--chains must be at least 2 (r-hat compares chains)")
    if min(args.compute) < 6.0:  # the allocation's own check, before the fit rather than after
        raise ValueError(
            f"--compute {min(args.compute):g} is below 6 FLOPs (one parameter trained on one "
            "token); give budgets in FLOPs, e.g. 5.76e23"
        )
    if args.samples < 4:
        raise ValueError("--samples must be at least 4 (r-hat and ESS need four draws a chain)")
    renamed = {
        role: name
        for role, name in (
            ("N", args.n_column),
            ("D", args.d_column),
            ("C", args.c_column),
            ("loss", args.loss_column),
        )
        if name is not None
    }
    try:
        runs = read_runs_csv(args.file, columns=renamed, drop_highest=args.drop_highest)
    except ValueError as error:  # in the command line's words
        message = str(error).replace("drop_highest must", "--drop-highest must")
        dropped = f"after dropping the {args.drop_highest} highest-loss runs"
        raise ValueError(
            message.replace(dropped, f"after --drop-highest {args.drop_highest}")
        ) from None
    spent = runs.compute()  # 6 N D per run
    smallest, largest = float(spent.min()), float(spent.max())
    below = [c for c in args.compute if c < smallest / 10]
    if below:
        warnings.warn(
            f"--compute {', '.join(f'{c:g}' for c in below)} lies more than 10x below the "
            f"smallest run ({smallest:.3g} FLOPs = 6 N D): the law is fitted above it, so the "
            "allocation there extrapolates it downward",
            UserWarning,
            stacklevel=2,
        )
    above = [c for c in args.compute if c > largest * FAR_ABOVE]
    if above:
        warnings.warn(
            f"--compute {', '.join(f'{c:g}' for c in above)} lies more than {FAR_ABOVE:g}x "
            f"above the largest run ({largest:.3g} FLOPs): the allocation there rests on the "
            "law's form more than on the runs, and its interval assumes that form holds"
            + (  # a review: N and D in millions kept D/N plausible and passed unremarked
                f" (the largest run has N = {float(runs.N.max()):.3g}: if N and D are in "
                "millions or billions, give plain counts)"
                if float(runs.N.max()) < 1e6
                else ""
            ),
            UserWarning,
            stacklevel=2,
        )
    law = chinchilla_law()
    n_params = len(law.param_names)
    if len(runs) <= n_params:  # with the noise scale, more unknowns than runs
        warnings.warn(
            f"{len(runs)} runs for a {n_params}-parameter law: the allocation is not "
            "determined by the data; intervals reflect the prior",
            UserWarning,
            stacklevel=2,
        )
    say_before_sampling(
        f"sampling the {n_params}-parameter law with NUTS on {len(runs)} runs "
        f"({args.chains} chains of {args.warmup} + {args.samples} steps): tens of seconds to "
        "minutes on a CPU"
    )
    posterior = fit_joint_law(
        jax.random.key(args.seed),
        runs,
        law=law,
        likelihood=args.likelihood,
        num_warmup=args.warmup,
        num_samples=args.samples,
        num_chains=args.chains,
    )
    allocation = posterior.allocation(args.compute)
    dropped = f" (the {args.drop_highest} highest-loss runs dropped)" if args.drop_highest else ""
    print(
        f"fitted {posterior.law.formula} to {len(runs)} runs from {runs.source}{dropped}, "
        f"{args.likelihood} likelihood on log loss"
    )
    print(f"NUTS: {posterior.diagnostics.line}\n")
    print(posterior.summary(args.level))
    pct = f"{100 * args.level:g}%"
    print(f"\ncompute-optimal allocation, C = 6 N D (posterior median [{pct} interval]):")
    print(allocation.summary(args.level))
    print(
        f"(N*: parameters, D*: training tokens; L*: the fitted law's loss there, without "
        f"run-to-run noise. The runs' compute spans {smallest:.3g} to {largest:.3g} FLOPs; "
        "the intervals hold the law's parameters' "
        "uncertainty, not a wrong form of the law.)"
    )
    return 0
