"""Where a test run's compilation time goes, from the logs of ``SCALEBAYES_TEST_COMPILE_LOG``.

    rm -rf .pytest_cache   # a cold run: every program compiled as on a fresh clone
    SCALEBAYES_TEST_COMPILE_LOG=/tmp/clog make test
    python tools/compile_profile.py /tmp/clog [--top 20]

Prints the seconds JAX spent tracing, lowering and compiling (XLA), summed over every test
process; then the XLA compilation by program, by kind of program (eager operations, random
number programs, the rest) and by test file and test. A persistent-cache hit is counted too,
as the time it took to read. Seconds are summed over the two workers, so they are CPU time,
not wall time.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_FINISHED = re.compile(
    r"Finished (.+?) (?:of|for|conversion) (\S+?)(?: for \w+)? in ([0-9.e-]+) sec$"
)
_RANDOM = {"_normal", "_uniform", "_randint", "_threefry_split", "_gamma", "_bernoulli"}
_RANDOM |= {"_truncated_normal", "_exponential", "_choice", "_permutation", "_threefry_seed"}


def _kind(program: str) -> str:
    name = program.removeprefix("jit(").removesuffix(")")
    if name in _RANDOM:
        return "random numbers (jax.random, eager)"
    if name and not name.startswith("_") and name.replace("_", "").isalnum():
        return "eager operations (one primitive per program)"
    return "compiled functions"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", type=Path, help="the SCALEBAYES_TEST_COMPILE_LOG directory")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    files = sorted(args.logs.glob("compile.*"))
    if not files:
        raise SystemExit(
            f"no compile.* logs in {args.logs}: run the tests with "
            f"SCALEBAYES_TEST_COMPILE_LOG={args.logs}"
        )
    stage = collections.Counter()
    seconds: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    count = collections.Counter()
    for path in files:
        for line in path.read_text().splitlines():
            test, _, message = line.partition("\t")
            found = _FINISHED.match(message)
            if not found:
                continue
            what, program, t = found.group(1), found.group(2), float(found.group(3))
            phase = (
                "XLA compilation"
                if what == "XLA compilation"
                else ("lowering to MLIR" if "MLIR" in what else "tracing")
            )
            stage[phase] += t
            if phase != "XLA compilation":
                continue
            node = test.rsplit(" (", 1)[0]
            seconds["program"][program] += t
            count[program] += 1
            seconds["kind"][_kind(program)] += t
            seconds["file"][node.split("::")[0]] += t
            seconds["test"][test] += t
    print(f"{len(files)} processes; seconds summed over them\n")
    print("| stage | seconds |\n|---|---|")
    for phase, t in stage.most_common():
        print(f"| {phase} | {t:.1f} |")
    print("\n| kind of program | seconds |\n|---|---|")
    for kind, t in seconds["kind"].most_common():
        print(f"| {kind} | {t:.1f} |")
    print("\n| program | compilations | seconds |\n|---|---|---|")
    for program, t in seconds["program"].most_common(args.top):
        print(f"| `{program}` | {count[program]} | {t:.1f} |")
    for what in ("file", "test"):
        print(f"\n| {what} | XLA seconds |\n|---|---|")
        for name, t in seconds[what].most_common(args.top):
            print(f"| `{name}` | {t:.1f} |")


if __name__ == "__main__":
    main()
