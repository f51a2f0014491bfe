"""Published Chinchilla-law estimates, for comparison tables (see COMPUTE_OPTIMAL.md).

``L(N, D) = E + A / N^alpha + B / D^beta`` with ``C = 6 N D``.
"""

from __future__ import annotations

from types import MappingProxyType

CHINCHILLA_BUDGET = 5.76e23
"""Chinchilla's (and Gopher's) training budget in FLOPs."""

HOFFMANN_2022 = MappingProxyType({"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28})
"""Hoffmann et al. (2022), Approach 3 as published (rounded)."""

HOFFMANN_2022_UNROUNDED = MappingProxyType(
    {"E": 1.69337, "A": 406.401, "B": 410.723, "alpha": 0.33917084, "beta": 0.2849083}
)
"""Hoffmann et al. (2022), Approach 3 unrounded."""

BESIROGLU_2024 = MappingProxyType(
    {"E": 1.8169, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
)
"""Besiroglu et al. (2024): Huber M-estimate on 240 digitised runs."""

BESIROGLU_2024_SE = MappingProxyType(
    {"E": 0.026, "A": 124.5, "B": 1293.3, "alpha": 0.015, "beta": 0.021}
)
"""Besiroglu et al. (2024): standard errors from 4,000 bootstraps."""

BESIROGLU_2024_ALLOCATION = MappingProxyType({"N": 7.24e10, "ratio": 18.3})
"""``N*`` and ``D*/N*`` of Besiroglu's fit at ``C = 5.76e23`` (check values)."""

HOFFMANN_2022_ALLOCATION = MappingProxyType({"N": 3.22e10, "ratio": 92.6})
"""``N*`` and ``D*/N*`` of Hoffmann's rounded fit at ``C = 5.76e23`` (check values)."""
