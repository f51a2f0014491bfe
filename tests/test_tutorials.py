"""Execute every tutorial notebook end to end, as the documentation shows it.

The notebooks are stored without outputs (the docs render them as is) and run here with
``SCALEBAYES_TUTORIAL_SMALL=1``, which each notebook may read to do less work. The kernel is
the ``python3`` kernelspec; jupyter_client launches it with this interpreter
(``sys.executable``), so it sees the same environment as the tests.
"""

from pathlib import Path

import nbformat
import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def test_tutorials_exist_and_are_stored_clean():
    assert NOTEBOOKS, f"no notebooks in {TUTORIALS}"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3", path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{path.name}: cell {cell.get('id')} has outputs; clear them before committing"
                )


def _outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.outputs:
                yield cell.get("id"), output


# Every tutorial runs with the slow tests (`make test-all`): each takes 20-50 s on a 2-core
# machine even at its small size (the MCMC-vs-PFN one minutes), and the library code they
# call has its own tests in the default run. The default run checks that they are stored
# clean and valid (above).
SLOW_NOTEBOOKS = {path.name for path in NOTEBOOKS}


@pytest.mark.notebook
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_NOTEBOOKS else p for p in NOTEBOOKS],
    ids=lambda p: p.name,
)
def test_tutorial_runs(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SCALEBAYES_TUTORIAL_SMALL", "1")  # inherited by the kernel
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # run in a scratch directory
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    for cell_id, output in _outputs(nb):
        if output.output_type == "stream" and output.name == "stderr":
            assert "Warning" not in output.text, f"cell {cell_id} warned:\n{output.text}"
    if "plt." in "".join(cell.source for cell in nb.cells):
        images = [o for _, o in _outputs(nb) if "image/png" in o.get("data", {})]
        assert images, f"{path.name} plots but rendered no image"
