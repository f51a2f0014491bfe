"""Numbers as the package prints them in tables, and column names as it reads them."""


def significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant figures with its trailing zeros (``1.550`` beside
    ``1.719``, where ``g`` writes ``1.55``), and no bare trailing point (``555``, where ``#g``
    writes ``555.``), so that a column's numbers read alike; zero is ``0``."""
    return "0" if value == 0 else f"{value:#.{digits}g}".rstrip(".")


def header_key(name: str) -> str:
    """A CSV column's name as the readers compare it: lower case, surrounding spaces dropped,
    inner spaces and hyphens as one ``_`` (``"Model Size"`` and ``model-size`` are
    ``model_size``)."""
    return "_".join(name.strip().lower().replace("-", " ").split())
