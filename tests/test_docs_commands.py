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


def _ten_lines(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("## In ten lines")) + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_ten_line_example_runs_and_prints_what_the_pages_say():
    """The README's first example is the user's question; run as written, it prints the
    figures the README and the landing page quote (float32 PFN: to the printed digits)."""
    code = _ten_lines(ROOT / "README.md")
    assert code == _ten_lines(ROOT / "docs" / "index.md")
    assert len(code.strip().splitlines()) <= 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = [float(v) for v in re.findall(r"-?\d+\.\d+", out.getvalue())]
    median, lower, upper, fit = printed[0:2], printed[2:4], printed[4:6], printed[6:8]
    quoted = {"median": [1.759, 1.633], "lower": [1.148, 1.182], "upper": [1.951, 1.817]}
    quoted["fit"] = [1.838, 1.794]
    for name, values in zip(quoted, (median, lower, upper, fit), strict=True):
        assert values == pytest.approx(quoted[name], abs=1.5e-3), name
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "prints medians 1.759 and 1.633 with 90% intervals [1.148, 1.951] and" in readme
