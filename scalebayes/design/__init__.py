"""Experimental design for scaling studies: which run to do next.

[`suggest_next`][scalebayes.design.suggest_next] ranks candidate runs by the expected
narrowing of the predictive interval of the run you care about, per unit cost, with the
shipped PFN (one batched forward pass over every candidate and fantasised outcome);
``scalebayes suggest`` is its command line.

This package sits beside ``scalebayes.studies``, above the library packages it uses
(``pfn``, ``evaluate``).
"""

from ._suggest import Suggestion, SuggestResult, suggest_next

__all__ = ["SuggestResult", "Suggestion", "suggest_next"]
