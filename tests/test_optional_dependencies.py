"""Every optional dependency, when missing, fails with the command that installs it.

(neural-tangents: tests/ntk/test_ntk_compat.py, which also covers a wrong version.)
"""

import sys

import numpy as np
import pytest


def test_missing_arviz_names_the_install_command(monkeypatch):
    from scalebayes.inference import diagnose

    monkeypatch.setitem(sys.modules, "arviz_stats", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'arviz>=1\.0'"):
        diagnose({"a": np.zeros((2, 10))})


def test_missing_scikit_learn_names_the_install_command(monkeypatch):
    from scalebayes.ntk import load_digits

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'scalebayes\[ntk\]'"):
        load_digits()


def test_the_command_line_says_a_missing_dependency_in_one_line(monkeypatch, capsys):
    """A review: `scalebayes ntk-study` without neural-tangents printed a traceback (exit
    1) around its install hint."""
    import importlib.util

    from scalebayes.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "neural_tangents" else real(name, *a, **k),
    )
    monkeypatch.setitem(sys.modules, "neural_tangents", None)
    status = main(["ntk-study", "--dataset", "calorimeter", "--sizes", "32:64"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and "needs neural-tangents" in err and "pip install" in err


def test_the_kernels_check_the_dependency_after_their_cache_is_filled(monkeypatch):
    """A jitted kernel function kept from an earlier call must not hide a missing
    neural-tangents (the cache answered without asking for it)."""
    import scalebayes.ntk._compat as compat
    from scalebayes.ntk import MLPConfig, mlp_kernels

    mlp_kernels(MLPConfig(), np.ones((2, 3)))  # the cache filled

    def missing():
        raise ImportError("neural-tangents is missing")

    monkeypatch.setattr(compat, "_load", missing)
    monkeypatch.setitem(sys.modules, "neural_tangents", None)
    with pytest.raises(ImportError, match="neural-tangents is missing"):
        mlp_kernels(MLPConfig(), np.ones((2, 3)))
