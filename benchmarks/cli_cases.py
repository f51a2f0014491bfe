"""Every user-error and edge case of issue 11, run as a user would, beside what it did before.

Each case runs the real command line (``python -m scalebayes ...`` in a subprocess, in a
fresh temporary directory) or the Python API, and prints one table row: the case, the
command, what issue 11 measured before the fix (quoted from the issue), and what happens
now (exit status and the first line of stderr, or the measured answer). A case whose
behaviour is wrong now (a traceback, a NaN, a negative loss, a wrong file format, a stale
resume) is marked FAIL and the script exits 1.

    python benchmarks/cli_cases.py

About two minutes on a 2-core CPU (the allocate and study cases run NUTS and the PFN).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS: list[tuple[str, str, str, str, bool]] = []


def _cli(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scalebayes", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _record(case: str, command: str, before: str, now: str, ok: bool) -> None:
    ROWS.append((case, command, before, now, ok))
    print(f"{'ok  ' if ok else 'FAIL'} {case}: {now}", file=sys.stderr, flush=True)


def _error_case(case: str, args: list[str], before: str, cwd: Path, *, code: int = 2) -> None:
    """A command that must fail with one line on stderr and the given exit status."""
    run = _cli(args, cwd)
    err = run.stderr.strip()
    ok = run.returncode == code and "Traceback" not in run.stderr and err.count("\n") == 0
    _record(case, "scalebayes " + " ".join(args), before, f"exit {run.returncode}: {err}", ok)


def _write_curve(path: Path, x, y, name: str = "run") -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "curve"])
        writer.writerows([repr(float(a)), repr(float(b)), name] for a, b in zip(x, y, strict=True))
    return path


def _write_runs(path: Path, n: int) -> Path:
    """``n`` of the bundled Chinchilla runs, spread over model sizes."""
    from scalebayes.compute import chinchilla_runs

    runs = chinchilla_runs()
    pick = np.argsort(runs.N)[np.linspace(0, len(runs) - 1, n).round().astype(int)]
    rows = [f"{runs.N[i]:.6g},{runs.D[i]:.6g},{runs.loss[i]:.6f}" for i in pick]
    path.write_text("N,D,loss\n" + "\n".join(rows) + "\n")
    return path


def _cli_cases(tmp: Path) -> None:
    x = np.geomspace(1e6, 1e9, 8)
    _write_curve(tmp / "runs.csv", x, 2.0 + 50.0 * x**-0.2)
    (tmp / "adir").mkdir()
    _error_case(
        "extrapolate: missing file",
        ["extrapolate", "missing.csv", "--to", "1e10"],
        "FileNotFoundError traceback",
        tmp,
    )
    _error_case(
        "extrapolate: a directory",
        ["extrapolate", "adir", "--to", "1e10"],
        "IsADirectoryError traceback",
        tmp,
    )
    _error_case(
        "--plot at a directory",
        ["extrapolate", "runs.csv", "--to", "1e10", "--plot", "adir"],
        "traceback, after the results printed",
        tmp,
    )
    unwritable = "/sys/fan.png" if os.geteuid() == 0 else "/fan.png"
    _error_case(
        "--plot where nothing can be written",
        ["extrapolate", "runs.csv", "--to", "1e10", "--plot", unwritable],
        "traceback, after the results printed",
        tmp,
    )
    for suffix, magic in ((".pdf", b"%PDF"), (".svg", b"<?xml")):
        run = _cli(["extrapolate", "runs.csv", "--to", "1e10", "--plot", f"fan{suffix}"], tmp)
        head = (tmp / f"fan{suffix}").read_bytes()[:5] if run.returncode == 0 else b""
        _record(
            f"--plot fan{suffix}",
            f"scalebayes extrapolate runs.csv --to 1e10 --plot fan{suffix}",
            "PNG bytes in the file",
            f"exit {run.returncode}, file starts {head!r}",
            run.returncode == 0 and head.startswith(magic),
        )
    _error_case(
        "--plot fan.jpg (unknown format)",
        ["extrapolate", "runs.csv", "--to", "1e10", "--plot", "fan.jpg"],
        "PNG bytes in the file",
        tmp,
    )
    (tmp / "afile").write_text("x\n")
    _error_case(
        "study --out an existing file",
        ["study", "--methods", "m4", "--datasets", "dd", "--out", "afile"],
        "[Errno 17] File exists",
        tmp,
    )
    _write_runs(tmp / "chinchilla_runs.csv", 8)
    _error_case(
        "allocate --compute -1e21",
        ["allocate", "chinchilla_runs.csv", "--compute", "-1e21"],
        "argparse: expected one argument",
        tmp,
    )
    _write_runs(tmp / "three_runs.csv", 3)
    run = _cli(["allocate", "three_runs.csv", "--compute", "1e21"], tmp)
    warning = [line for line in run.stderr.splitlines() if "warning" in line.lower()]
    _record(
        "allocate with 3 runs (law has 5 parameters)",
        "scalebayes allocate three_runs.csv --compute 1e21",
        "N* interval 686 to 4.6e17, a convergence warning printing a source line",
        f"exit {run.returncode}; {len(warning)} warning line(s): {warning[0] if warning else ''}",
        run.returncode == 0
        and any("runs for a 5-parameter law" in w for w in warning)
        and "Traceback" not in run.stderr
        and all(w.startswith("warning: ") for w in warning),
    )
    big = _write_curve(tmp / "huge.csv", x, 1e308 * (x / x[0]) ** -0.2)
    run = _cli(["fit", big.name, "--family", "m4", "--predict", "1e10"], tmp)
    lines = run.stdout.splitlines()
    table = lines[lines.index("predictions (m4):") + 3 :] if "predictions (m4):" in lines else []
    answer = f"y(1e10) = {table[0].split()[-1]} (true 1e308 * 10^-0.8 = 1.58e+307)" if table else ""
    _record(
        "fit --family m4 --predict 1e10, y up to 1e308",
        f"scalebayes fit {big.name} --family m4 --predict 1e10",
        "y = nan",
        f"exit {run.returncode}: {answer or _first_line(run.stderr)}",
        bool(answer) and "nan" not in run.stdout.lower() and "Traceback" not in run.stderr,
    )


def _study_cases(tmp: Path) -> None:
    x = np.geomspace(1e3, 1e6, 10)
    for folder, beta in (("one", 2.0), ("other", 5.0)):
        (tmp / folder).mkdir()
        with (tmp / folder / "st5.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["x", "y", "curve"])
            for i in range(5):
                writer.writerows(
                    [repr(float(a)), repr(float(beta * (i + 1) * a**-0.3)), f"c{i}"] for a in x
                )
    args = ["study", "--methods", "m4", "--csv", "one/st5.csv", "--out", "s1", "--no-progress"]
    _cli(args, tmp)
    args[4] = "other/st5.csv"
    run = _cli(args, tmp)
    said = next((line for line in run.stdout.splitlines() if "resumed" in line), "")
    _record(
        "study resumed on another file with the same name",
        "scalebayes " + " ".join(args),
        "0 computed, 5 resumed (stale scores reused)",
        f"exit {run.returncode}: {said.strip()}",
        run.returncode == 0 and "5 curve scores computed, 0 resumed" in said,
    )
    bad = tmp / "names.csv"
    bad.write_text('x,y,curve\n1,1,"a\nb"\n2,0.9,"a\nb"\n3,0.8,"a\nb"\n4,0.7,"a\nb"\n')
    _error_case(
        "a curve name with a line break",
        ["study", "--methods", "m4", "--datasets", "dd", "--csv", "names.csv", "--out", "s2"],
        "rejected at write time, after all the work",
        tmp,
    )
    short = _write_curve(tmp / "short.csv", [1.0, 2.0], [1.0, 0.9], name="tiny")
    _error_case(
        "a curve too short for its hold-out",
        ["study", "--methods", "m4", "--datasets", "dd", "--csv", short.name, "--out", "s3"],
        "the study aborts after other datasets ran",
        tmp,
    )
    # Ctrl-C: interrupt a running study, then rerun the same command
    args = ["study", "--methods", "bnsl", "--datasets", "ic", "--out", "s4", "--batch-size", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "scalebayes", *args],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rows_file = tmp / "s4" / "per_curve.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (
        not rows_file.exists() or rows_file.read_text().count("\n") < 2
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    kept = rows_file.read_text().count("\n") - 1
    err_lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    rerun = _cli([*args, "--no-progress"], tmp)
    said = next((line for line in rerun.stdout.splitlines() if "resumed" in line), "")
    _record(
        "Ctrl-C during study, then the same command",
        "scalebayes " + " ".join(args) + "  (SIGINT after the first rows; rerun)",
        "KeyboardInterrupt traceback (rows intact)",
        f"exit {proc.returncode}: {err_lines[-1] if err_lines else ''} ({kept} rows kept); "
        f"rerun exit {rerun.returncode}: {said.strip()}",
        proc.returncode == 130
        and "Traceback" not in err
        and kept > 0
        and rerun.returncode == 0
        and f"{kept} resumed" in said,
    )


def _api_cases() -> None:
    import warnings

    from scalebayes.pfn import PFN

    pfn = PFN.load()
    x = np.geomspace(1e6, 1e9, 8)
    y = 2e-6 * (x / x[0]) ** -0.05
    pred = pfn.predict(x, y, np.array([1e10]))
    median, q05 = float(pred.median()[0]), float(pred.quantile(0.05)[0])
    _record(
        "PFN on y ~ 2e-6",
        "PFN.load().predict(x, 2e-6 * (x/x0)**-0.05, [1e10])",
        "median 0.031, q05 -0.025",
        f"median {median:.3g}, q05 {q05:.3g}",
        0 <= q05 <= median < 1e-5,
    )
    pred = pfn.predict(x, np.zeros_like(x), np.array([1e10]))
    q05 = float(pred.quantile(0.05)[0])
    _record(
        "PFN on a context of zeros",
        "PFN.load().predict(x, zeros, [1e10])",
        "q05 -0.038",
        f"q05 {q05:.3g}",
        q05 >= 0,
    )
    rng = np.random.default_rng(0)
    xs = np.sort(rng.uniform(1.0, 1e6, 100_000))
    ys = 3.0 * xs**-0.1 * np.exp(0.01 * rng.standard_normal(xs.size))
    tic = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = pfn.predict(xs, ys, np.array([2e6]))
    seconds = time.perf_counter() - tic
    said = next((str(w.message) for w in caught), "")
    _record(
        "PFN with 100,000 context points",
        "PFN.load().predict(x[100000], y, [2e6])",
        "RESOURCE_EXHAUSTED allocating 551 GB",
        f"{seconds:.1f} s, median {float(pred.median()[0]):.3g}; warning: {said[:90]}",
        bool(np.isfinite(pred.median()).all()) and bool(said),
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _cli_cases(tmp)
        _study_cases(tmp)
    _api_cases()
    print("| case | command | before (issue 11) | now (measured) | ok |")
    print("|---|---|---|---|---|")
    for case, command, before, now, ok in ROWS:
        cells = [c.replace("|", "\\|") for c in (case, f"`{command}`", before, now)]
        print("| " + " | ".join(cells) + f" | {'yes' if ok else '**FAIL**'} |")
    failed = sum(not row[-1] for row in ROWS)
    print(f"\n{len(ROWS) - failed} of {len(ROWS)} cases behave as they should.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
