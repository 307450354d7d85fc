"""A braille canvas: 2 x 4 dots per character cell, one layer per series, drawn with lines.

Each layer is a grid of dot bits per cell; `Canvas.cells` tells which layer owns a cell (the
first layer drawn wins where curves cross), so a renderer can colour or mark each layer apart.
"""

from __future__ import annotations

import numpy as np

BASE = 0x2800
# bit of the dot at (column 0-1, row 0-3) inside a cell
_BITS = np.array([[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]], dtype=np.uint8)


class Canvas:
    """`cols` x `rows` character cells = (2 cols) x (4 rows) dots; y grows downwards."""

    def __init__(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.layers: list[np.ndarray] = []

    @property
    def width(self) -> int:
        return 2 * self.cols

    @property
    def height(self) -> int:
        return 4 * self.rows

    def layer(self) -> int:
        """Start a new layer (one per series); returns its index."""
        self.layers.append(np.zeros((self.rows, self.cols), dtype=np.uint8))
        return len(self.layers) - 1

    def dots(self, layer: int, x: np.ndarray, y: np.ndarray) -> None:
        """Set the dots at integer pixel positions (those outside the canvas are dropped)."""
        x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
        ok = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
        x, y = x[ok], y[ok]
        np.bitwise_or.at(self.layers[layer], (y // 4, x // 2), _BITS[x % 2, y % 4])

    def polyline(self, layer: int, x: np.ndarray, y: np.ndarray) -> None:
        """Connect consecutive points (float pixel positions) with straight lines of dots."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if len(x) == 1:
            self.dots(layer, np.rint(x), np.rint(y))
            return
        seg = np.maximum(np.ceil(np.maximum(np.abs(np.diff(x)), np.abs(np.diff(y)))), 1).astype(np.int64)
        start = np.repeat(np.arange(len(seg)), seg)
        t = (np.arange(int(seg.sum())) - np.repeat(np.cumsum(seg) - seg, seg)) / np.repeat(seg, seg)
        px = x[start] + (x[start + 1] - x[start]) * t
        py = y[start] + (y[start + 1] - y[start]) * t
        self.dots(layer, np.rint(np.append(px, x[-1])), np.rint(np.append(py, y[-1])))

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(owner layer per cell, -1 when empty; that layer's dot bits)."""
        owner = np.full((self.rows, self.cols), -1, dtype=np.int64)
        bits = np.zeros((self.rows, self.cols), dtype=np.uint8)
        for i, layer in enumerate(self.layers):
            free = (owner < 0) & (layer > 0)
            owner[free], bits[free] = i, layer[free]
        return owner, bits


def char(bits: int) -> str:
    """The braille character with these dot bits."""
    return chr(BASE + int(bits))
