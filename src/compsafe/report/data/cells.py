"""What the report computed: one `Cell` per metric of a config, gathered in an `Analysis`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compsafe.report.data.catalogue import Catalogue, Metric
from compsafe.report.data.records import Row


@dataclass
class Cell:
    """One metric of one config: what a report table cell shows."""

    value: float
    interval: tuple[float, float] | None = None
    delta: float | None = None  # vs dense of the same model and sweep
    delta_interval: tuple[float, float, float] | None = None
    significant: bool = False  # marked: see `report.stats.inference`
    p_value: float | None = None  # two-sided bootstrap p of the change vs dense
    q_value: float | None = None  # Benjamini-Hochberg over the report's p-values
    detectable: float | None = None  # smallest change detectable (80 % power, 5 % level)
    n_items: int | None = None  # items of the value
    n_paired: int | None = None  # items of the change: paired with dense's
    seed_sd: float | None = None  # between calibration seeds (SD), seeded configs only
    n_seeds: int = 1


@dataclass
class Analysis:
    """Every config's cells, the catalogue they follow, and the jobs that failed or never ran."""

    rows: list[Row]  # one per config: replicates over seeds are one row
    catalogue: Catalogue = field(default_factory=Catalogue)
    jobs: list[Row] = field(default_factory=list)  # every completed job
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    failed: list[Row] = field(default_factory=list)
    missing: list[tuple[Path, str]] = field(default_factory=list)  # (sweep, job folder name)
    tested: int = 0  # changes vs dense with a p-value: the family the FDR is controlled over
    warnings: list[str] = field(default_factory=list)  # jobs from other machines or versions
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why

    def dense_of(self, row: Row) -> Row | None:
        for other in self.rows:
            if other.is_dense and other.sweep == row.sweep and other.model == row.model:
                return other
        return None

    def metrics_present(self) -> list[tuple[str, Metric]]:
        """(dimension, metric) of every shown metric some config has a cell of."""
        present = {key for (_, key) in self.cells}
        return [(m.dimension, m) for m in self.catalogue.shown() if m.key in present]

    def cell(self, row: Row, key: str) -> Cell | None:
        return self.cells.get((id(row), key))

    @property
    def multi_model(self) -> bool:
        return len({r.model for r in self.rows}) > 1

    def group_cells(self, task_key: str, metric: str, field: str) -> dict[tuple[int, str], Cell]:
        """{(row, group value): cell} of one group breakdown, for rows with a change vs dense."""
        prefix = f"{task_key}/{metric}/{field}="
        out: dict[tuple[int, str], Cell] = {}
        for row in self.rows:
            for key in row.record.get("metrics") or {}:
                cell = self.cell(row, key) if key.startswith(prefix) else None
                if cell is not None and cell.delta is not None:
                    out[(id(row), key[len(prefix) :])] = cell
        return out
