"""Execute the tutorial notebooks at full size and store them with their outputs.

The docs show the notebooks as stored (mkdocs-jupyter with ``execute: false``), so the stored
outputs are what a reader sees: figures, tables and the printed numbers of a full run. This
script is how they get there (``make tutorials``)::

    python tools/execute_tutorials.py                 # every notebook whose code changed
    python tools/execute_tutorials.py --force 02      # re-run one (name or prefix) anyway

Each executed notebook records, in ``metadata.scalebayes``, the SHA-256 of its code cells'
sources (``source_sha256``), the seconds it took, the versions it ran with and the CPU
(``machine``). The default
test run checks that every stored notebook is executed and that its digest matches its code
(an edited cell that was not re-run fails); ``make test-all`` re-executes each one and compares
its outputs with the stored ones (``tests/test_tutorials.py``). A notebook is written
atomically only after it ran through, so an interrupted run loses nothing and a rerun picks
up the notebooks still out of date.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from scalebayes._io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
CELL_TIMEOUT_S = 1200
META_KEY = "scalebayes"


def source_digest(nb) -> str:
    """SHA-256 over the code cells' sources, in order (markdown edits need no re-run)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode())
            h.update(b"\0")
    return h.hexdigest()


def stored_digest(nb) -> str | None:
    return nb.metadata.get(META_KEY, {}).get("source_sha256")


def coalesce_streams(nb):
    """Merge each cell's consecutive stdout (or stderr) outputs into one, in place.

    How a kernel splits printed text into outputs depends on when it flushes, not on the
    code; one output per stream reads better in the docs and compares reliably.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            last = merged[-1] if merged else None
            if (
                output.output_type == "stream"
                and last is not None
                and last.output_type == "stream"
                and last.name == output.name
            ):
                last.text += output.text
            else:
                merged.append(output)
        cell.outputs = merged
    return nb


def execute(nb, workdir: str, *, timeout: int = CELL_TIMEOUT_S):
    """Run ``nb`` in place in ``workdir`` with the ``python3`` kernel (this interpreter), then
    coalesce its streams."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no wall-clock stamps in the stored cells
        resources={"metadata": {"path": workdir}},
    ).execute()
    return coalesce_streams(nb)


VERSIONED = (
    "scalebayes",
    "jax",
    "jaxlib",
    "numpyro",
    "equinox",
    "numpy",
    "scipy",
    "arviz-base",
    "arviz-stats",
)
"""The packages whose versions a stored notebook records (its numbers depend on them)."""


def versions() -> dict[str, str]:
    """The installed versions of ``VERSIONED`` (``"-"`` for one not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    def one(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    return {name: one(name) for name in VERSIONED}


def machine() -> str:
    """The CPU this runs on (its model name, else the architecture). NUTS trajectories depend
    on the last bits of floating-point sums, which depend on the CPU's vector instructions:
    on another CPU a notebook's MCMC numbers differ by more than rounding."""
    try:
        info = dict(
            (key.strip(), value.strip())
            for key, _, value in (
                line.partition(":") for line in Path("/proc/cpuinfo").read_text().splitlines()
            )
            if key.strip() in ("model name", "flags")
        )
    except OSError:
        info = {}
    name = info.get("model name") or platform.processor() or platform.machine()
    if "flags" in info:  # the instruction sets: a model name alone can hide them (VMs)
        name += f" (flags sha256 {hashlib.sha256(info['flags'].encode()).hexdigest()[:12]})"
    return name


def _select(names: list[str]) -> list[Path]:
    notebooks = sorted(TUTORIALS.glob("*.ipynb"))
    if not names:
        return notebooks
    chosen = []
    for name in names:
        hits = [p for p in notebooks if p.name.startswith(name) or p.stem == name]
        if not hits:
            listed = ", ".join(p.name for p in notebooks)
            raise SystemExit(f"error: no tutorial matches {name!r}; choose from {listed}")
        chosen += [p for p in hits if p not in chosen]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--force", action="store_true", help="re-run even if up to date")
    args = parser.parse_args(argv)

    for path in _select(args.names):
        nb = nbformat.read(path, as_version=4)
        digest = source_digest(nb)
        if not args.force and stored_digest(nb) == digest:
            print(f"{path.name}: up to date")
            continue
        print(f"{path.name}: running ...", flush=True)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as workdir:
            execute(nb, workdir)
        seconds = time.perf_counter() - start
        nb.metadata[META_KEY] = {
            "source_sha256": digest,
            "seconds": round(seconds, 1),
            "versions": versions(),
            "machine": machine(),
        }
        atomic_write_text(path, nbformat.writes(nb) + "\n")
        print(f"{path.name}: done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
