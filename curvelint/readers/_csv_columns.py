"""A CSV table's columns as their logged cells only (issue 18): Lightning's rows are half empty, so a column
holds the values of its non-empty cells and their row indices, not a value and a flag for every row.

Both CSV parsers give these (`csvlog._split` through `Column.from_dense`, `_csv_fast` directly) and the run
assembly (`csvlog._runs`) takes each fit's cells from them with `Column.cells_in`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Column:
    """The logged cells of one column of a `length`-row table: `values` (float64) at increasing row indices
    `rows` (None: a cell in every row), and `bad`, the number of cells that were not numbers (not logged)."""

    values: np.ndarray
    rows: np.ndarray | None
    length: int
    bad: int = 0

    def __post_init__(self) -> None:
        if self.rows is not None and len(self.rows) == self.length:
            object.__setattr__(self, "rows", None)

    @classmethod
    def from_dense(cls, values: np.ndarray, logged: np.ndarray, bad: int = 0) -> Column:
        """From a value for every row (NaN where none was logged) and the logged mask (`csvlog._column`)."""
        if logged.all():
            return cls(values, None, len(values), bad)
        rows = np.flatnonzero(logged)
        return cls(values[rows], rows, len(values), bad)

    def row_indices(self) -> np.ndarray:
        if self.rows is None:
            return np.arange(self.length, dtype=np.int32 if self.length < 2 ** 31 else np.int64)
        return self.rows

    def dense(self) -> np.ndarray:
        """A value for every row, NaN where no cell was logged."""
        if self.rows is None:
            return self.values
        out = np.full(self.length, np.nan)
        out[self.rows] = self.values
        return out

    def cells_in(self, fit_rows: np.ndarray, fit_steps: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, slice | np.ndarray]:
        """(steps, values, where) of the cells in `fit_rows` (increasing row indices, `fit_steps` their steps);
        `where` selects those rows from a full-length column. Values are a view when the cells are consecutive."""
        if not len(fit_rows):
            return fit_steps[:0], self.values[:0], fit_rows[:0]
        first, last = int(fit_rows[0]), int(fit_rows[-1])
        consecutive = last - first + 1 == len(fit_rows)
        if self.rows is None:
            if consecutive:
                return fit_steps.copy(), self.values[first:last + 1], slice(first, last + 1)
            return fit_steps.copy(), self.values[fit_rows], fit_rows
        bounds = np.array((first, last + 1), dtype=self.rows.dtype)  # of the rows' type: no cast of the rows
        start, stop = np.searchsorted(self.rows, bounds)
        rows, values = self.rows[start:stop], self.values[start:stop]
        if consecutive:
            return fit_steps[rows - first], values, rows
        at = np.searchsorted(fit_rows, rows.astype(fit_rows.dtype, copy=False))  # < len(fit_rows): rows <= last
        hit = fit_rows[at] == rows
        if hit.all():
            return fit_steps[at], values, rows
        return fit_steps[at[hit]], values[hit], rows[hit]
