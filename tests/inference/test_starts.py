"""The point fits' starting points, vectorised in JAX, against a NumPy reference written start
by start from their definitions (M4: a 3 x 3 x 3 grid of plateau, top and alpha; BNSL: a
plateau start times break positions times slope signs, at most ``max_starts`` of them)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scalebayes.inference._parametrise import _BNSL_POSITIONS, _BNSL_SLOPES, get_parametrisation
from scalebayes.inference._point import Stats

X = np.geomspace(1e3, 1e9, 13)
Y = (0.3 + 2.0 * (X / 1e3) ** -0.3) * np.exp(0.02 * np.sin(np.arange(13.0)))
W = np.r_[np.ones(13), np.zeros(3)]  # three padding points, weight 0


def _inputs():
    log_x = np.r_[np.log(X), np.full(3, np.log(X[-1]))]
    log_y = np.r_[np.log(Y), np.full(3, np.log(Y[-1]))]
    u0 = np.sum(W * log_x) / W.sum()
    s = np.sqrt(np.sum(W * (log_x - u0) ** 2) / W.sum())
    v = (log_x - u0) / s
    ly = log_y - np.log(Y).max()
    st = Stats(u0, s, np.log(Y).max(), ly[:13].min(), v[:13].min(), v[:13].max())
    return v, ly, st


def _line(v, z, w):
    vm, zm = np.sum(w * v) / w.sum(), np.sum(w * z) / w.sum()
    k = np.sum(w * (v - vm) * (z - zm)) / np.sum(w * (v - vm) ** 2)
    return zm - k * vm, k


def _m4_reference(v, ly, st):
    y, rows = np.exp(ly), []
    for te, top, alpha in itertools.product((-3.0, 0.0, 3.0), (1.002, 1.05, 1.5), (0.5, 1, 2)):
        e_inf = np.exp(st.log_y_min) / (1 + np.exp(-te))
        span = top - e_inf
        wv = np.clip((y - e_inf) / span, 1e-6, 1 - 1e-6)
        b, k = _line(v, np.log(wv) - alpha * np.log1p(-wv) + (1 - alpha) * np.log(span), W)
        rows.append([te, np.log(span), np.log(alpha), b, np.log(max(-k, 1e-3))])
    return np.array(rows)


def _bnsl_reference(v, ly, st, n, max_starts):
    combos = list(
        itertools.product(
            (-3.0, 0.0, 3.0),
            itertools.combinations(_BNSL_POSITIONS, n),
            itertools.product(_BNSL_SLOPES, repeat=n),
        )
    )
    if len(combos) > max_starts:
        combos = [
            combos[i] for i in np.linspace(0, len(combos) - 1, max_starts).round().astype(int)
        ]
    rows = []
    for te, positions, slopes in combos:
        log_a = st.log_y_min - np.logaddexp(0.0, -te)
        b0, k = _line(v, np.log(np.maximum(np.exp(ly) - np.exp(log_a), 1e-300)), W)
        row = [te, b0, -k]
        for p, slope in zip(positions, slopes, strict=True):
            row += [st.v_min + p * (st.v_max - st.v_min), slope * (abs(k) + 0.1), np.log(0.3)]
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("family, n", [("m4", None), ("bnsl", 1), ("bnsl", 2), ("bnsl", 4)])
def test_starts_match_the_reference_written_start_by_start(family, n):
    v, ly, st = _inputs()
    par = get_parametrisation(family, n)
    with jax.enable_x64(True):
        got = np.asarray(
            jax.jit(lambda a, b, c: par.starts(a, b, c, st))(
                jnp.asarray(v), jnp.asarray(ly), jnp.asarray(W)
            )
        )
    want = _m4_reference(v, ly, st) if family == "m4" else _bnsl_reference(v, ly, st, n, 64)
    assert got.shape == want.shape == (len(want), par.n_params)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
