"""scalebayes: Bayesian analysis of neural scaling laws.

Subpackages (import what you need; nothing heavy is imported here):

- ``scalebayes.families``: scaling-law families M1-M4, BNSL and a plain power law.
- ``scalebayes.data``: the ``Curve`` type, bundled benchmarks, far splits and the CSV loader.
- ``scalebayes.evaluate``: NSL-PFN metrics, the predictive contract and calibration.
- ``scalebayes.priors``: the Down / Down-Down / Down-Up-Down and scale-free curve priors.
- ``scalebayes.inference``: fast multi-start point fits, Bayesian M3/M4/BNSL and NUTS.
- ``scalebayes.pfn``: the prior-data fitted networks and ``extrapolate``, the shipped answer.
- ``scalebayes.ntk``: infinite-width (NTK) ensembles: test-loss mean and variance.
- ``scalebayes.compute``: compute-optimal bounds and Bayesian joint (N, D) laws.
- ``scalebayes.design``: which run to do next (``suggest_next``).
- ``scalebayes.studies``: comparison studies (``run_study``), recalibration, the demo.

[`precision`][scalebayes.precision] is the one precision switch (see its policy);
[`enable_compilation_cache`][scalebayes.enable_compilation_cache] keeps compiled programs on
disk for the next process (the command line does it for every command).
"""

from ._compile_cache import enable_compilation_cache
from ._precision import precision

__version__ = "0.1.0"

__all__ = ["__version__", "enable_compilation_cache", "precision"]
