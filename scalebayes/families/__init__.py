"""Scaling-law families: pure, differentiable, broadcasting JAX functions plus parameter specs.

| name | formula |
|---|---|
| ``m1`` | ``y = beta x^c`` |
| ``m2`` | ``y = eps_inf + beta x^c`` |
| ``m3`` | ``y = beta (1/x + gamma)^c`` |
| ``m4`` | ``(y - eps_inf) / (eps_0 - y)^alpha = beta x^c`` (solved exactly) |
| ``bnsl`` | ``y = a + b x^(-c0) prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)`` |
| ``power_law`` | ``y = a x^(-alpha)`` |
"""

from ._laws import bnsl, m1, m2, m3, m4, power_law
from ._m4_solve import solve_logit as m4_solve_logit
from ._spec import FAMILIES, Family, Param, bnsl_family, get_family

__all__ = [
    "FAMILIES",
    "Family",
    "Param",
    "bnsl",
    "bnsl_family",
    "get_family",
    "m1",
    "m2",
    "m3",
    "m4",
    "m4_solve_logit",
    "power_law",
]
