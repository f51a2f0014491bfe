"""Offline data for the NTK studies: scikit-learn's digits, a calorimeter toy, ``.npz`` files.

Every loader returns a [`Dataset`][scalebayes.ntk.Dataset]: inputs ``x`` of shape
``(n, d)`` standardised per feature, and targets ``y`` of shape ``(n, k)`` (one-hot for
classification, standardised for regression), ready for the MSE studies.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import MissingDependencyError, is_integer

__all__ = [
    "DATASETS",
    "Dataset",
    "calorimeter_showers",
    "load_dataset",
    "load_digits",
    "load_npz",
]

DATASETS = ("digits", "calorimeter")
"""Names accepted by [`load_dataset`][scalebayes.ntk.load_dataset]."""


@dataclass(frozen=True)
class Dataset:
    """Inputs and targets of one task.

    Attributes:
        name: a label for tables and plots.
        task: ``"classification"`` (one-hot ``y``) or ``"regression"``.
        x: inputs, ``(n, d)`` float64, standardised per feature.
        y: targets, ``(n, k)`` float64.
        target_scale: for regression, the standard deviation that standardised ``y`` (multiply
            a loss by its square for original units); 1 for classification.
    """

    name: str
    task: str
    x: np.ndarray
    y: np.ndarray
    target_scale: float = 1.0

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.x.ndim != 2 or self.y.ndim != 2 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"x must be (n, d) and y (n, k) with the same n, got {self.x.shape} and "
                f"{self.y.shape}"
            )
        for name in ("x", "y"):  # a NaN would come back as a NaN loss, or read as divergence
            values = getattr(self, name)
            if not np.all(np.isfinite(values)):
                row = int(np.argwhere(~np.isfinite(values))[0][0])
                raise ValueError(
                    f"{self.name}: {name} holds a non-finite value (first in row {row}); "
                    "drop or fix that row"
                )

    def __len__(self) -> int:
        return self.x.shape[0]

    def split(self, n_test: int, *, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A random train pool / test split with ``n_test`` test points.

        Args:
            n_test: number of test points (``1 <= n_test < len(self)``).
            seed: seed of the permutation (NumPy ``default_rng``).

        Returns:
            ``(pool, test)``; the pool is in random order, so its first ``N`` points are a
            uniform random training set of size ``N``.
        """
        n = len(self)
        if not (is_integer(n_test) and 1 <= n_test < n):
            raise ValueError(f"n_test must be an integer in [1, {n - 1}], got {n_test!r}")
        order = np.random.default_rng(seed).permutation(n)
        test, pool = order[:n_test], order[n_test:]
        return self._take(pool, "pool"), self._take(test, "test")

    def _take(self, index: np.ndarray, part: str) -> Dataset:
        return Dataset(
            f"{self.name} ({part})", self.task, self.x[index], self.y[index], self.target_scale
        )


def _standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per feature; constant features become 0. Values beyond 1e154
    (whose squares overflow) are divided by their feature's largest magnitude first, so they
    standardise as any others (other inputs as they always have, to the bit)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        std = x.std(axis=0)
    if not np.all(np.isfinite(std)):
        x = _by_peak(x)[0]
        std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _by_peak(x: np.ndarray, axis=0) -> tuple[np.ndarray, np.ndarray]:
    """``x`` divided by its largest magnitude along ``axis`` (1 where that is 0), and that
    divisor."""
    peak = np.max(np.abs(x), axis=axis)
    peak = np.where(peak > 0, peak, 1.0)
    return x / peak, peak


_MAX_CLASSES = 1000
"""The most classes a classification dataset may have (one output column each)."""


def _one_hot(labels: np.ndarray, source: str) -> np.ndarray:
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.number) or np.iscomplexobj(labels):
        raise ValueError(f"{source}: class labels must be integers, got {labels.dtype}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(f"{source}: class labels must be integers, got {labels.dtype}")
        labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise ValueError(f"{source}: class labels must be >= 0, got {labels.min()}")
    classes, index = np.unique(labels, return_inverse=True)  # labels need not be 0..k-1
    k = classes.size
    if k < 2:
        raise ValueError(f"{source}: classification needs at least 2 classes, got {k}")
    if k > _MAX_CLASSES:
        raise ValueError(
            f"{source}: {k} distinct class labels; classification one-hot encodes them (one "
            f"output per class, at most {_MAX_CLASSES}): for numeric targets use the "
            "regression task"
        )
    return np.eye(k)[index.reshape(labels.shape)]


def load_digits() -> Dataset:
    """scikit-learn's shipped handwritten digits: 1,797 8x8 images, 10 classes (offline).

    Returns:
        ``x`` of shape ``(1797, 64)`` (pixels standardised per feature), one-hot ``y`` of
        shape ``(1797, 10)``.
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as error:
        raise MissingDependencyError(
            "load_digits needs scikit-learn; pip install 'scalebayes[ntk]'"
        ) from error
    data = sk_load_digits()
    return Dataset("digits", "classification", _standardise(data.data), _one_hot(data.target, ""))


def calorimeter_showers(
    n: int,
    *,
    seed: int = 0,
    n_layers: int = 24,
    layer_x0: float = 1.0,
    energy_range: tuple[float, float] = (1.0, 100.0),
    critical_energy: float = 0.0107,
    stochastic: float = 0.10,
    noise: float = 0.02,
    shape_jitter: float = 0.1,
    standardise: bool = True,
) -> Dataset:
    """A toy electromagnetic calorimeter: longitudinal shower deposits, energy as target.

    An electron of energy ``E0`` (GeV, log-uniform in ``energy_range``) showers in a
    sampling calorimeter of ``n_layers`` layers of ``layer_x0`` radiation lengths each. The
    mean longitudinal profile is the Gamma distribution of Longo and Sestili (PDG review
    "Passage of particles through matter", eq. 34.36)

        dE/dt = E0 b (b t)^(a - 1) exp(-b t) / Gamma(a),   t_max = (a - 1) / b
              = ln(E0 / E_c) - 0.5,

    with ``b = 0.5`` and ``E_c`` the critical energy (10.7 MeV, lead glass-like). Each shower
    fluctuates: its start depth is exponential with mean ``9/7`` radiation lengths (the pair
    conversion length), ``t_max`` and ``b`` jitter by ``shape_jitter`` (10 %), the visible
    energy fluctuates by the sampling term ``stochastic / sqrt(E0)``, each layer's deposit by
    ``stochastic * sqrt(deposit)`` (photo-statistics) and by electronic noise ``noise`` GeV.
    Energy leaking out of the back is lost, as in a real calorimeter.

    Args:
        n: number of showers.
        seed: NumPy ``default_rng`` seed (same seed, same data).
        n_layers: number of longitudinal layers.
        layer_x0: layer thickness in radiation lengths.
        energy_range: ``(min, max)`` beam energy in GeV.
        critical_energy: ``E_c`` in GeV.
        stochastic: sampling term in sqrt(GeV).
        noise: electronic noise per layer in GeV.
        shape_jitter: relative spread of ``t_max`` and ``b`` from shower to shower.
        standardise: standardise each layer's deposits (``False``: raw GeV).

    Returns:
        ``x``: the ``n_layers`` deposits (standardised per layer), ``(n, n_layers)``;
        ``y``: standardised ``E0``, ``(n, 1)``, with ``target_scale`` its GeV standard deviation.
    """
    from scipy.special import gammainc

    if not (isinstance(n, int) and n >= 2):
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    lo, hi = energy_range
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"energy_range must be (min, max) with 0 < min < max, got {energy_range}")
    if lo <= critical_energy:
        raise ValueError(f"energies must exceed the critical energy {critical_energy} GeV")
    rng = np.random.default_rng(seed)
    e0 = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    t_max = (np.log(e0 / critical_energy) - 0.5) * rng.normal(1.0, shape_jitter, n)
    b = 0.5 * rng.normal(1.0, shape_jitter, n)
    a = np.maximum(1.0 + b * np.maximum(t_max, 0.1), 1.01)
    start = rng.exponential(9.0 / 7.0, n)
    edges = np.arange(n_layers + 1) * layer_x0  # layer boundaries in X0
    depth = np.clip(edges[None, :] - start[:, None], 0.0, None)
    cdf = gammainc(a[:, None], b[:, None] * depth)  # fraction deposited before each edge
    visible = e0 * np.clip(rng.normal(1.0, stochastic / np.sqrt(e0)), 0.0, None)
    deposits = visible[:, None] * np.diff(cdf, axis=1)
    deposits = deposits + stochastic * np.sqrt(deposits) * rng.standard_normal(deposits.shape)
    deposits = deposits + noise * rng.standard_normal(deposits.shape)
    scale = float(e0.std())
    y = ((e0 - e0.mean()) / scale)[:, None]
    x = _standardise(deposits) if standardise else deposits
    return Dataset("calorimeter", "regression", x, y, scale)


def load_npz(
    path: str | Path,
    *,
    task: str,
    x_key: str = "x",
    y_key: str = "y",
    name: str | None = None,
    sha256: str | None = None,
) -> Dataset:
    """Arrays from a local ``.npz`` file (MNIST, CIFAR, calorimeter showers, ...), validated.

    The file is read with ``allow_pickle=False`` (a pickle can run code). Inputs of any
    trailing shape (``(n, 28, 28)`` MNIST, ``(n, 32, 32, 3)`` CIFAR, ``(n, layers)``
    deposits) are flattened to ``(n, d)`` and standardised per feature.

    Args:
        path: the ``.npz`` file.
        task: ``"classification"`` (``y`` integer labels ``(n,)``, one class per distinct
            label present, in sorted order, at most 1,000; or one-hot ``(n, k)``, whose ``k``
            columns are kept) or ``"regression"`` (``y`` of shape ``(n,)`` or ``(n, k)``,
            standardised).
        x_key: the name of the input array in the file.
        y_key: the name of the target array in the file.
        name: a label (default: the file name).
        sha256: if given, the file's SHA-256 hex digest must match.

    Returns:
        The [`Dataset`][scalebayes.ntk.Dataset].

    Raises:
        ValueError: for a missing key, mismatched lengths, non-finite values, bad labels or a
            wrong checksum, naming the file.
        OSError: if the file cannot be read (``FileNotFoundError`` if it is not there).
    """
    path = Path(path)
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    if not path.is_file():  # not "not a .npz" for a file that is not there
        raise FileNotFoundError(f"{path}: no such file")
    if sha256 is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256.lower():
            raise ValueError(f"{path}: SHA-256 is {digest}, expected {sha256}")
    if not zipfile.is_zipfile(path):  # np.load would read it as a pickle and talk of pickles
        raise ValueError(f"{path}: not a .npz file (an .npz is a zip archive of .npy arrays)")
    damaged = (zipfile.BadZipFile, zlib.error, EOFError)  # a cut or corrupted archive
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as error:  # object arrays need pickle
        raise ValueError(f"{path}: not a pickle-free .npz file ({error})") from error
    except damaged as error:
        raise ValueError(f"{path}: a damaged .npz archive ({error}); write it again") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a .npz file (an .npz is a zip archive of .npy arrays)")
    with archive:
        for key in (x_key, y_key):
            if key not in archive.files:
                raise ValueError(f"{path}: no array {key!r}; the file holds {archive.files}")
        try:
            x, y = archive[x_key], archive[y_key]
        except ValueError as error:  # object arrays need pickle, or a member is not an array
            raise ValueError(f"{path}: not a pickle-free .npz file ({error})") from error
        except damaged as error:
            raise ValueError(f"{path}: a damaged .npz archive ({error}); write it again") from None
    for key, value in ((x_key, x), (y_key, y)):
        if not isinstance(value, np.ndarray):  # a member that is not a .npy array
            raise ValueError(f"{path}: {key!r} is not a .npy array; write the file with np.savez")
    if x.ndim < 2 or 0 in x.shape[1:]:
        raise ValueError(f"{path}: {x_key!r} must have shape (n, ...) with features, got {x.shape}")
    n = x.shape[0]
    if y.shape[:1] != (n,) or y.ndim > 2:
        raise ValueError(f"{path}: {y_key!r} must have shape ({n},) or ({n}, k), got {y.shape}")
    if n < 2:
        raise ValueError(f"{path}: need at least 2 examples, got {n}")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: {x_key!r} must be finite numbers")
    flat = x.reshape(n, -1)
    if np.all(flat == flat[0]):
        raise ValueError(f"{path}: every example's {x_key!r} is the same; nothing to learn from")
    x = _standardise(flat)
    if task == "classification":
        if y.ndim == 2:  # one-hot already: its k columns kept, a class with no example too
            if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
                raise ValueError(f"{path}: 2-D {y_key!r} for classification must be one-hot")
            if y.shape[1] < 2:
                raise ValueError(f"{path}: classification needs at least 2 classes")
            return Dataset(name or path.stem, task, x, y.astype(np.float64))
        one_hot = _one_hot(y, str(path))
        return Dataset(name or path.stem, task, x, one_hot)
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)):
        raise ValueError(f"{path}: {y_key!r} must be finite numbers")
    y = np.asarray(y, dtype=np.float64).reshape(n, -1)
    with np.errstate(over="ignore"):
        scale = float(y.std())
    if not math.isfinite(scale):  # beyond 1e154 y**2 overflows: the std of y / max |y|
        y_unit, peak = _by_peak(y, axis=None)
        scale = float(y_unit.std()) * float(peak)
    if scale == 0:
        raise ValueError(f"{path}: {y_key!r} is constant; nothing to regress")
    return Dataset(name or path.stem, task, x, (y - y.mean(axis=0)) / scale, scale)


def load_dataset(name: str, *, n: int = 4000, seed: int = 0) -> Dataset:
    """A built-in dataset by name: ``"digits"`` or ``"calorimeter"`` (``n`` showers)."""
    if name == "digits":
        return load_digits()
    if name == "calorimeter":
        return calorimeter_showers(n, seed=seed)
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS} or give an .npz path")
