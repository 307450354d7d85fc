"""The data-flow walk the path analyses share: chains of node indices, a topological pass with a
per-node step, and the counting step for depths."""

from __future__ import annotations

from typing import Any, Iterator, Optional

from .index import _Index
from .ops import SATURATING_OPS, SHAPE_OPS
from .summary import Node

# -- chains along the data flow --------------------------------------------------------------------
# A chain is a persistent linked list of node indices: (node, parent) or None.
Chain = Optional[tuple[int, Any]]


def _walk(chain: Chain) -> Iterator[int]:
    while chain is not None:
        yield chain[0]
        chain = chain[1]


def _data_flow(ix: _Index, step) -> None:
    """Propagate a per-tensor state from the data inputs: `step(i, node, states) -> state | None`.

    States live only on data tensors (not constants, not shapes); a node with no
    data input is skipped.
    """
    state: dict[str, Any] = {t.name: step.initial for t in ix.g.inputs}
    for i in ix.order:
        n = ix.g.nodes[i]
        if n.op in SHAPE_OPS:
            continue
        ins = [state[t] for t in n.inputs if t and t in state and t not in ix.const]
        if not ins:
            continue
        out = step(i, n, ins)
        for t in n.outputs:
            if t:
                state[t] = out


def _op_label(ix: _Index, i: int) -> str:
    n = ix.g.nodes[i]
    if n.op in SATURATING_OPS or ix.kinds.get(i) != "sat":
        return n.op
    return "decomposed Sigmoid/Tanh"


def _label(ix: _Index, i: int) -> str:
    return f"{ix.g.nodes[i].name} ({_op_label(ix, i)})"


class _CountStep:
    """Longest chain of nodes that satisfy `counts` (and the chain itself); `resets` nodes start over."""

    initial = (0, None)

    def __init__(self, counts, resets=None) -> None:
        self.counts = counts
        self.resets = resets
        self.best: tuple[int, Chain] = (0, None)

    def __call__(self, i: int, n: Node, ins: list) -> tuple[int, Chain]:
        depth, chain = max(ins, key=lambda s: s[0])
        if self.resets is not None and self.resets(i, n) and not self.counts(i, n):
            return 0, None
        if self.counts(i, n):
            depth, chain = depth + 1, (i, chain)
            if depth > self.best[0]:
                self.best = (depth, chain)
        return depth, chain
