"""Experimental design for scaling studies: which run to do next.

[`suggest_next`][scalebayes.design.suggest_next] ranks candidate runs by the expected
narrowing of the predictive interval of the run you care about, per unit cost, with the
shipped PFN (one batched forward pass over every candidate and fantasised outcome) or with
MCMC draws of a Bayesian family reweighted by each fantasised outcome;
``scalebayes suggest`` is its command line.

This package sits beside ``scalebayes.studies``, above the library packages it uses
(``pfn``, ``inference``, ``evaluate``).
"""

from ._suggest import (
    MAX_FANTASIES,
    MIN_FANTASIES,
    SUGGEST_METHODS,
    Suggestion,
    SuggestResult,
    suggest_next,
)

__all__ = [
    "MAX_FANTASIES",
    "MIN_FANTASIES",
    "SUGGEST_METHODS",
    "SuggestResult",
    "Suggestion",
    "suggest_next",
]
