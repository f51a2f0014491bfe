"""The MCMC methods' names: ``mcmc-<family><suffix>``, one suffix per offered noise model."""

from types import MappingProxyType

__all__ = ["NOISE_SUFFIXES"]

NOISE_SUFFIXES = MappingProxyType({"ou": "", "ou_irw": "-irw", "ou_walk": "-walk"})
"""Noise model -> suffix of the study and command-line MCMC methods (``mcmc-m4``,
``mcmc-m4-irw``, ``mcmc-m4-walk``; see [`BayesModel`][scalebayes.inference.BayesModel])."""
