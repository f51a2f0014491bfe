"""Tests for the demonstration (``scalebayes.studies.run_demo``, ``scalebayes demo``)."""

import contextlib
import io
import re
import struct

import pytest

from scalebayes.cli import main as cli_main
from scalebayes.data import load_benchmark
from scalebayes.evaluate import rmsle
from scalebayes.inference import fit_curves
from scalebayes.studies import DEMO_FAMILIES, FAR_PLOT_NAME, PLOT_NAME, run_demo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DEFAULT_CURVE = "inet_5|BiT/50/1"


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the first chunk after the signature)."""
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def _reported_rmsle(report: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in re.findall(r"^\s*(\w+)\s+RMSLE = ([0-9.eE+-]+)$", report, re.M)
    }


def main(argv):
    """``scalebayes demo ARGV``."""
    return cli_main(["demo", *argv])


def _run_demo(directory):
    """One demo run through the command's entry point, ``main``; its report and status."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["--out", str(directory / "nested" / "out")])  # the demo creates it
    (directory / "report.txt").write_text(stdout.getvalue())
    (directory / "status.txt").write_text(str(status))


@pytest.fixture(scope="module")
def demo(build_once):
    """The demo's output directory, printed report and exit status (one run per test run)."""
    directory = build_once("demo", _run_demo)
    report = (directory / "report.txt").read_text()
    return directory / "nested" / "out", report, int((directory / "status.txt").read_text())


def test_demo_writes_a_png_and_nothing_else(demo):
    out, report, status = demo
    assert status == 0
    # no temporary file left
    assert sorted(p.name for p in out.iterdir()) == sorted([PLOT_NAME, FAR_PLOT_NAME])
    data = (out / PLOT_NAME).read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 10_000  # a real plot, not an empty canvas
    width, height = _png_size(data)
    assert width >= 400 and height >= 300
    assert f"wrote {out / PLOT_NAME}" in report


def test_demo_report_prints_the_library_fit_and_score(demo):
    """The reported RMSLE and parameters of each family are the library's own ``fit_curves``
    and ``rmsle`` on that curve (wiring: the fits are checked against independent references
    in ``tests/inference/test_fit_recovery.py``, the metric in ``test_eval_metrics.py``)."""
    _, report, _ = demo
    assert DEFAULT_CURVE in report
    reported = _reported_rmsle(report)
    assert set(reported) == set(DEMO_FAMILIES)
    curve = next(c for c in load_benchmark("ic") if c.name == DEFAULT_CURVE)
    for name in DEMO_FAMILIES:
        fit = fit_curves(name, [curve.x_context], [curve.y_context])[0]
        expected = rmsle(fit.predict(curve.x_target), curve.y_target)
        # printed with 4 significant digits
        assert reported[name] == pytest.approx(expected, rel=1e-3), name
        for param, value in fit.params.items():
            assert f"{param}={value:.4g}" in report


def test_demo_rejects_an_unknown_curve(tmp_path):
    with pytest.raises(ValueError, match="no curve 'no such curve'"):
        run_demo(tmp_path, curve="no such curve")
    with pytest.raises(ValueError, match="unknown benchmark"):
        run_demo(tmp_path, benchmark="imagenet")
    assert list(tmp_path.iterdir()) == []  # nothing written before the checks pass


def test_main_reports_bad_input_with_status_2(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--curve", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no curve 'nope'" in err


def test_demo_uses_the_shipped_pfn(demo):
    """The PFN line reports the shipped answer's RMSLE (both models weighted by the curve's
    back-test), recomputed here independently."""
    import numpy as np

    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, PFN, predict_stacked

    _, report, _ = demo
    match = re.search(r"pfn\s+RMSLE = ([0-9.eE+-]+)\s+\(answered by ([^;]+);", report)
    curve = next(c for c in load_benchmark("ic") if c.name == DEFAULT_CURVE)
    models = [PFN.load(DEFAULT_MODEL), PFN.load(FAR_MODEL)]
    xs, ys, qs = [curve.x_context], [curve.y_context], [curve.x_target]
    (pred,) = predict_stacked(models, xs, ys, qs, y_scale=1.0)
    w = pred.weights
    assert match, report
    assert (
        match.group(2) == f"{DEFAULT_MODEL} {w[0]:.2f} + {FAR_MODEL} {w[1]:.2f}, back-test weights"
    )
    expected = float(np.sqrt(np.mean((np.log(pred.median()) - np.log(curve.y_target)) ** 2)))
    assert float(match.group(1)) == pytest.approx(expected, rel=1e-3)
    assert "pfn 90% interval" in report


def test_demo_asks_the_far_question_with_the_far_model(demo):
    """The far table's medians and intervals equal the models' answers recomputed here."""
    import warnings

    from scalebayes.pfn import DEFAULT_MODEL, FAR_MODEL, PFN, ReachWarning

    out, report, _ = demo
    assert (out / FAR_PLOT_NAME).read_bytes()[:8] == PNG_MAGIC
    assert f"wrote {out / FAR_PLOT_NAME}" in report
    frontier = next(c for c in load_benchmark("chinchilla") if c.name == "compute_frontier")
    runs_x, runs_y, target = frontier.x[:4], frontier.y[:4], frontier.x[-1:]
    assert f"real loss: {frontier.y[-1]:.4f}" in report
    assert f"({target[0] / runs_x[-1]:.3g}x beyond)" in report
    lines = report.splitlines()
    for name in (FAR_MODEL, DEFAULT_MODEL):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReachWarning)
            pred = PFN.load(name).predict(runs_x, runs_y, target)
        lo, hi = (float(v[0]) for v in pred.interval(0.9))
        row = next(line for line in lines if f"PFN ({name}" in line)
        assert f"{float(pred.median()[0]):.4f}" in row and f"[{lo:.4f}, {hi:.4f}]" in row, row
    m4 = fit_curves("m4", [runs_x], [runs_y])[0].predict(target)[0]
    row = next(line for line in lines if line.strip().startswith("m4 point fit"))
    assert f"{m4:.4f}" in row, row
