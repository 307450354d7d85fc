"""The model graph reduced to what the graph rules need: tensors, nodes, the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, element type ("float", "int64", ...) and shape (None = unknown dim)."""

    name: str
    elem_type: str
    shape: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Node:
    """One op of the flattened graph. Names are unique within a summary."""

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)  # simple attributes only (numbers, strings, lists)
    domain: str = ""
    scope: str = ""  # "" in the main graph, else the function or subgraph it was inlined from


@dataclass
class GraphSummary:
    """What curvelint knows about a model graph (picklable, no onnx objects)."""

    path: str
    nodes: list[Node]
    inputs: list[TensorInfo]  # data inputs (initializers excluded)
    outputs: list[TensorInfo]
    constants: frozenset[str]  # initializers and Constant outputs
    shapes: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # known shapes of some inner tensors
    producer: str = ""
    opset: int | None = None
    notes: list[str] = field(default_factory=list)
    _index: Any = field(default=None, repr=False, compare=False)  # analysis cache, not pickled

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}

    def ops(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts
