"""What the simulated power costs a report, measured side by side in one run.

`compsafe-report` states a detectable change per cell. On up to 60 units a permutation-tested
change has its power simulated on the sample's own unit differences (`report/stats/signflip.py`,
400 resamples); above that, and as the baseline here, the t approximation. This builds the same
report both ways, alternating, each build in its own process (nothing cached between them), and
times `build_report` alone (imports and start-up excluded).

    .venv/bin/python benchmarks/report_cost.py [SWEEP ...] [--repeats 2]

SWEEP defaults to the reference's `fresh` sweep (`benchmarks/reference.py`; 4 configs, about
2,200 result rows); any sweep folder `compsafe-report` reads will do (a `make run` sweep).
The last line is `report_simulated_vs_t_ratio=<x>` (median build time with the simulation over
the median with the t approximation alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("t", "simulated")


def build_once(mode: str, sweeps: list[Path], out: Path) -> float:
    """One report build in this process; seconds spent in `build_report`."""
    from compsafe.report.stats import signflip
    from compsafe.report.view.build import build_report

    if mode == "t":
        signflip.SIMULATED_UNITS = 0  # every detectable change by the t approximation
    started = time.perf_counter()
    build_report(sweeps, out, 1000, 0, "none", "compsafe")
    return time.perf_counter() - started


def timed(mode: str, sweeps: list[Path], out: Path) -> float:
    """A build in a fresh process, as a user's `compsafe-report` runs."""
    command = [sys.executable, __file__, "--one", mode, "--out", str(out), *map(str, sweeps)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="*", type=Path, help="sweep folders (default: fresh)")
    parser.add_argument("--repeats", type=int, default=2, help="builds per mode, alternating")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sweeps = args.sweeps
    if not sweeps:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from reference import root_dir

        sweeps = [root_dir() / "fresh"]
    missing = [str(s) for s in sweeps if not s.is_dir()]
    if missing:
        print(f"report_cost: error: no such sweep folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.one:
        print(json.dumps({"seconds": build_once(args.one, sweeps, args.out)}))
        return 0
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for mode in MODES:
                seconds[mode].append(timed(mode, sweeps, Path(tmp) / f"{mode}{repeat}"))
                print(f"{mode}: {seconds[mode][-1]:.1f} s", flush=True)
    medians = {mode: statistics.median(found) for mode, found in seconds.items()}
    print(f"sweeps: {', '.join(map(str, sweeps))}")
    print(f"t approximation: median {medians['t']:.1f} s; simulated: {medians['simulated']:.1f} s")
    print(f"report_simulated_vs_t_ratio={medians['simulated'] / medians['t']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
