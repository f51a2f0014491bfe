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
