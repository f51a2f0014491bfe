"""A synthetic teacher-student experiment: the empirical compute-optimal exponent.

Following Jeon & Van Roy's data-generating process, a **teacher** two-layer network with a
very wide ReLU hidden layer (the stand-in for infinite width) maps ``x ~ N(0, I_d)`` to the
logits of ``K`` classes; labels are drawn from its softmax (``K = 2`` is their sigmoidal
binary output). **Students** of the same shape and width ``n`` are trained on ``T`` labelled
samples, and their excess test loss

    E_x[ KL(p_teacher(. | x) || p_student(. | x)) ]
      = (student test cross-entropy) - (teacher's Bayes loss, its conditional entropy)

is measured on a fresh test sample with the teacher's probabilities (no label noise in the
metric; it is >= 0 by construction). The protocol
([`TeacherConfig`][scalebayes.compute.TeacherConfig]):

- teacher: ``W1 ~ N(0, 1/d)``, ``b1 ~ N(0, 1)``, output weights ``N(0, s^2 / width)`` (``s`` the
  ``logit_scale``), no output bias;
- students: PyTorch-style initialisation (``W1 ~ N(0, 1/d)``, ``W2 ~ N(0, 1/n)``, zero biases),
  full-batch Adam for ``steps`` steps on the mean cross-entropy;
- early stopping: every ``eval_every`` steps the cross-entropy on an independent labelled
  validation sample (``n_val`` points, not counted in ``T``) is recorded, and the excess loss
  reported is the one at the step with the lowest validation loss;
- each seed draws its own teacher labels and training data; the training sets of one seed are
  nested (the first ``T`` of the largest), which lowers the noise across ``T``.

All widths and seeds train at once: a width-``n`` student is a ``max(widths)``-wide network
with the extra hidden units masked to zero (their gradients, and so their Adam updates, are
exactly zero), ``vmap``-ed over (width, seed); one compiled call per sample size.

The excess losses are fitted with the joint law ``E + A p^-alpha + B T^-beta`` (``p`` the
student's parameter count) by [`fit_joint_law`][scalebayes.compute.fit_joint_law]; under
``C = p T`` its compute-optimal exponent is ``a = beta / (alpha + beta)``, with a posterior
interval, reported beside the bound's exponent and the paper's claim of 1/2
([`compare_exponents`][scalebayes.compute.compare_exponents]).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array

from ._allocation import allocation_exponent
from ._bounds import TwoLayerBound
from ._posterior import JointLawPosterior
from ._runs import Runs, validate_runs

PAPER_EXPONENT = 0.5
"""Jeon & Van Roy's claim: ``p* = Θ~(sqrt(C))``."""


def _positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class TeacherConfig(eqx.Module):
    """Settings of the teacher-student experiment (defaults: about a minute on 2 CPU cores).

    Attributes:
        input_dim: input dimension ``d``.
        n_classes: number of classes ``K`` (>= 2; 2 is a sigmoid output).
        teacher_width: hidden width of the teacher (the infinite-width stand-in).
        logit_scale: scale ``s`` of the teacher's logits.
        widths: student hidden widths ``n`` (at least 3 distinct).
        sample_sizes: training-set sizes ``T`` (at least 3 distinct).
        n_seeds: repetitions (teacher labels, data and student initialisation vary).
        n_val: validation points for early stopping (not counted in ``T``).
        n_test: test points for the excess loss.
        steps: full-batch Adam steps.
        eval_every: steps between validation checks.
        learning_rate: Adam's learning rate.
    """

    input_dim: int = 8
    n_classes: int = 2
    teacher_width: int = 4096
    logit_scale: float = 4.0
    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    sample_sizes: tuple[int, ...] = (128, 256, 512, 1024, 2048, 4096)
    n_seeds: int = 3
    n_val: int = 2048
    n_test: int = 4096
    steps: int = 1000
    eval_every: int = 5
    learning_rate: float = 1e-2

    def __post_init__(self):
        for name in (
            "input_dim",
            "teacher_width",
            "n_seeds",
            "n_val",
            "n_test",
            "steps",
            "eval_every",
        ):
            _positive_int(name, getattr(self, name))
        _positive_int("n_classes", self.n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        for name in ("widths", "sample_sizes"):
            values = tuple(getattr(self, name))
            for v in values:
                _positive_int(f"every entry of {name}", v)
            values = tuple(int(v) for v in values)
            setattr(self, name, values)  # hashable: the config is a static argument of jit
            if len(set(values)) < 3:
                raise ValueError(f"{name} needs at least 3 distinct values, got {values}")
        if self.steps % self.eval_every:
            raise ValueError(
                f"steps ({self.steps}) must be a multiple of eval_every ({self.eval_every})"
            )
        for name in ("logit_scale", "learning_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value!r}")

    def n_params(self, width: int) -> int:
        """The student's parameter count ``p = n (d + 1) + K (n + 1)`` (weights and biases)."""
        return width * (self.input_dim + 1) + self.n_classes * (width + 1)


@dataclass(frozen=True)
class TeacherResult:
    """Excess test losses of the students over the ``(T, n)`` grid.

    Attributes:
        config: the settings.
        excess: excess loss at the early-stopping step, shape ``(n_sizes, n_widths, n_seeds)``.
        final_excess: excess loss after the last step (no early stopping), same shape.
        best_step: the early-stopping step, same shape.
        bayes_loss: the teacher's Bayes loss (conditional entropy, nats) on the test sample,
            per seed.
    """

    config: TeacherConfig
    excess: np.ndarray
    final_excess: np.ndarray
    best_step: np.ndarray
    bayes_loss: np.ndarray

    @property
    def n_params(self) -> np.ndarray:
        """The students' parameter counts, one per width."""
        return np.array([self.config.n_params(n) for n in self.config.widths], dtype=np.float64)

    def runs(self) -> Runs:
        """Every (seed, width, sample size) as a run ``(N = p, D = T, loss = excess)``, with
        compute ``C = p T`` (``flops_per_param_token`` 1, the bounds' convention)."""
        sizes = np.asarray(self.config.sample_sizes, dtype=np.float64)
        T, P, _ = np.meshgrid(sizes, self.n_params, np.arange(self.config.n_seeds), indexing="ij")
        return validate_runs(
            P.reshape(-1),
            T.reshape(-1),
            self.excess.reshape(-1),
            source="teacher-student experiment",
            flops_per_param_token=1.0,
        )

    def table(self) -> str:
        """Mean excess loss over seeds: rows ``T``, columns width (and ``p``)."""
        mean = self.excess.mean(axis=2)
        head = "T \\ n (p)".ljust(10) + "".join(
            f"{f'{n} ({p:.0f})':>13}"
            for n, p in zip(self.config.widths, self.n_params, strict=True)
        )
        lines = [head]
        for i, t in enumerate(self.config.sample_sizes):
            lines.append(f"{t:<10}" + "".join(f"{v:13.4g}" for v in mean[i]))
        return "\n".join(lines)


def _teacher(key: Array, cfg: TeacherConfig) -> dict[str, Array]:
    w, d, k = cfg.teacher_width, cfg.input_dim, cfg.n_classes
    z = jax.random.normal(key, (w, d + 1 + k))  # one draw: compiling random ops is slow
    return {
        "W1": z[:, :d] / math.sqrt(d),
        "b1": z[:, d],
        "W2": z[:, d + 1 :] * cfg.logit_scale / math.sqrt(w),
    }


def _teacher_logits(teacher: dict[str, Array], x: Array) -> Array:
    return jax.nn.relu(x @ teacher["W1"].T + teacher["b1"]) @ teacher["W2"]


def _student_init(z: Array, width: Array, cfg: TeacherConfig) -> dict[str, Array]:
    """A student from standard normals ``z`` of shape ``(n_max, d + K)`` (extra units masked)."""
    d, k = cfg.input_dim, cfg.n_classes
    n_max = z.shape[0]
    return {
        "W1": z[:, :d] / math.sqrt(d),
        "b1": jnp.zeros((n_max,)),
        "W2": z[:, d:] / jnp.sqrt(width),
        "b2": jnp.zeros((k,)),
    }


def _student_logits(params: dict[str, Array], mask: Array, x: Array) -> Array:
    hidden = jax.nn.relu(x @ params["W1"].T + params["b1"]) * mask
    return hidden @ params["W2"] + params["b2"]


def _cross_entropy(logits: Array, labels: Array) -> Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def _excess(logits: Array, teacher_logp: Array) -> Array:
    """Mean KL(teacher || student) over the test points."""
    student_logp = jax.nn.log_softmax(logits)
    return jnp.mean(jnp.sum(jnp.exp(teacher_logp) * (teacher_logp - student_logp), axis=-1))


def _train(params, mask, x, y, x_val, y_val, x_test, teacher_logp, *, cfg: TeacherConfig):
    """Train one student; return (excess at best validation step, final excess, best step)."""
    optimiser = optax.adam(cfg.learning_rate)

    def loss(p):
        return _cross_entropy(_student_logits(p, mask, x), y)

    def step(_, carry):
        p, state = carry
        grads = jax.grad(loss)(p)
        updates, state = optimiser.update(grads, state, p)
        return optax.apply_updates(p, updates), state

    def chunk(carry, index):
        p, state, best_val, best_excess, best_step = carry
        p, state = jax.lax.fori_loop(0, cfg.eval_every, step, (p, state))
        val = _cross_entropy(_student_logits(p, mask, x_val), y_val)
        excess = _excess(_student_logits(p, mask, x_test), teacher_logp)
        better = val < best_val
        carry = (
            p,
            state,
            jnp.where(better, val, best_val),
            jnp.where(better, excess, best_excess),
            jnp.where(better, (index + 1) * cfg.eval_every, best_step),
        )
        return carry, None

    init = (params, optimiser.init(params), jnp.inf, jnp.nan, 0)
    n_chunks = cfg.steps // cfg.eval_every
    (p, _, _, best_excess, best_step), _ = jax.lax.scan(chunk, init, jnp.arange(n_chunks))
    final = _excess(_student_logits(p, mask, x_test), teacher_logp)
    return best_excess, final, best_step


@functools.partial(jax.jit, static_argnames=("cfg",))
def _setup(key: Array, *, cfg: TeacherConfig):
    """Teacher, data and initial students; arrays with a leading run axis (width-major)."""
    widths = tuple(int(n) for n in cfg.widths)
    n_max, t_max, seeds, d = max(widths), max(cfg.sample_sizes), cfg.n_seeds, cfg.input_dim
    k_teacher, k_x, k_y, k_init = jax.random.split(key, 4)
    teacher = _teacher(k_teacher, cfg)
    # one draw of all inputs and one of all labels per seed (train | validation | test)
    x = jax.random.normal(k_x, (seeds, t_max + cfg.n_val + cfg.n_test, d))
    logits = _teacher_logits(teacher, x)
    labels = jax.random.categorical(k_y, logits[:, : t_max + cfg.n_val])
    x_train, y_train = x[:, :t_max], labels[:, :t_max]
    x_val, y_val = x[:, t_max : t_max + cfg.n_val], labels[:, t_max:]
    x_test = x[:, t_max + cfg.n_val :]
    teacher_logp = jax.nn.log_softmax(logits[:, t_max + cfg.n_val :])
    bayes = -jnp.mean(jnp.sum(jnp.exp(teacher_logp) * teacher_logp, axis=-1), axis=-1)

    width_of = jnp.repeat(jnp.asarray(widths, dtype=jnp.float32), seeds)
    seed_of = jnp.tile(jnp.arange(seeds), len(widths))
    masks = (jnp.arange(n_max)[None, :] < width_of[:, None]).astype(jnp.float32)
    z = jax.random.normal(k_init, (len(widths) * seeds, n_max, d + cfg.n_classes))
    params = jax.vmap(lambda z, n: _student_init(z, n, cfg))(z, width_of)
    data = tuple(a[seed_of] for a in (x_train, y_train, x_val, y_val, x_test, teacher_logp))
    return params, masks, data, bayes


@functools.partial(jax.jit, static_argnames=("cfg", "size"))
def _train_all(params, masks, data, *, cfg: TeacherConfig, size: int):
    """Train every (width, seed) run on the first ``size`` training points of its seed."""
    x, y, x_val, y_val, x_test, teacher_logp = data
    train = functools.partial(_train, cfg=cfg)
    return jax.vmap(train)(
        params, masks, x[:, :size], y[:, :size], x_val, y_val, x_test, teacher_logp
    )


def run_teacher_experiment(key: Array, config: TeacherConfig | None = None) -> TeacherResult:
    """Train every student of the ``(T, n, seed)`` grid and measure its excess test loss.

    Args:
        key: a JAX PRNG key (teacher, data, labels and initialisations all derive from it).
        config: the settings; ``TeacherConfig()`` by default.

    Returns:
        A [`TeacherResult`][scalebayes.compute.TeacherResult].
    """
    cfg = TeacherConfig() if config is None else config
    if not isinstance(cfg, TeacherConfig):
        raise TypeError(f"config must be a TeacherConfig, got {type(cfg).__name__}")
    params, masks, data, bayes = _setup(key, cfg=cfg)
    n_widths = len(cfg.widths)
    shape = (len(cfg.sample_sizes), n_widths, cfg.n_seeds)
    excess, final, best = (np.zeros(shape) for _ in range(3))
    for i, size in enumerate(cfg.sample_sizes):
        out = _train_all(params, masks, data, cfg=cfg, size=int(size))
        for array, value in zip((excess, final, best), out, strict=True):
            array[i] = np.asarray(value, dtype=np.float64).reshape(n_widths, cfg.n_seeds)
    return TeacherResult(cfg, excess, final, best.astype(int), np.asarray(bayes, np.float64))


@dataclass(frozen=True)
class ExponentComparison:
    """The compute-optimal exponent ``p* ~ C^a``: experiment, bound and paper.

    Attributes:
        empirical_mean: posterior mean of ``a = beta / (alpha + beta)`` of the fitted law.
        empirical_interval: its equal-tailed credible interval.
        level: the interval's mass.
        bound: the exponent implied by [`TwoLayerBound`][scalebayes.compute.TwoLayerBound]
            (same ``d``, ``K``), fitted over the experiment's compute range.
        paper: Jeon & Van Roy's claim (1/2).
        compute_range: the smallest and largest ``C = p T`` of the experiment.
    """

    empirical_mean: float
    empirical_interval: tuple[float, float]
    level: float
    bound: float
    paper: float
    compute_range: tuple[float, float]

    def table(self) -> str:
        """The three exponents as a small table."""
        lo, hi = self.empirical_interval
        pct = f"{100 * self.level:g}%"
        return "\n".join(
            [
                f"{'source':44}  exponent a of p*(C) ~ C^a",
                f"{'experiment (joint-law posterior mean)':44}  {self.empirical_mean:.3f} "
                f"[{pct}: {lo:.3f}, {hi:.3f}]",
                f"{'information-theoretic bound (as implemented)':44}  {self.bound:.3f}",
                f"{'Jeon & Van Roy claim':44}  {self.paper:.3f}",
            ]
        )


def compare_exponents(
    posterior: JointLawPosterior, result: TeacherResult, *, level: float = 0.9
) -> ExponentComparison:
    """Compare the experiment's compute-optimal exponent with the bound's and the paper's.

    Args:
        posterior: a [`JointLawPosterior`][scalebayes.compute.JointLawPosterior] of the
            Chinchilla-form law fitted to ``result.runs()``.
        result: the experiment.
        level: credible mass of the interval.

    Returns:
        An [`ExponentComparison`][scalebayes.compute.ExponentComparison].
    """
    runs = result.runs()
    compute = runs.compute(1.0)
    c_lo, c_hi = float(compute.min()), float(compute.max())
    allocation = posterior.allocation(np.sqrt(c_lo * c_hi), flops_per_param_token=1.0)
    draws = allocation.exponent[:, 0]
    lo, hi = allocation.interval("exponent", level)
    cfg = result.config
    bound = TwoLayerBound(cfg.input_dim, cfg.n_classes)
    fit = allocation_exponent(lambda p, t, _: bound(p, t), np.geomspace(c_lo, c_hi, 9))
    return ExponentComparison(
        float(draws.mean()),
        (float(lo[0]), float(hi[0])),
        level,
        fit.exponent,
        PAPER_EXPONENT,
        (c_lo, c_hi),
    )
