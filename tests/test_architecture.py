"""The package's import graph follows the documented layers, without circles.

Layers, bottom up (README, "Where things live"): the internal helpers (``scalebayes._io``,
``_lazy``, ``_precision``, ``_warnings`` and the root package) -> ``families`` -> ``data`` ->
``evaluate`` -> ``priors`` -> ``inference`` -> ``pfn`` / ``compute`` / ``ntk`` ->
``studies`` / ``design`` -> ``cli``. A module may import from its own package and from lower
layers, never from a higher layer or from another package of its own layer. Every import
counts, also one inside a function or under ``TYPE_CHECKING``, ``from .. import studies``,
``importlib.import_module("scalebayes....")`` and a package's lazy ``_MODULES``: a deferred
import is still a dependency.

Across packages only public names travel: no module imports another package's private
module (``scalebayes.pfn._method``) or a private name (``_fsync_dir``) from another unit. The
internal helpers at the root (``scalebayes._io`` ...) are private to users but are the bottom
layer of the package; their public names may be imported anywhere.

The graph is read from the source with ``ast`` (nothing is imported), so the check is exact
and fast.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scalebayes"
INTERNAL = "(internal)"
LAYERS: tuple[tuple[str, ...], ...] = (
    (INTERNAL,),
    ("families",),
    ("data",),
    ("evaluate",),
    ("priors",),
    ("inference",),
    ("pfn", "compute", "ntk"),
    ("studies", "design"),
    ("cli",),
)
LAYER_OF = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path, package: Path = PACKAGE) -> tuple[str, bool]:
    """Dotted module name of a file under the package, and whether it is a package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _unit(module: str, package: Path = PACKAGE) -> str:
    """The layer unit of a module: its subpackage, ``cli``, or the internal helpers."""
    parts = module.split(".")
    if len(parts) == 1:
        return INTERNAL  # the root package
    head = parts[1]
    if head in ("cli", "__main__"):
        return "cli"
    if (package / head).is_dir():
        return head
    return INTERNAL  # _checks, _compile_cache, _interrupt, _io, _lazy, _precision, _random, ...


def _is_module(name: str, package: Path = PACKAGE) -> bool:
    """Whether the dotted ``name`` is a module or subpackage of the package's tree."""
    where = package.parent.joinpath(*name.split("."))
    return where.is_dir() or where.with_suffix(".py").is_file()


def _import_nodes(path: Path, package: Path = PACKAGE):
    """``(node, target)`` for every import of a scalebayes module in the file, anywhere in
    it; ``target`` is the absolute module name (relative imports resolved). Besides import
    statements (``from .. import studies`` counts as importing ``scalebayes.studies``):
    ``importlib.import_module("scalebayes....")`` with a constant name, and the keys of a
    package's ``_MODULES`` (the private modules ``lazy_exports`` imports on first use)."""
    module, is_package = _module_name(path, package)
    here = module.split(".") if is_package else module.split(".")[:-1]

    def relative(level: int, name: str | None) -> str:
        base = here[: len(here) - (level - 1)]
        return ".".join([*base, *([name] if name else [])])

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            target = relative(node.level, node.module) if node.level else node.module or ""
            if target.split(".")[0] != "scalebayes":
                continue
            submodules = [f"{target}.{a.name}" for a in node.names]
            if all(_is_module(name, package) for name in submodules):
                for name in submodules:  # from .. import studies: the subpackage itself
                    yield node, name
            else:
                yield node, target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "scalebayes":
                    yield node, alias.name
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).split(".")[0] == "scalebayes"
        ):
            yield node, str(node.args[0].value)
        elif (
            isinstance(node, ast.Assign)
            and any(getattr(t, "id", None) == "_MODULES" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            for key in node.value.keys:  # lazy_exports imports f".{key}" from the package
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    dots = len(key.value) - len(key.value.lstrip("."))
                    yield node, relative(dots + 1, key.value.lstrip(".") or None)


def _imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """Every scalebayes module (or attribute of one) that the file imports, anywhere in it."""
    return {target for _, target in _import_nodes(path, package)}


def _private_imports(package: Path = PACKAGE) -> list[str]:
    """``module imports target`` for each import of another unit's private module or name."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        module, _ = _module_name(path, package)
        source = _unit(module, package)
        for node, target in _import_nodes(path, package):
            if _unit(target, package) == source:
                continue
            parts = target.split(".")
            private_module = (
                len(parts) > 2
                and (package / parts[1]).is_dir()
                and any(p.startswith("_") for p in parts[2:])
            )
            names = [
                a.name
                for a in (node.names if isinstance(node, ast.ImportFrom) else ())
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
            if private_module or names:
                wrong.append(
                    f"{module} imports {target}" + (f" ({', '.join(names)})" if names else "")
                )
    return wrong


def _graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Unit -> the units it imports (edges inside a unit dropped)."""
    edges: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        source = _unit(_module_name(path, package)[0], package)
        edges.setdefault(source, set())
        for target in _imports(path, package):
            if _unit(target, package) != source:
                edges[source].add(_unit(target, package))
    return edges


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{source} (layer {LAYER_OF[source]}) imports {target} (layer {LAYER_OF[target]})"
        for source, targets in graph.items()
        for target in sorted(targets)
        if LAYER_OF[target] >= LAYER_OF[source]
    ]


def test_every_unit_has_a_layer():
    units = set(_graph())
    for targets in _graph().values():
        units |= targets
    assert units <= set(LAYER_OF), f"add {sorted(units - set(LAYER_OF))} to LAYERS"


def test_no_package_imports_one_above_it_or_beside_it():
    wrong = _upward(_graph())
    assert wrong == [], "\n".join(wrong)


def test_no_private_import_across_packages():
    wrong = _private_imports()
    assert wrong == [], "\n".join(wrong)


def test_no_import_circle():
    graph = _graph()
    visiting, done = set(), set()

    def visit(unit, path):
        if unit in visiting:
            pytest.fail("import circle: " + " -> ".join([*path, unit]))
        if unit in done:
            return
        visiting.add(unit)
        for target in sorted(graph.get(unit, ())):
            visit(target, [*path, unit])
        visiting.discard(unit)
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, [])


def test_the_checker_sees_upward_and_deferred_imports(tmp_path):
    """A copy of the layout with an upward import inside a function and a sideways one under
    TYPE_CHECKING: both are found (a checker blind to them could not fail)."""
    package = tmp_path / "scalebayes"
    for sub in ("evaluate", "pfn", "compute", "studies"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "_io.py").write_text("")
    (package / "evaluate" / "_metrics.py").write_text(
        "from .._io import x\n\ndef f():\n    from ..studies import run_study\n"
    )
    (package / "pfn" / "_m.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..compute import y\n"
    )
    (package / "studies" / "_r.py").write_text("from ..evaluate._metrics import f\n")
    assert _imports(package / "evaluate" / "_metrics.py", package) == {
        "scalebayes._io",
        "scalebayes.studies",
    }
    assert sorted(_upward(_graph(package))) == [
        "evaluate (layer 3) imports studies (layer 7)",
        "pfn (layer 6) imports compute (layer 6)",
    ]
    (package / "pfn" / "_n.py").write_text(
        "def g():\n    from ..evaluate._metrics import f\n    from .._io import _fsync\n"
    )
    assert _private_imports(package) == [
        "scalebayes.pfn._n imports scalebayes.evaluate._metrics",
        "scalebayes.pfn._n imports scalebayes._io (_fsync)",
        "scalebayes.studies._r imports scalebayes.evaluate._metrics",
    ]


def test_the_checker_sees_imports_of_subpackages_by_name_and_by_string(tmp_path):
    """A review: ``from .. import studies``, ``from scalebayes import pfn``,
    ``importlib.import_module("scalebayes.studies")`` and a ``_MODULES`` key reaching into
    another package were not counted."""
    package = tmp_path / "scalebayes"
    for sub in ("evaluate", "pfn", "compute", "studies"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "studies" / "_runner.py").write_text("")
    (package / "evaluate" / "_a.py").write_text("from .. import studies\n")
    (package / "evaluate" / "_b.py").write_text("from scalebayes import pfn\n")
    (package / "evaluate" / "_c.py").write_text(
        "import importlib\n\ndef f():\n    return importlib.import_module('scalebayes.compute')\n"
    )
    (package / "evaluate" / "__init__.py").write_text(
        "_MODULES = {'_a': ('x',), '.studies._runner': ('run_study',)}\n"
    )
    assert sorted(_upward(_graph(package))) == [
        "evaluate (layer 3) imports compute (layer 6)",
        "evaluate (layer 3) imports pfn (layer 6)",
        "evaluate (layer 3) imports studies (layer 7)",
    ]
    assert _private_imports(package) == [
        "scalebayes.evaluate imports scalebayes.studies._runner",
    ]
