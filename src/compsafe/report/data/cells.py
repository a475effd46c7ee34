"""What the report computed: one `Cell` per metric of a config, gathered in an `Analysis`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compsafe.report.data.catalogue import Catalogue, Metric
from compsafe.report.data.records import Row

CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"


@dataclass
class Cell:
    """One metric of one config: its value and, against dense, its change and whether marked."""

    value: float
    interval: tuple[float, float] | None = None
    delta: float | None = None  # vs dense of the same model and sweep
    delta_interval: tuple[float, float, float] | None = None  # (change, low, high)
    ratio: float | None = None  # a perplexity's change: ours / dense
    ratio_interval: tuple[float, float] | None = None
    significant: bool = False  # marked: q <= FDR in its family, eligible, not withheld
    p_value: float | None = None
    p_error: float = 0.0  # Monte Carlo standard error of the p-value (0: exact)
    q_value: float | None = None  # Benjamini-Hochberg within its family
    q_by: float | None = None  # Benjamini-Yekutieli within its family
    test: str | None = None  # how the p-value was computed
    family: str | None = None  # confirmatory (a dimension's headline) | exploratory
    eligible: bool = True  # meets the effective-sample rule (groups: >= MIN_UNITS units)
    withheld: str | None = None  # why it is not marked whatever its q-value
    detectable: float | None = None  # smallest change marked with 80 % power at `level`
    detectable_level: float | None = None
    n_items: int | None = None  # items of the value
    n_paired: int | None = None  # items of the change: both jobs have a value for them
    units: int | None = None  # resampling units of the change (clusters count once)
    paired_only: bool = False  # the change rests on fewer items than the value
    conditional: str | None = None  # what the interval is conditional on (calibration draws)
    seed_sd: float | None = None  # between calibration seeds (SD), seeded configs only
    n_seeds: int = 1
    is_group: bool = False
    change_at: Callable[[float], tuple[float, float] | None] | None = field(
        default=None, repr=False, compare=False
    )  # the change's interval at any level (for selection-adjusted intervals)
    power_basis: Any = field(default=None, repr=False, compare=False)
    # what the change's test leaves for its power (report.stats.power.PowerBasis: the data
    # layer imports nothing of stats) and a permutation test to extend


@dataclass
class Analysis:
    """Every config's cells, the catalogue they follow, and the jobs that failed or never ran."""

    rows: list[Row]  # one per config: replicates over seeds are one row
    catalogue: Catalogue = field(default_factory=Catalogue)
    jobs: list[Row] = field(default_factory=list)  # every completed job
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    failed: list[Row] = field(default_factory=list)
    missing: list[tuple[Path, str]] = field(default_factory=list)  # (sweep, job folder name)
    tested: dict[str, int] = field(default_factory=dict)  # family -> changes with a p-value
    marked_by: dict[str, int] = field(default_factory=dict)  # family -> marks under BY
    flips: dict[tuple[int, str], Any] = field(default_factory=dict)  # (row, task): answers moved
    warnings: list[str] = field(default_factory=list)  # jobs from other machines or versions
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why

    def dense_of(self, row: Row) -> Row | None:
        """The dense row a config is compared with: its own sweep's, for the same model; when
        its sweep has none (seeds swept after the dense quickstart), the report's one dense
        row of that model (the pairing by document then says whether they can be compared)."""
        dense = [o for o in self.rows if o.is_dense and o.model == row.model]
        own = [o for o in dense if o.sweep == row.sweep]
        return own[0] if own else (dense[0] if len(dense) == 1 else None)

    def metrics_present(self) -> list[tuple[str, Metric]]:
        """(dimension, metric) of every shown metric some config has a cell of."""
        present = {key for (_, key) in self.cells}
        return [(m.dimension, m) for m in self.catalogue.shown() if m.key in present]

    def cell(self, row: Row, key: str) -> Cell | None:
        return self.cells.get((id(row), key))

    @property
    def multi_model(self) -> bool:
        return len({r.model for r in self.rows}) > 1

    @property
    def total_tested(self) -> int:
        return sum(self.tested.values())

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
