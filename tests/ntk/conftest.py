"""Shared helpers of the NTK tests."""

import numpy as np
import pytest

from scalebayes import precision


@pytest.fixture
def float64():
    """Run the test body in double precision (the infinite-width code's precision)."""
    with precision("float64"):
        yield


def _arccos_relu_kernels(x1, x2, depth, w_std, b_std):
    """Closed-form NNGP and NTK of a ReLU MLP in NTK parameterisation (Cho & Saul 2009;
    Jacot et al. 2018; Arora et al. 2019), in NumPy, independent of neural-tangents.

    K1 = w^2 x.x'/d + b^2, Theta1 = K1; per hidden ReLU layer, with theta = arccos of the
    correlation, K <- w^2 sqrt(K K')(sin th + (pi - th) cos th)/(2 pi) + b^2 and
    Theta <- K + w^2 (pi - th)/(2 pi) Theta.
    """
    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    d = x1.shape[1]
    k12 = w_std**2 * x1 @ x2.T / d + b_std**2
    k11 = w_std**2 * np.sum(x1**2, 1) / d + b_std**2
    k22 = w_std**2 * np.sum(x2**2, 1) / d + b_std**2
    ntk = k12.copy()
    for _ in range(depth):
        norm = np.sqrt(np.outer(k11, k22))
        th = np.arccos(np.clip(k12 / norm, -1, 1))
        k12_new = w_std**2 * norm * (np.sin(th) + (np.pi - th) * np.cos(th)) / (2 * np.pi)
        k12_new += b_std**2
        ntk = k12_new + w_std**2 * (np.pi - th) / (2 * np.pi) * ntk
        k12 = k12_new
        k11 = w_std**2 * k11 / 2 + b_std**2  # theta = 0 on the diagonal
        k22 = w_std**2 * k22 / 2 + b_std**2
    return k12, ntk


@pytest.fixture
def arccos_relu():
    """The closed-form ReLU kernels, ``(x1, x2, depth, W_std, b_std) -> (nngp, ntk)``."""
    return _arccos_relu_kernels
