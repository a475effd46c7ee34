"""Where things live: no import cycle in src/, the report reads records only, the check path
stays light, and the report's layers import downwards only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

SRC = REPO / "src"
HEAVY = ("torch", "transformers", "lm_eval", "llmcompressor", "compressed_tensors", "datasets")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """Every module of ours that `path` imports anywhere: at module level, inside functions and
    under TYPE_CHECKING alike (a cycle through any of them is a tangle a reader must hold)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
    return out & known


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, set(found)) - {name} for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_anywhere_in_src():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_report_layers_import_downwards_only():
    """data -> (nothing of the report); stats -> data; view -> data, stats; cli on top; and no
    report module imports evaluation, the job, compression or models."""
    edges = graph()
    layers = {"data": 0, "stats": 1, "view": 2, "cli": 3}

    def layer(name: str) -> int | None:
        parts = name.split(".")
        return (
            layers.get(parts[2]) if parts[:2] == ["compsafe", "report"] and len(parts) > 2 else None
        )

    for name, targets in edges.items():
        if layer(name) is None:
            continue
        for target in targets:
            assert not target.startswith(
                ("compsafe.evaluation", "compsafe.job", "compsafe.compression", "compsafe.models")
            ), (name, target)
            if layer(target) is not None:
                assert layer(target) <= layer(name), (name, target)


def run_python(code: str, cwd: Path | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAVY_LOADED = f"""
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))
"""
LOADED = f"""
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}
                        or m.startswith('compsafe.evaluation'))))
"""


@pytest.mark.slow
def test_the_report_reads_records_only(tiny_sweep, tmp_path):
    """A whole report of a real sweep (tables, figures, page, CSV) and its table import neither
    torch nor any evaluation code: what the report knows of each task comes from the records."""
    folder, _ = tiny_sweep
    out = tmp_path / "report"
    code = (
        "from compsafe.report.cli import report_main, table_main\n"
        f"assert report_main([{str(folder)!r}, '--bootstrap', '200', '--out', {str(out)!r}]) == 0\n"
        f"assert table_main([{str(folder)!r}]) == 0\n" + LOADED
    )
    assert run_python(code) == []
    assert "magnitude 50%" in (out / "report.md").read_text()


def test_the_check_path_imports_nothing_heavy():
    """Preflight of a whole sweep (every job's model, compression, calibration, benchmark
    checks) and a typo's one-line error, without torch, transformers, lm-eval, llm-compressor
    or datasets: a typo is answered at once."""
    code = (
        "from compsafe.cli import CONFIG_DIR\n"
        "from compsafe.preflight import preflight\n"
        "from compsafe.errors import ConfigError\n"
        "assert preflight(['-m', 'compression=none,magnitude,wanda,gptq', "
        "'benchmark=quick'], CONFIG_DIR) == 4\n"
        "try:\n    preflight(['compression=no_such_method'], CONFIG_DIR)\n"
        "except ConfigError as err:\n    assert 'no_such_method' in str(err)\n" + HEAVY_LOADED
    )
    assert run_python(code) == []
