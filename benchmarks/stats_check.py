"""Checks the report's statistics on sweeps whose truth is known, built from real per-item data.

A real dense job and a real compressed job (default: the newest sweep under multirun/ holding
both `compression=none` and `compression=wanda` folders, e.g. `make run`) give, per item and per
mean-aggregated metric, the dense value and the compressed-minus-dense difference. A simulated
config keeps dense's items and documents and takes

    value_i = dense_i + delta + e_i,   e_i drawn from the centred real differences, random sign,

so its true change vs dense is exactly `delta` (0 for a null config) and its noise is the real
noise of a compressed model, item by item. Each simulated sweep is written as job folders and
read by the report's own `analyse` (intervals, paired changes, p-values, Benjamini-Hochberg over
every headline and group cell). Printed:

- false_finding_rate: share of null sweeps (dense + 3 configs with no effect) in which the
  report marks any change (goal <= 0.05: under the complete null, BH's 5 % FDR is the chance of
  any false mark);
- interval_coverage: share of 95 % intervals of the change (headline metrics, every config of
  every sweep) that contain the true change (goal 0.93-0.97);
- power_at_d<effect>: share of planted changes of `effect` paired-difference SDs marked after
  the correction; power_at_detectable: share with p <= 0.05 (before correction) of changes as
  large as the report's own detectable change, which the report says are found 80 % of the time;
- interval_coverage_seeds: the same coverage for configs run with 3 calibration seeds, each seed
  shifting the config by a seed effect (SD = the change's item SE), read through the two-stage
  bootstrap: with 3 seeds the spread between seeds is itself uncertain, so this runs lower.

Usage: python benchmarks/stats_check.py [--dense DIR --compressed DIR] [--null 200 --planted 100]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from compsafe.report.analysis import analyse
from compsafe.report.catalogue import DIMENSIONS, HEATMAPS
from compsafe.report.stats import _is_mean, task_aggregations
from compsafe.results import ITEMS_DIR, RESULTS_FILE

HEADLINE = {m.key for metrics in DIMENSIONS.values() for m in metrics}
BOOTSTRAP_SEEDS = iter(range(10**9))  # each sweep's bootstrap its own draws, reproducibly
EFFECTS = (0.25, 0.5)  # planted changes, in SDs of the per-item paired difference


def newest_pair() -> tuple[Path, Path]:
    """The newest sweep under multirun/ with a dense and a Wanda job."""
    for sweep in sorted(Path("multirun").glob("*/"), key=lambda p: p.stat().st_mtime)[::-1]:
        dense = sorted(sweep.glob("compression=none*"))
        wanda = sorted(sweep.glob("compression=wanda*"))
        if dense and wanda and (dense[0] / RESULTS_FILE).is_file():
            return dense[0], wanda[0]
    sys.exit("stats_check: no sweep with compression=none and compression=wanda: run make run")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Source:
    """The real data: dense's items per task, and per mean metric the centred differences."""

    def __init__(self, dense: Path, compressed: Path):
        self.record = json.loads((dense / RESULTS_FILE).read_text(encoding="utf-8"))
        aggregations = task_aggregations()
        self.items: dict[str, list[dict]] = {}
        self.noise: dict[tuple[str, str], np.ndarray] = {}
        for task_key, bench in (self.record.get("benchmarks") or {}).items():
            path, other = dense / ITEMS_DIR / f"{task_key}.jsonl", compressed / ITEMS_DIR
            if not path.is_file() or not (other / f"{task_key}.jsonl").is_file():
                continue
            ours, theirs = read_jsonl(path), read_jsonl(other / f"{task_key}.jsonl")
            if [i.get("doc_hash") for i in ours] != [i.get("doc_hash") for i in theirs]:
                continue
            for metric, aggregate in aggregations.get(bench.get("task"), {}).items():
                if f"{task_key}/{metric}" not in HEADLINE or not _is_mean(aggregate):
                    continue
                pairs = [(a.get(metric), b.get(metric)) for a, b in zip(ours, theirs, strict=True)]
                if any(not isinstance(x, (int, float)) for p in pairs for x in p):
                    continue  # a metric of some items only (fluent text): left out
                diff = np.array([b - a for a, b in pairs], dtype=float)
                if diff.std() > 0:
                    self.noise[(task_key, metric)] = diff - diff.mean()
            if any(k[0] == task_key for k in self.noise):
                self.items[task_key] = ours
        self.dense = {  # dense's value per item of each kept metric, read once
            (t, m): np.array([item[m] for item in self.items[t]], dtype=float)
            for (t, m) in self.noise
        }

    def metrics(self, task_key: str) -> list[str]:
        return [m for t, m in self.noise if t == task_key]


def write_job(root: Path, name: str, source: Source, values: dict, method: str) -> None:
    """A job folder as a real job writes it: results.json and items, with `values`
    {(task, metric): per-item values} in place of dense's."""
    folder = root / name
    (folder / ITEMS_DIR).mkdir(parents=True)
    metrics: dict[str, float] = {}
    benchmarks = {}
    for task_key, items in source.items.items():
        benchmarks[task_key] = source.record["benchmarks"][task_key]
        out = []
        for i, item in enumerate(items):
            item = copy.copy(item)
            for metric in source.metrics(task_key):
                item[metric] = float(values[(task_key, metric)][i])
            out.append(item)
        for metric in source.metrics(task_key):
            column = values[(task_key, metric)]
            metrics[f"{task_key}/{metric}"] = float(np.mean(column))
            for t, m, field in HEATMAPS:
                if (t, m) != (task_key, metric):
                    continue
                groups: dict[str, list[float]] = {}
                for item, v in zip(items, column, strict=True):
                    groups.setdefault(str(item["doc"].get(field)), []).append(float(v))
                for group, vs in groups.items():
                    metrics[f"{task_key}/{metric}/{field}={group}"] = statistics.fmean(vs)
        with open(folder / ITEMS_DIR / f"{task_key}.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(item) + "\n" for item in out)
    record = {
        "status": "completed",
        "model": source.record["model"],
        "compression": {"method": method, "label": name, "target_sparsity": 0.5},
        "benchmarks": benchmarks,
        "metrics": metrics,
        "environment": {},
    }
    if method == "none":
        record["compression"] = {"method": "none", "label": "dense", "target_sparsity": 0.0}
    (folder / RESULTS_FILE).write_text(json.dumps(record), encoding="utf-8")


def config_values(source: Source, rng, shift: dict) -> dict:
    """dense + shift + real noise (resampled, random sign) per item."""
    out = {}
    for key, base in source.dense.items():
        noise = rng.choice(source.noise[key], len(base)) * rng.choice([-1.0, 1.0], len(base))
        out[key] = base + shift.get(key, 0.0) + noise
    return out


def sd(source: Source, key) -> float:
    return float(source.noise[key].std(ddof=1))


def run_sweep(source: Source, configs: dict[str, tuple[dict, list[dict]]], iterations: int):
    """Writes dense and each config (its true shifts, then one values dict per seed job) and
    analyses them; returns {config: (true shift, its row)} and the analysis."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_job(root, "dense", source, source.dense, "none")
        for name, (_, seeds) in configs.items():
            for k, values in enumerate(seeds):
                job = f"{name}-seed{k}" if len(seeds) > 1 else name
                write_job(root, job, source, values, "wanda")
                if len(seeds) > 1:  # replicates: same config, seeds 0, 1, 2
                    path = root / job / RESULTS_FILE
                    record = json.loads(path.read_text())
                    record["compression"]["label"] = name
                    record["compression"]["calibration"] = {"seed": k}
                    record["config"] = {"compression": name, "calibration": {"seed": k}}
                    path.write_text(json.dumps(record))
        analysis = analyse([root], iterations=iterations, seed=next(BOOTSTRAP_SEEDS))
    rows = {}
    for row in analysis.rows:
        name = row.label if row.seeded else row.folder.name
        if name in configs:
            rows[name] = (configs[name][0], row)
    return rows, analysis


def headline_cells(analysis, row):
    for key in HEADLINE:
        cell = analysis.cell(row, key)
        if cell is not None and cell.delta is not None:
            yield key, cell


def covered(cell, truth: float) -> bool | None:
    if cell.delta_interval is None:
        return None
    return cell.delta_interval[1] <= truth <= cell.delta_interval[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", type=Path)
    parser.add_argument("--compressed", type=Path)
    parser.add_argument("--null", type=int, default=200, help="null sweeps")
    parser.add_argument("--planted", type=int, default=100, help="sweeps with planted effects")
    parser.add_argument("--seeded", type=int, default=60, help="sweeps with 3-seed configs")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    dense, compressed = (args.dense, args.compressed) if args.dense else newest_pair()
    source = Source(dense, compressed)
    keys = sorted(source.noise)
    n_items = {t: len(v) for t, v in source.items.items()}
    print(f"data: {dense} vs {compressed}")
    print(f"metrics: {len(keys)} ({', '.join(f'{t}/{m}' for t, m in keys)}); items {n_items}")
    rng = np.random.default_rng(2026)
    start = time.time()
    coverage: list[bool] = []
    by_metric: dict[str, list[bool]] = {}

    false_sweeps = 0
    for _ in range(args.null):
        configs = {f"null{k}": ({}, [config_values(source, rng, {})]) for k in range(3)}
        rows, analysis = run_sweep(source, configs, args.bootstrap)
        marked = [c for c in analysis.cells.values() if c.significant]
        false_sweeps += bool(marked)
        for _, row in rows.values():
            for key, cell in headline_cells(analysis, row):
                if (c := covered(cell, 0.0)) is not None:
                    coverage.append(c)
                    by_metric.setdefault(key, []).append(c)

    hits = {e: [] for e in EFFECTS}
    detectable_hits: list[bool] = []
    false_marks = all_marks = 0
    # the report's own detectable change per metric, from one null sweep
    _, probe = run_sweep(source, {"probe": ({}, [config_values(source, rng, {})])}, args.bootstrap)
    probe_row = next(r for r in probe.rows if r.folder.name == "probe")
    detectable = {}
    for key, cell in headline_cells(probe, probe_row):
        task, metric = key.split("/", 1)
        if (task, metric) in source.noise and cell.detectable:
            detectable[(task, metric)] = cell.detectable
    for _ in range(args.planted):
        configs = {"null": ({}, [config_values(source, rng, {})])}
        for e in EFFECTS:
            shift = {k: e * sd(source, k) for k in keys}
            configs[f"d{e}"] = (shift, [config_values(source, rng, shift)])
        configs["detectable"] = (detectable, [config_values(source, rng, detectable)])
        rows, analysis = run_sweep(source, configs, args.bootstrap)
        for name, (shift, row) in rows.items():
            for key, cell in headline_cells(analysis, row):
                truth = shift.get(tuple(key.split("/", 1)), 0.0)
                if (c := covered(cell, truth)) is not None:
                    coverage.append(c)
                    by_metric.setdefault(key, []).append(c)
                all_marks += cell.significant
                false_marks += cell.significant and name == "null"
                if name.startswith("d") and name != "detectable":
                    hits[float(name[1:])].append(cell.significant)
                if name == "detectable" and cell.p_value is not None:
                    detectable_hits.append(cell.p_value <= 0.05)

    seeded_coverage: list[bool] = []
    for _ in range(args.seeded):
        shift = {k: 0.25 * sd(source, k) for k in keys}
        seed_sd = {k: sd(source, k) / math.sqrt(len(source.dense[k])) for k in keys}
        offsets = [{k: shift[k] + rng.normal(0, seed_sd[k]) for k in keys} for _ in range(3)]
        seeds = [config_values(source, rng, o) for o in offsets]
        rows, analysis = run_sweep(source, {"seeded": (shift, seeds)}, args.bootstrap)
        for key, cell in headline_cells(analysis, rows["seeded"][1]):
            if (c := covered(cell, shift.get(tuple(key.split("/", 1)), 0.0))) is not None:
                seeded_coverage.append(c)

    print(
        f"sweeps: {args.null} null, {args.planted} planted, {args.seeded} seeded; "
        f"{args.bootstrap} bootstrap resamples; {time.time() - start:.0f} s"
    )
    print(
        f"false_finding_rate={false_sweeps / max(args.null, 1):.3f}  "
        f"({false_sweeps} of {args.null} null sweeps with any mark; goal <= 0.05)"
    )
    print(f"interval_coverage={np.mean(coverage):.3f}  ({len(coverage)} intervals; goal 0.93-0.97)")
    for e in EFFECTS:
        print(
            f"power_at_d{e}={np.mean(hits[e]):.3f}  ({len(hits[e])} planted changes, "
            "marked after Benjamini-Hochberg)"
        )
    print(
        f"power_at_detectable={np.mean(detectable_hits):.3f}  ({len(detectable_hits)} changes "
        "the size of the report's detectable change, p <= 0.05; the report claims 0.80)"
    )
    print(
        f"false_discovery_share={false_marks / max(all_marks, 1):.3f}  "
        f"({false_marks} of {all_marks} marks in planted sweeps on the null config)"
    )
    if seeded_coverage:
        print(
            f"interval_coverage_seeds={np.mean(seeded_coverage):.3f}  "
            f"({len(seeded_coverage)} intervals, 3 seeds, two-stage bootstrap)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
