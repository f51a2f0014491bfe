"""The ``scalebayes train-pfn`` and ``scalebayes extrapolate`` subcommands.

``add_*`` define the arguments without heavy imports; ``run_*`` import JAX when they run.
Bad input raises ``ValueError`` (or ``OSError``) with a one-line message, which
``scalebayes.cli.main`` reports with exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import warnings

from .._mcmc_names import NOISE_SUFFIXES
from .._text import significant
from ._argtypes import (
    Once,
    add_csv_options,
    asked_text,
    csv_options,
    figure_file,
    from_multiple,
    output_dir,
    positive,
    readable_file,
    resolve_x,
    seed,
    x_text,
    x_values,
)
from ._notice import say_before_sampling

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_MCMC_METHODS = tuple(
    f"mcmc-{f}{suffix}" for suffix in NOISE_SUFFIXES.values() for f in ("m3", "m4", "bnsl")
)
EXTRAPOLATE_METHODS = (
    "pfn",
    *_MCMC_METHODS,
    *(f"pfn+{m}" for m in _MCMC_METHODS),
)


_positive_int = positive(int)
_positive_float = positive(float)
_targets = x_values("x values", "1e21,1e22 or 10x,100x")


def _override(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` with VALUE in JSON, as a ``(field, value)`` pair."""
    field, sep, value = text.partition("=")
    try:
        if not (sep and field.strip()):
            raise ValueError
        return field.strip(), json.loads(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected FIELD=VALUE with VALUE in JSON (e.g. break_prob=0.25), got {text!r}"
        ) from None


def add_train_pfn(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train-pfn`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "train-pfn",
        help="train a PFN on synthetic prior curves (resumable)",
        description=(
            "Train the NSL-PFN encoder on curves drawn from the prior inside each compiled "
            "step, checkpointing atomically into OUT/checkpoint every --checkpoint-every steps. "
            "Re-run with --resume to continue a run bit for bit: it takes the run's own "
            "settings, so --out is all it needs (options given must match the run's)."
        ),
    )
    parser.add_argument(
        "--config",
        default=None,
        choices=("tiny", "small", "base", "medium", "paper"),
        help="model size (see scalebayes.pfn.CONFIGS) (default: small)",
    )
    parser.add_argument(
        "--steps", type=_positive_int, default=None, help="total steps (required for a new run)"
    )
    parser.add_argument("--out", type=output_dir, required=True, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue OUT/checkpoint")
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="synthetic curves per step (default: 64)",
    )
    parser.add_argument(
        "--lr", type=_positive_float, default=None, help="peak learning rate (default: 0.001)"
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "bfloat16"),
        default=None,
        help="dtype of the matrix products; the master weights stay float32 (default: float32)",
    )
    parser.add_argument(
        "--n-points", type=_positive_int, default=None, help="padded length (default: 128)"
    )
    parser.add_argument(
        "--interpolation",
        type=float,
        default=None,
        help="fraction of curves trained with random (interpolating) context sets (default: 0.0)",
    )
    parser.add_argument(
        "--prior",
        choices=("nslpfn", "scalefree", "mixture"),
        default=None,
        help="curve prior: NSL-PFN's (default), the scale-free far-extrapolation prior, or a "
        "mixture",
    )
    parser.add_argument(
        "--prior-mix",
        type=float,
        default=None,
        help="scale-free fraction of each batch with --prior mixture (default 0.5)",
    )
    parser.add_argument(
        "--input",
        choices=("nslpfn", "log-relative", "log-log"),
        default=None,
        help="input encoding (default: nslpfn for the NSL-PFN prior, else log-relative)",
    )
    parser.add_argument(
        "--scalefree-set",
        type=_override,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="replace a default of the scale-free prior (ScaleFreePriorConfig; repeatable; "
        "VALUE in JSON, e.g. break_prob=0.25 or family_probs=[0.8,0.1,0.1])",
    )
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="keep a moving average of the weights with this decay (0 = off); it is exported "
        "(default: 0.0)",
    )
    parser.add_argument(
        "--init-from",
        default=None,
        metavar="MODEL",
        help="warm start from these weights (checkpoint or shipped name), fresh optimiser",
    )
    parser.add_argument(
        "--borders-from",
        default=None,
        metavar="MODEL",
        help="fresh weights on this model's bar borders (checkpoint or shipped name), so the "
        "two can be averaged into an ensemble",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=None,
        help="steps between checkpoints (default: 500)",
    )
    parser.add_argument(
        "--seed", type=seed, default=None, help="seed of the prior draws and init (default: 0)"
    )
    parser.add_argument(
        "--key-scheme",
        type=int,
        choices=(1, 2),
        default=None,
        help="how --seed becomes the run's PRNG keys: 2 (default) independent streams for the "
        "init, the steps and the borders; 1 reproduces runs before 2026-12-06 (the shipped "
        "weights), whose step keys repeat the init's",
    )
    parser.add_argument(
        "--chunk-steps", type=_positive_int, default=None, help="stop after this many steps"
    )
    parser.add_argument(
        "--max-seconds",
        type=_positive_float,
        default=None,
        help="stop at the first checkpoint after this many seconds",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


# TrainConfig field -> the train-pfn option that sets it (its value is args.<option>, but
# --scalefree-set, a list of FIELD=VALUE pairs, becomes a dict)
_TRAIN_OPTIONS = {
    "model": "--config",
    "steps": "--steps",
    "batch_size": "--batch-size",
    "n_points": "--n-points",
    "lr": "--lr",
    "compute_dtype": "--dtype",
    "interpolation": "--interpolation",
    "seed": "--seed",
    "checkpoint_every": "--checkpoint-every",
    "prior": "--prior",
    "prior_mix": "--prior-mix",
    "input": "--input",
    "ema_decay": "--ema-decay",
    "scalefree_overrides": "--scalefree-set",
    "key_scheme": "--key-scheme",
}


def _train_config(given: dict):
    """``TrainConfig(**given)``, with its errors said in the command line's words."""
    from ..pfn import TrainConfig

    try:
        return TrainConfig(**given)
    except (TypeError, ValueError) as error:
        message = str(error)
        for name, option in _TRAIN_OPTIONS.items():  # whole names: not prior in prior_mix
            message = re.sub(rf"TrainConfig\.{name}\b", option, message)
        if "ScaleFreePriorConfig" in message and not message.startswith("--scalefree-set"):
            message = f"--scalefree-set: {message}"
        # the option's fields by their own names (FIELD of FIELD=VALUE), not the Python class's
        message = message.replace("ScaleFreePriorConfig has no", "the scale-free prior has no")
        message = message.replace("ScaleFreePriorConfig.", "")
        raise ValueError(message) from None


def run_train_pfn(args: argparse.Namespace) -> int:
    """Run ``train-pfn``."""
    from ..pfn import CheckpointError, TrainConfig, read_checkpoint_meta, train

    if args.init_from is not None and not args.init_from.strip():
        raise ValueError("--init-from needs a checkpoint directory or a shipped model's name")
    if args.resume and args.init_from is not None:
        raise ValueError("--init-from starts a new run and --resume continues one; give one")
    if args.borders_from is not None:
        if not args.borders_from.strip():
            raise ValueError(
                "--borders-from needs a checkpoint directory or a shipped model's name"
            )
        if args.resume or args.init_from is not None:
            raise ValueError(
                "--borders-from starts fresh weights; --resume and --init-from keep their "
                "run's borders: give one of them"
            )
    # the options given (None: not given; TrainConfig's defaults are the command line's)
    settings = {
        name: getattr(args, option[2:].replace("-", "_")) for name, option in _TRAIN_OPTIONS.items()
    }
    settings["scalefree_overrides"] = dict(args.scalefree_set) or None
    settings = {name: value for name, value in settings.items() if value is not None}
    if not args.resume and "prior_mix" in settings and settings.get("prior") != "mixture":
        raise ValueError(
            f"--prior-mix sets the scale-free share of --prior mixture, not of --prior "
            f"{settings.get('prior', 'nslpfn')}: add --prior mixture or drop --prior-mix"
        )
    if args.resume:  # the run continues as it started: the options given must agree with it
        try:
            meta = read_checkpoint_meta(args.out / "checkpoint")
        except CheckpointError as error:
            if args.out.is_dir():  # a run saving it now: say so (LockedError), not "corrupt"
                from .._io import exclusive_lock

                with exclusive_lock(args.out):
                    pass
            raise ValueError(f"--resume: {error}") from None
        try:
            config = TrainConfig.from_dict(meta["train_config"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(
                f"--resume: {meta['_path']} holds no train-pfn run's settings that this "
                f"scalebayes reads ({type(error).__name__}: {error})"
            ) from None
        if "prior_mix" in settings and config.prior != "mixture":
            raise ValueError(
                f"--prior-mix sets the scale-free share of a mixture run; this run's prior is "
                f"{config.prior!r}: drop --prior-mix"
            )
        differ = []
        for name, value in settings.items():
            try:  # the value as the run's config would hold it (a name, pairs)
                here = getattr(dataclasses.replace(config, **{name: value}), name)
                same = here == getattr(config, name)
                if name == "scalefree_overrides":  # FIELD=VALUE pairs in any order
                    same = dict(here) == dict(getattr(config, name))
            except (TypeError, ValueError):  # not even valid beside the run's other settings
                same = False
            if not same:
                then = getattr(config, name)
                if name == "model":
                    then = config.model_config.name
                elif name == "scalefree_overrides":
                    then = dict(then)
                differ.append(f"{_TRAIN_OPTIONS[name]} {value!r} here, {then!r} in the run")
        if differ:
            raise ValueError(
                "--resume continues the run with the settings it started with; these differ: "
                f"{'; '.join(differ)}; drop them (the run's own are used)"
            )
    else:
        if "steps" not in settings:
            raise ValueError("--steps is required for a new run (--resume continues a run's)")
        config = _train_config(settings)
    train(  # it says where its checkpoint stands at the end
        config,
        args.out,
        resume=args.resume,
        init_from=args.init_from,
        borders_from=args.borders_from,
        max_steps=args.chunk_steps,
        max_seconds=args.max_seconds,
        progress=not args.no_progress,
    )
    return 0


def add_extrapolate(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``extrapolate`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "extrapolate",
        help="extrapolate curves from a CSV file with the PFN or MCMC (quantiles + fan chart)",
        description=(
            "Read curves from a CSV file (columns x, y and optionally curve; --x-column / "
            "--y-column name others; see "
            "`scalebayes fit --help` for the format), condition the PFN (or NUTS on a "
            "Bayesian family, --method) on every point, and print the median and the "
            "5/25/75/95% quantiles at each --to x, with its reach (how far beyond the curve's "
            "largest run it lies)."
        ),
    )
    parser.add_argument(
        "csv", type=readable_file, metavar="FILE.csv", help="CSV file of observed points"
    )
    parser.add_argument(
        "--to",
        type=_targets,
        required=True,
        action="extend",
        help="comma-separated x values to predict at, e.g. 1e21,1e22, or multiples of each "
        "curve's largest run, e.g. 10x,100x (the next 10x and 100x of every curve, wherever "
        "its runs end); repeat --to to add more; each is answered by the model for its own "
        "distance, and the far model's and MCMC's answer at one x never moves when others "
        "are added (nslpfn-base, which answers within 5x, maps x over the runs and the --to "
        "values within 5x, so its answers there depend on each other)",
    )
    parser.add_argument("--curve", metavar="NAME", help="answer only this curve of the file")
    add_csv_options(parser)
    parser.add_argument(
        "--method",
        choices=EXTRAPOLATE_METHODS,
        default="pfn",
        action=Once,
        help="the shipped PFNs (default: forward passes, no sampling; within 5x of the "
        "largest run the two shipped PFNs (nslpfn-base, mixture-tiny), each weighted by how "
        "well it predicts the curve's own "
        "later runs, beyond it the far model, up to 1000x; see --model) or "
        "NUTS on a Bayesian family (seconds to a minute per curve on a CPU; any distance); "
        "-irw adds a misfit that grows beyond the runs (noise ou_irw: wider, better "
        "calibrated far out), -walk one that starts at the last run (noise ou_walk: as cheap "
        "as plain mcmc-*); pfn+mcmc-* answers with the equal-weight mixture of the two "
        "predictives (pfn+mcmc-m4-irw: the most accurate about 10x out on the far splits; "
        "100x out the far PFN alone is better)",
    )
    parser.add_argument(
        "--model",
        default=None,
        action=Once,
        help="one PFN to answer with, a checkpoint directory or shipped name (--method pfn "
        "or pfn+mcmc-*; default: the shipped answer, see --method)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="seed of the MCMC run (default: 0); a curve's key is "
        "scalebayes.inference.curve_keys(SEED, [curve name])",
    )
    parser.add_argument(
        "--plot",
        type=figure_file(),
        default=None,
        metavar="OUT.png",
        help="write a fan chart here (.png, .pdf or .svg; checked before any work)",
    )
    return parser


SHIPPED = "shipped"
"""No model named: the shipped answer, each x by its distance (``predict_shipped``)."""


def mcmc_fans(
    curves,
    method: str,
    seed: int,
    targets,
    plot=None,
    warn: bool = True,
    pfn=None,
    marks=(),
) -> list:
    """NUTS (``method`` = ``"mcmc-<family><suffix>"``, the noise model of the suffix in
    ``NOISE_SUFFIXES``: OU residuals, ``-irw`` or ``-walk``) on every point of each curve: the
    predictives at its ``targets`` (the x asked of each curve, one sequence per curve) and, if
    ``plot`` names a file, a fan chart of each curve to its furthest target (one posterior
    serves both); ``warn``: a warning per curve whose chains did not mix (``warn_unmixed``).
    With a ``pfn``, every answer and fan is the equal-weight mixture of its predictive and
    NUTS's (``MixturePredictive``); ``pfn`` is one PFN, one per curve, or ``SHIPPED`` for the
    shipped answer (each x by its distance, ``predict_shipped``); ``marks``: labelled dashed
    lines, as in ``plot_fan``."""
    import numpy as np

    from ..evaluate import MAX_PANELS, fan_grid, plot_fans
    from ..inference import curve_keys, sample_posterior

    family = method.removeprefix("mcmc-")  # the CSV reader has checked every y > 0
    noise = "ou"
    for name, suffix in NOISE_SUFFIXES.items():
        if suffix and family.endswith(suffix):
            noise, family = name, family.removesuffix(suffix)
    count = f"{len(curves)} curve{'s' if len(curves) != 1 else ''}"
    say_before_sampling(
        f"sampling {family} ({noise} noise) with NUTS on {count}: seconds to a minute per "
        "curve on a CPU"
    )
    result = sample_posterior(
        curve_keys(seed, [c.name for c in curves]),  # a curve's draws: its name, not its row
        family,
        [c.x for c in curves],
        [c.y for c in curves],
        names=[c.name for c in curves],
        noise=noise,
    )
    if warn:
        warn_unmixed(result, method, averaged=pfn is not None)
    targets = [np.asarray(t, dtype=np.float64) for t in targets]
    preds = result.predictive(targets)
    pfns = pfn  # None, SHIPPED, or one PFN per curve
    if pfn is not None and pfn is not SHIPPED:
        pfns = list(pfn) if isinstance(pfn, list | tuple) else [pfn] * len(curves)
    if pfns is not None:
        preds = _mix(_pfn_answers(pfns, curves, targets), preds)
    if plot is not None:
        shown = list(curves)[:MAX_PANELS]
        if pfns is SHIPPED:  # the fan passes through the table's answers (shipped_fans)
            from ..pfn import shipped_fans

            grids, pfn_fans = shipped_fans(
                [c.x for c in shown],
                [c.y for c in shown],
                targets[: len(shown)],
                names=[c.name for c in shown],
            )
        else:
            grids = [
                fan_grid(c.x, t, inside=pfns is None)
                for c, t in zip(shown, targets[: len(shown)], strict=True)
            ]
        rest = targets[len(shown) :]  # not drawn: no grid
        fans = result.predictive(grids + rest)[: len(shown)]
        label = f"MCMC({family.upper()}{'' if noise == 'ou' else ', ' + noise})"
        if pfns is not None:
            if pfns is not SHIPPED:
                pfn_fans = _pfn_answers(pfns[: len(shown)], shown, grids)
            fans = _mix(pfn_fans, fans)
            label = f"PFN + {label}"
        panel_marks = None
        if pfns is SHIPPED:  # where the PFN half changes model, each curve's own 5x
            from ..pfn import FAR_SWITCH

            switches = [FAR_SWITCH * float(np.max(c.x)) for c in shown]
            text = f"PFN's far model beyond ({FAR_SWITCH:g}x)"
            panel_marks = [
                [(x, text)] if x < float(np.max(t)) else []
                for x, t in zip(switches, targets[: len(shown)], strict=True)
            ]
        plot_fans(
            fans,
            grids,
            [(c.x, c.y) for c in shown],
            plot,
            names=[c.name for c in shown],
            label=f"{label} median",
            x_to=targets[: len(shown)],
            axis_labels=shown[0].axis_labels,
            marks=marks,
            panel_marks=panel_marks,
        )
    return preds


def _mix(answers, preds) -> list:
    """The equal-weight mixtures of each curve's PFN predictive and its ``preds``."""
    from ..evaluate import MixturePredictive

    return [MixturePredictive([a, b]) for a, b in zip(answers, preds, strict=True)]


def _pfn_answers(pfns, curves, xs) -> list:
    """Each curve's PFN predictive at its ``xs``: by its own PFN (``pfns``, one per curve,
    ``predict_each``), or the shipped answer for ``SHIPPED`` (each x by its distance,
    ``predict_shipped``)."""
    from ..pfn import predict_each, predict_shipped

    data = ([c.x for c in curves], [c.y for c in curves], xs)
    names = [c.name for c in curves]
    if pfns is SHIPPED:
        return predict_shipped(*data, names=names)
    return predict_each(pfns, *data, names=names)


def warn_unmixed(result, method: str = "mcmc-m4", *, averaged: bool = False) -> None:
    """One ``ConvergenceWarning`` per curve whose NUTS chains did not mix
    ([`check_mixing`][scalebayes.inference.check_mixing]), saying what to do: NUTS alone
    (``method``) is pointed at the PFN and at the average of both, which scored best 10x out
    even where the chains did not mix; an average (``averaged``) at the PFN alone."""
    from ..inference import ConvergenceWarning, check_mixing

    if averaged:
        then = "the average's NUTS half may move; --method pfn answers without it"
    else:
        then = (
            f"and compare with --method pfn, or average the two: --method pfn+{method} (the "
            "most accurate answer measured 10x beyond a few runs, docs/results/far.md)"
        )
    report = check_mixing(result, warn=False)
    for name in report.failed:
        warnings.warn(
            f"curve {name!r}: the NUTS chains did not mix ({report.reasons[name]}), so its "
            "quantiles may not be the posterior's: rerun with another --seed to see how far they "
            f"move, {then}",
            ConvergenceWarning,
            stacklevel=2,
        )


def load_pfns_for(model: str | None, ratios: list[float], check=None) -> tuple[list, str]:
    """The PFN the command line answers each curve with: ``model`` if named; else
    ``PFN.load_for(ratio)`` for the curve's furthest question, ``ratio`` times beyond its
    largest run (the default model, or beyond ``FAR_SWITCH`` the far model), so that a curve's
    answer does not depend on the other curves in the file; ``check(pfn)`` runs for each
    model. Also returns the note that says where the far model answers ("" if nowhere): print
    it once the answers stand, so that an error is the only line printed."""
    from ..pfn import DEFAULT_MODEL, FAR_MODEL, FAR_SWITCH, PFN

    if model is not None:
        pfns = [PFN.load(model)] * len(ratios)
    else:
        pfns = [PFN.load_for(r) for r in ratios]
    if check is not None:
        for pfn in {id(m): m for m in pfns}.values():
            check(pfn)
    far = [r for r, m in zip(ratios, pfns, strict=True) if m is not PFN.load_for(1.0)]
    note = ""
    if model is None and far:
        span = (
            f"{min(far):.3g}x"
            if f"{min(far):.3g}" == f"{max(far):.3g}"
            else (f"{min(far):.3g}x-{max(far):.3g}x")
        )
        which = (
            f"the furthest x asked is {span} the largest run"
            if len(ratios) == 1
            else f"for {len(far)} of {len(ratios)} curves the furthest x asked is {span} "
            "their largest run"
        )
        reach = PFN.load_for(max(far)).reach
        them = "" if len(ratios) == 1 else " them"
        why = (
            f"is more accurate than the default ({DEFAULT_MODEL}), so it answers{them}"
            if max(far) <= reach
            else f"answers{them}, though beyond its reach too (see the warning), so read the "
            "answer as a guess"
        )
        note = (
            f"note: {which}; beyond {FAR_SWITCH:g}x the far model ({FAR_MODEL}, reach "
            f"{reach:g}x) {why}; choose one with --model"
        )
    return pfns, note


def _shipped_note(curves, targets, method: str = "pfn") -> str:
    """The note that says which x the far model answers in the shipped answer ("" if none);
    ``targets``: the x asked of each curve, increasing, one sequence per curve; ``method``: the
    command's, so that an answer already averaged with NUTS is not told to compare with
    itself."""
    import numpy as np

    from ..pfn import DEFAULT_MODEL, FAR_MODEL, FAR_SWITCH, PFN

    def is_far(ratio: float) -> bool:  # the far model's distance, as predict_shipped says
        return PFN.load_for(ratio) is not PFN.load_for(1.0)

    tops = [float(np.max(c.x)) for c in curves]
    far = [top for top, xs in zip(tops, targets, strict=True) if is_far(xs[-1] / top)]
    if not far:
        return ""
    near = any(not is_far(xs[0] / top) for top, xs in zip(tops, targets, strict=True))
    where = (
        f"beyond {FAR_SWITCH * far[0]:.4g} ({FAR_SWITCH:g}x the largest run)"
        if len(curves) == 1
        else f"beyond {FAR_SWITCH:g}x their largest run ({len(far)} of {len(curves)} curves)"
    )
    within = f"; x up to {FAR_SWITCH:g}x by both PFNs weighted by a back-test" if near else ""
    compare = (
        ", so compare with --method pfn+mcmc-m4-irw"
        if method == "pfn"
        else f", here averaged with {method.removeprefix('pfn+')}"
    )
    return (
        f"note: x {where} are answered by the far model ({FAR_MODEL}, reach "
        f"{PFN.load(FAR_MODEL).reach:g}x, more accurate there than {DEFAULT_MODEL}); its "
        "median tends to lie low (1-7% on synthetic language-model curves 10-300x out, 5-9% "
        f"when the runs near their floor: docs/results/far.md){compare}{within}; choose one "
        "model with --model"
    )


def _above_every_run(curve, targets, pred, method: str) -> list[str]:
    """Where, on a curve whose runs fall, the 95% quantile at an x beyond the runs lies above
    the highest loss of any run: the answer gives 5% to a run larger than all of them doing
    worse than the smallest did. Said (heavy tails far out: the MCMC walks' mix over their
    drift's prior, docs/results/calibration.md), with the first such x and the one with the
    highest quantile."""
    import numpy as np

    if not _falls(curve):
        return []
    top = float(np.max(curve.y))
    beyond = np.asarray(targets) > float(np.max(curve.x))
    q95 = np.asarray(pred.quantile([0.95]))[0]
    over = np.flatnonzero(beyond & (q95 > top))
    if not over.size:
        return []
    k = int(over[0])
    worst = int(over[np.argmax(q95[over])])
    where = f"at x = {targets[k]:.4g} ({q95[k]:.4g})"
    if worst != k:  # the first such x and the highest quantile
        where += f" and up to x = {targets[worst]:.4g} ({q95[worst]:.4g})"
    other = "--method pfn" if method != "pfn" else "--method mcmc-m4"
    return [
        f"the 95% quantile {where} lies above every run's loss (the highest, {top:.4g}): its "
        f"upper tail is heavy that far out, so read the 50% interval too, or compare with "
        f"{other}"
    ]


def _implausible(curve, targets, pred, method: str) -> list[str]:
    """Two answers no loss curve gives, said where they occur: a printed quantile of 0 (the
    model's mass at or below zero, where its predictive is censored), and, on a curve whose runs
    fall, a median beyond the runs more than ``_ABOVE_LAST`` times the largest run's loss."""
    import numpy as np

    other = "--method pfn" if method != "pfn" else "--method mcmc-m4"
    notes = []
    lowest = np.asarray(pred.quantile([min(_QUANTILES)]))[0]
    zero = np.flatnonzero(lowest <= 0)
    if zero.size:
        k = int(zero[0])
        notes.append(
            f"the {min(_QUANTILES):.0%} quantile at x = {targets[k]:.4g} is 0: the model gives "
            f"at least {min(_QUANTILES):.0%} to a loss at or below 0, so the runs are far from "
            f"what it was trained on; check them, or compare with {other}"
        )
    if _falls(curve):
        x, y = np.asarray(curve.x), np.asarray(curve.y)
        last = float(y[np.argmax(x)])
        beyond = np.asarray(targets) > float(np.max(x))
        medians = np.asarray(pred.median())
        high = np.flatnonzero(beyond & (medians > _ABOVE_LAST * last))
        if high.size:
            k = int(high[np.argmax(medians[high])])
            notes.append(
                f"the median at x = {targets[k]:.4g} ({medians[k]:.4g}) is "
                f"{medians[k] / last:.3g}x the loss of the largest run ({last:.4g}) although "
                f"the runs fall; check that run, or compare with {other}"
            )
    return notes


_ABOVE_LAST = 1.5


def _falls(curve) -> bool:
    """Whether the curve's largest run has a lower loss than its smallest."""
    import numpy as np

    x, y = np.asarray(curve.x), np.asarray(curve.y)
    return bool(y[np.argmax(x)] < y[np.argmin(x)])


def _falls_to_the_end(curve) -> bool:
    """`_falls`, and the runs do not end rising: where they do, `RisingCurveWarning` has said
    so, and a far answer that climbs follows the runs (no news)."""
    from .._warnings import ends_rising

    return _falls(curve) and not ends_rising(curve.x, curve.y)


def _first_departure(values, best, departs) -> tuple[int, int] | None:
    """``(i, j)``: the first ``j`` whose value ``departs(value, running)`` from the best one
    before it (``best``: ``np.minimum`` or ``np.maximum``), and the ``i < j`` that holds that
    best value; None where no value departs."""
    import numpy as np

    running = best.accumulate(values)
    later = np.flatnonzero(departs(values[1:], running[:-1])) + 1
    if not later.size:
        return None
    j = int(later[0])
    return int(np.argmin(values[:j]) if best is np.minimum else np.argmax(values[:j])), j


_GRID_PER_DECADE = 4  # x read between the far switch and the furthest x asked
_GRID_MOST = 24


def _far_grids(curves, targets) -> list:
    """Per curve, the shipped answer's medians on a log grid of x from ``FAR_SWITCH`` times
    its largest run to the furthest x asked of it (``targets``: one increasing sequence per
    curve), ``(x, median)`` (None where no x asked
    lies beyond the switch): the far model's answer at one x does not depend on the others,
    so these show how it moves on the way to the x asked without moving the answers."""
    import numpy as np

    from ..pfn import FAR_SWITCH

    grids = []
    for c, xs in zip(curves, targets, strict=True):
        # from just beyond the switch's tolerance (x at 5x within 1e-9 is the near answer's)
        start, end = FAR_SWITCH * float(np.max(c.x)) * (1 + 1e-6), float(xs[-1])
        if not (end > start and _falls_to_the_end(c)):  # (a climb is said only then)
            grids.append(None)
            continue
        decades = np.log10(end / start)
        n = int(min(_GRID_MOST, max(2, np.ceil(_GRID_PER_DECADE * decades) + 1)))
        grids.append(np.geomspace(start, end, n))
    todo = [i for i, g in enumerate(grids) if g is not None]
    if not todo:
        return grids
    with warnings.catch_warnings():  # the answers at the x asked have said what they need
        warnings.simplefilter("ignore")
        preds = _pfn_answers(SHIPPED, [curves[i] for i in todo], [grids[i] for i in todo])
    for i, pred in zip(todo, preds, strict=True):
        grids[i] = (grids[i], np.asarray(pred.median()))
    return grids


def _far_roughness(curve, targets, pred, grid=None) -> list[str]:
    """Where the far model's answers at the x asked beyond ``FAR_SWITCH`` are not what a
    falling curve's should be: its median climbs by more than 1% on the way out (between two
    x asked, or the x of ``grid``, ``(x, median)`` from `_far_grids`, read on the way to
    them: a climb on a curve that rises may be real), or its 90% interval narrows to less
    than 90% of its width (in log y) at a further x asked. Said, since its answers there are
    not smooth in x (docs/results/far.md: the median climbs on 48 of 132 far10 curves), not
    hidden."""
    import numpy as np

    from ..pfn import FAR_SWITCH

    far = np.asarray(targets) > FAR_SWITCH * float(np.max(curve.x))
    if not far.any():
        return []
    xs = np.asarray(targets)[far]
    ms = np.asarray(pred.median())[far]
    lo, hi = (np.asarray(v)[far] for v in pred.interval(0.9))
    rough = f"its answers beyond {FAR_SWITCH:g}x are not smooth in x (a CPU-trained model)"
    notes = []
    if _falls_to_the_end(curve):
        asked = np.ones(xs.size, bool)
        path_x, path_m = xs, ms
        if grid is not None:
            path_x = np.concatenate([xs, grid[0]])
            path_m = np.concatenate([ms, grid[1]])
            asked = np.concatenate([asked, np.zeros(grid[0].size, bool)])
            order = np.argsort(path_x, kind="stable")
            path_x, path_m, asked = path_x[order], path_m[order], asked[order]
        climb = _first_departure(path_m, np.minimum, lambda m, low: m > 1.01 * low)
        if climb is not None:
            i, j = climb
            j += int(np.argmax(path_m[j:]))  # to the top of the climb (an asked x, as a rule)
            where = [f"x = {path_x[k]:.4g}" + ("" if asked[k] else ", not asked") for k in (i, j)]
            notes.append(
                f"the far model's median climbs from {path_m[i]:.4g} ({where[0]}) to "
                f"{path_m[j]:.4g} ({where[1]}) although the runs fall; {rough}: compare "
                "with --method mcmc-m4-irw"
            )
    if xs.size < 2:
        return notes
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.log(hi / lo)
    finite = np.flatnonzero(np.isfinite(width))  # an interval reaching 0 has no width in log
    narrow = _first_departure(width[finite], np.maximum, lambda w, widest: w < 0.9 * widest)
    if narrow is not None:
        i, j = finite[narrow[0]], finite[narrow[1]]
        notes.append(
            f"the far model's 90% interval narrows from [{lo[i]:.4g}, {hi[i]:.4g}] at x = "
            f"{xs[i]:.4g} to [{lo[j]:.4g}, {hi[j]:.4g}] at x = {xs[j]:.4g}, further out; "
            f"{rough}, so read the wider as how sure it is, or compare with --method "
            "mcmc-m4-irw"
        )
    return notes


def say_every_point_counts(curves, csv, command: str) -> None:
    """A note where the CSV's split column marks targets: ``command`` reads every point (a
    split is for studies), and how to score the held-out points instead."""
    import numpy as np

    held = sum(int(np.sum(~c.is_context)) for c in curves if c.is_context is not None)
    if held:
        print(
            f"note: {held} point(s) marked as targets in the split column condition the answer "
            f"too ({command} reads every point); to score the held-out points instead, run "
            f"`scalebayes study --methods pfn --csv {csv} --out DIR`",
            file=sys.stderr,
        )


def _times(ratio: float) -> str:
    """A reach as a table prints it: ``3x``, ``31.6x``, ``2000x``, ``0.5x`` (3 significant
    digits, no exponent from 0.001x to 1e6x)."""
    if 1e-3 <= ratio < 1e6:
        digits = max(0, 2 - math.floor(math.log10(ratio)))
        text = f"{round(ratio, digits):.{digits}f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + "x"
    return f"{ratio:.3g}x"


def run_extrapolate(args: argparse.Namespace) -> int:
    """Run ``extrapolate``."""
    import numpy as np

    from ..data import read_curves_csv

    uses_pfn = args.method == "pfn" or args.method.startswith("pfn+")
    if not uses_pfn and args.model is not None:
        raise ValueError(f"--model names a PFN checkpoint; --method {args.method} uses none")
    # every point conditions the answer (a split column, if any, is for studies)
    read = read_curves_csv(args.csv, curve=args.curve, **csv_options(args))
    say_every_point_counts(read, args.csv, "extrapolate")
    curves = [c.with_split(None) for c in read]
    tops = [float(np.max(c.x)) for c in curves]
    # each curve's x asked, increasing (a multiple such as 10x is of that curve's largest run)
    asked = [np.asarray(resolve_x(args.to, top)) for top in tops]
    if uses_pfn and args.model is None:  # a named model answers as asked
        from .._warnings import warn_if_flat

        for c in curves:
            warn_if_flat(c.x, c.y, f"curve {c.name!r}")
    if uses_pfn:

        def beyond_the_runs(pfn) -> None:
            inside = [i for i, xs in enumerate(asked) if xs[0] <= tops[i]]
            if inside and not pfn.interpolation:
                i = inside[0]
                others = (  # a review: a sweep's curves end at different x
                    f" (above {max(tops):g}, or as multiples of each curve's largest run, "
                    "e.g. --to 10x), or ask the others alone with --curve NAME"
                    if len(inside) < len(curves)
                    else ""
                )
                raise ValueError(
                    f"--to {asked_text(asked[i][0], tops[i], args.to)} is not beyond the "
                    f"largest x of curve {curves[i].name!r} ({tops[i]:g}); the PFN "
                    f"extrapolates only: ask beyond every curve's runs{others}, or use "
                    "--method mcmc-m4 for x inside them"
                )

        if args.model is not None:
            ratios = [xs[-1] / top for xs, top in zip(asked, tops, strict=True)]
            pfns, note = load_pfns_for(args.model, ratios, beyond_the_runs)
        else:  # the shipped answer, each x by its distance
            from ..pfn import PFN

            beyond_the_runs(PFN.load_for(1.0))
            pfns, note = SHIPPED, _shipped_note(curves, asked, args.method)
    if args.method == "pfn":
        preds = _pfn_answers(pfns, curves, asked)
    else:
        from .._checks import matches_runs

        mcmc = args.method.removeprefix("pfn+")
        for c, xs in zip(curves, asked, strict=True):  # (a review: the answer echoed the run)
            ran = matches_runs(xs, c.x)
            if ran.any():
                i, j = np.argwhere(ran)[0]
                raise ValueError(
                    f"--to {asked_text(xs[i], float(np.max(c.x)), args.to)} is a run of curve "
                    f"{c.name!r} (its loss there is "
                    f"{c.y[j]:.4g}): NUTS reads the misfit as a path in x that passes through "
                    "every run, so it would answer that loss with no width; ask x between or "
                    "beyond the runs"
                )
        below = [i for i, c in enumerate(curves) if asked[i][0] < float(np.min(c.x))]
        if below:  # as `fit --predict` says it: usually a units mistake
            k = below[0]
            c, low = curves[k], asked[k][0]
            more = f" (and {len(below) - 1} more curves)" if len(below) > 1 else ""
            # a multiple of the largest run is in the runs' units: no units mistake to ask about
            units = (
                ""
                if from_multiple(low, tops[k], args.to)
                else " (are --to and the runs in the same units?)"
            )
            warnings.warn(
                f"curve {c.name!r}{more}: --to {asked_text(low, tops[k], args.to)} lies below its "
                f"smallest run ({float(np.min(c.x)):g}); the model extrapolates backwards, where "
                f"its form was not tested{units}",
                UserWarning,
                stacklevel=2,
            )
        if not uses_pfn:  # (the PFN's answer says it in its own warning)
            from .._warnings import units_hint

            ratios = [xs[-1] / top for xs, top in zip(asked, tops, strict=True)]
            k = int(np.argmax(ratios))
            hint = "" if from_multiple(asked[k][-1], tops[k], args.to) else units_hint(ratios[k])
            if hint:
                warnings.warn(
                    f"curve {curves[k].name!r}, --to {asked[k][-1]:g}: {hint}",
                    UserWarning,
                    stacklevel=2,
                )
        preds = mcmc_fans(curves, mcmc, args.seed, asked, args.plot, pfn=pfns if uses_pfn else None)
    if uses_pfn and note:
        print(note, file=sys.stderr)
    shipped = args.method == "pfn" and pfns is SHIPPED
    grids = _far_grids(curves, asked) if shipped else [None] * len(curves)
    for curve, xs, pred, grid in zip(curves, asked, preds, grids, strict=True):
        notes = _far_roughness(curve, xs, pred, grid) if shipped else []
        notes += _above_every_run(curve, xs, pred, args.method)
        notes += _implausible(curve, xs, pred, args.method)
        for text in notes:
            print(f"note: curve {curve.name!r}: {text}", file=sys.stderr)
    width = max(20, *(len(c.name) for c in curves))  # whole names: rows a script can tell apart
    x_label = curves[0].axis_labels[0]  # the CSV's x column, as on the fan chart's axis
    x_width = max(12, len(x_label), *(len(x_text(x)) for xs in asked for x in xs))
    # the last column, reach: how far beyond the curve's largest run each x lies (10x), what
    # a sweep asked --to 10x reads back, and what the answer's trust depends on
    header = (
        f"{'curve':<{width}} {x_label:>{x_width}} "
        + " ".join(f"{f'q{int(q * 100):02d}':>10}" for q in _QUANTILES)
        + f" {'reach':>8}"
    )
    print(header)
    for curve, xs, pred, top in zip(curves, asked, preds, tops, strict=True):
        qs = pred.quantile(list(_QUANTILES)).T  # one row per x
        for x, row in zip(xs, qs, strict=True):
            cells = " ".join(f"{significant(v, 4):>10}" for v in row)
            print(f"{curve.name:<{width}} {x_text(x):>{x_width}} {cells} {_times(x / top):>8}")
    if args.plot is not None and args.method == "pfn":
        from ..pfn import ReachWarning, SpanWarning, plot_fan

        # the table above has said what its x need; the fan's own x (between the runs and the
        # x asked) would repeat it, or speak of x nobody asked
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReachWarning)
            warnings.simplefilter("ignore", SpanWarning)
            plot_fan(None if pfns is SHIPPED else pfns, curves, asked, args.plot)
    if args.plot is not None:
        print(f"wrote {args.plot}")
        from ..evaluate import MAX_PANELS

        if len(curves) > MAX_PANELS:
            print(
                f"note: the plot shows the first {MAX_PANELS} of the {len(curves)} curves; draw "
                "another with --curve NAME",
                file=sys.stderr,
            )
    return 0
