"""The ``scalebayes study`` and ``scalebayes train-pfn`` recipes quoted in the README and the
docs parse as written (a review found many without the required ``--out``)."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from scalebayes.cli._main import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_QUOTE = re.compile(r"`(scalebayes (?:study|train-pfn)\b[^`]*)`")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")  # N, DIR, SECONDS: values the reader fills in


def _recipes() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for match in _QUOTE.finditer(page.read_text(encoding="utf-8")):
            command = " ".join(match.group(1).split())
            tokens = shlex.split(command)[1:]
            if len(tokens) <= 2 or "..." in command or "--csv" in tokens:
                continue  # a mention of a flag, an elided recipe, or the reader's own file
            if any(_PLACEHOLDER.match(t) and t not in ("OUT", "RUN") for t in tokens):
                continue
            out.append((page.relative_to(ROOT).as_posix(), command))
    return out


RECIPES = _recipes()


def test_the_docs_quote_recipes():
    assert len(RECIPES) >= 30


@pytest.mark.parametrize(("page", "command"), RECIPES, ids=[c[:60] for _, c in RECIPES])
def test_a_quoted_recipe_parses(page, command):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit:
        pytest.fail(f"{page}: `{command}` does not parse: {err.getvalue().strip()}")
