"""scalebayes: Bayesian analysis of neural scaling laws.

Subpackages (import what you need; nothing heavy is imported here):

- ``scalebayes.families``: scaling-law families M1-M4, BNSL and a plain power law.
- ``scalebayes.inference``: fast multi-start point fits.
- ``scalebayes.data``: the ``Curve`` type, bundled benchmarks and the CSV loader.
- ``scalebayes.evaluate``: NSL-PFN metrics and comparison studies.

[`precision`][scalebayes.precision] is the one precision switch (see its policy).
"""

from ._precision import precision

__version__ = "0.1.0"

__all__ = ["__version__", "precision"]
