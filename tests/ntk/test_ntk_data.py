"""Offline datasets and the validated .npz loader."""

import numpy as np
import pytest

from scalebayes.ntk import Dataset, calorimeter_showers, load_dataset, load_digits, load_npz


def test_digits():
    d = load_digits()
    assert d.x.shape == (1797, 64) and d.y.shape == (1797, 10)
    assert d.task == "classification"
    np.testing.assert_array_equal(d.y.sum(axis=1), 1)
    np.testing.assert_allclose(d.x.mean(axis=0), 0, atol=1e-12)
    pool, test = d.split(500, seed=0)
    assert len(pool) == 1297 and len(test) == 500
    rows = {r.tobytes() for r in d.x}
    assert len(rows) > 1700  # a permutation, not a resample


def test_calorimeter_is_deterministic_and_physical():
    a, b = calorimeter_showers(2000, seed=3), calorimeter_showers(2000, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, calorimeter_showers(2000, seed=4).x)
    assert a.x.shape == (2000, 24) and a.y.shape == (2000, 1) and a.task == "regression"
    raw = calorimeter_showers(4000, seed=0, standardise=False)
    energy = raw.y[:, 0]  # standardised E0: same order as E0
    low, high = energy < np.quantile(energy, 0.2), energy > np.quantile(energy, 0.8)
    # deposits grow with energy, the shower maximum moves deeper (t_max ~ ln E0), and the
    # fraction leaking out of the back (not deposited) grows
    assert raw.x[high].sum(axis=1).mean() > 10 * raw.x[low].sum(axis=1).mean()
    depth = np.arange(24) + 0.5
    mean_depth = (raw.x * depth).sum(axis=1) / raw.x.sum(axis=1)
    assert mean_depth[high].mean() > mean_depth[low].mean() + 1.0


def test_calorimeter_mean_profile_is_the_gamma_shower_after_an_exponential_start():
    from scipy import integrate
    from scipy.special import gammainc

    e0, n = 20.0, 20_000
    d = calorimeter_showers(
        n,
        seed=1,
        energy_range=(e0, e0 * (1 + 1e-12)),
        stochastic=0.0,
        noise=0.0,
        shape_jitter=0.0,
        standardise=False,
    )
    b = 0.5
    a = 1 + b * (np.log(e0 / 0.0107) - 0.5)
    edges = np.arange(25.0)

    def layer_fraction(start, i):
        cdf = gammainc(a, b * np.clip(edges[i : i + 2] - start, 0, None))
        return (cdf[1] - cdf[0]) * np.exp(-start * 7 / 9) * 7 / 9

    expected = np.array(
        [integrate.quad(layer_fraction, 0, 40, args=(i,), limit=200)[0] for i in range(24)]
    )
    mc, se = d.x.mean(axis=0) / e0, d.x.std(axis=0) / e0 / np.sqrt(n)
    assert np.all(np.abs(mc - expected) < 5 * se + 1e-9), (mc, expected)
    assert expected.sum() < 1  # some energy leaks out of the back


def test_a_missing_npz_is_named_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_npz(tmp_path / "nowhere.npz", task="regression")


def test_npz_loader(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 50)
    labels[:10] = np.arange(10)
    path = tmp_path / "mnist.npz"
    np.savez(path, x=images, y=labels)
    d = load_npz(path, task="classification")
    assert d.x.shape == (50, 784) and d.y.shape == (50, 10) and d.name == "mnist"
    np.testing.assert_array_equal(d.y.argmax(axis=1), labels)

    showers = tmp_path / "calo.npz"
    np.savez(showers, deposits=rng.random((30, 12)), energy=rng.random(30) * 100)
    r = load_npz(showers, task="regression", x_key="deposits", y_key="energy")
    assert r.y.shape == (30, 1) and r.target_scale > 0
    np.testing.assert_allclose(r.y.std(), 1.0)

    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_npz(path, task="classification", sha256=digest).x.shape == (50, 784)
    with pytest.raises(ValueError, match="SHA-256"):
        load_npz(path, task="classification", sha256="0" * 64)


def test_class_labels_need_not_run_from_0(tmp_path):
    # a review: labels 0 and 1e9 one-hot encoded as 1e9 + 1 columns (an allocation of 7 EiB)
    path = tmp_path / "labels.npz"
    labels = np.array([10**9, 0, 7, 10**9, 0, 7])
    np.savez(path, x=np.arange(18.0).reshape(6, 3) ** 2, y=labels)
    d = load_npz(path, task="classification")
    np.testing.assert_array_equal(d.y.argmax(axis=1), [2, 0, 1, 2, 0, 1])
    assert d.y.shape == (6, 3)
    one_hot = np.eye(4)[[0, 1, 3, 0, 1, 3]]  # a one-hot file keeps its k, an unused class too
    np.savez(path, x=np.arange(18.0).reshape(6, 3) ** 2, y=one_hot)
    np.testing.assert_array_equal(load_npz(path, task="classification").y, one_hot)


X5 = np.arange(15.0).reshape(5, 3)  # five examples that differ


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": X5}, "no array 'y'"),
        ({"x": X5, "y": np.arange(4)}, r"shape \(5,\)"),
        ({"x": np.ones(5), "y": np.arange(5)}, "features"),
        ({"x": np.full((5, 3), np.nan), "y": np.arange(5)}, "finite"),
        ({"x": X5, "y": np.array([0, 1, -1, 0, 1])}, ">= 0"),
        ({"x": X5, "y": np.array([0.5, 1, 1, 0, 1])}, "integers"),
        ({"x": X5, "y": np.zeros(5, int)}, "at least 2 classes"),
        ({"x": X5, "y": np.array(["a"] * 5, dtype=object)}, "pickle-free"),
        ({"x": X5, "y": np.array(["a", "b", "a", "b", "a"])}, "integers"),
        ({"x": np.ones((5, 0)), "y": np.arange(5) % 2}, "features"),
        ({"x": np.ones((5, 3)), "y": np.arange(5) % 2}, "every example's 'x' is the same"),
        ({"x": np.eye(1001), "y": np.arange(1001)}, "1001 distinct class labels"),
    ],
)
def test_npz_loader_rejects_bad_files(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        load_npz(path, task="classification")


def test_a_file_that_is_not_an_npz_is_named_so(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"not a \.npz file"):  # not "pickled data"
        load_npz(path, task="regression")


def test_a_damaged_npz_is_one_error(tmp_path):
    """A review: members that are not .npy arrays, or a flipped byte, raised AttributeError
    and BadZipFile (tracebacks at the command line)."""
    import zipfile

    junk = tmp_path / "junk.npz"
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("x.npy", "garbage")
        archive.writestr("y.npy", "garbage")
    with pytest.raises(ValueError, match=r"'x' is not a \.npy array"):
        load_npz(junk, task="regression")
    good = tmp_path / "good.npz"
    x = np.random.default_rng(0).random((300, 5))
    np.savez(good, x=x, y=x[:, 0])
    data = bytearray(good.read_bytes())
    data[data.find(b"\x93NUMPY") + 400] ^= 0x55
    (tmp_path / "crc.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"a damaged \.npz archive"):
        load_npz(tmp_path / "crc.npz", task="regression")


def test_values_beyond_1e154_standardise_as_any_others(tmp_path):
    # a review: their squares overflowed, every standardised x became 0, and a study ran on it
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = np.sin(x.sum(axis=1))
    np.savez(tmp_path / "plain.npz", x=x, y=y)
    np.savez(tmp_path / "huge.npz", x=x * 1e200, y=y * 1e200)
    plain = load_npz(tmp_path / "plain.npz", task="regression")
    huge = load_npz(tmp_path / "huge.npz", task="regression")
    np.testing.assert_allclose(huge.x, plain.x, atol=1e-12)
    np.testing.assert_allclose(huge.y, plain.y, atol=1e-12)


def test_dataset_validation():
    with pytest.raises(ValueError, match="task"):
        Dataset("d", "ranking", np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="same n"):
        Dataset("d", "regression", np.ones((3, 2)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="n_test"):
        load_digits().split(1797)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("mnist")


def test_non_finite_values_are_refused_and_numpy_counts_accepted():
    """A review: a NaN target came back as NaN losses (or as "training diverged")."""
    x = np.random.default_rng(0).standard_normal((20, 3))
    y = x[:, :1].copy()
    y[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"toy: y holds a non-finite value \(first in row 7\)"):
        Dataset("toy", "regression", x, y)
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"toy: x holds a non-finite value \(first in row 3\)"):
        Dataset("toy", "regression", x, np.zeros((20, 1)))
    x[3, 1] = 0.0
    pool, test = Dataset("toy", "regression", x, np.zeros((20, 1))).split(np.int64(5))
    assert len(test) == 5 and len(pool) == 15
