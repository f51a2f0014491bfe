"""Numbers in tables: significant figures that read alike down a column."""

import pytest

from scalebayes._text import significant


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (1.55, 4, "1.550"),  # trailing zeros kept (`g` writes 1.55)
        (0.614, 4, "0.6140"),
        (555.0, 3, "555"),  # no bare point (`#g` writes 555.)
        (26.0, 3, "26.0"),
        (1.3e12, 3, "1.30e+12"),
        (-0.0201, 4, "-0.02010"),
        (0.0, 4, "0"),
    ],
)
def test_significant_figures(value, digits, shown):
    assert significant(value, digits) == shown
