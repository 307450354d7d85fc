"""Unrolled recurrences: one weight applied again and again along a data path, and Loop/Scan cells (CL201)."""

from __future__ import annotations

from dataclasses import dataclass

from .flow import _CountStep, _data_flow, _walk
from .index import _Index, _index
from .ops import MATMUL_OPS
from .summary import GraphSummary

ACTIVATION_OPS = frozenset({"Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "ThresholdedRelu", "Softplus",
                            "Tanh", "Sigmoid", "HardSigmoid", "Softsign", "HardSwish", "Mish"})
MAX_TIED_CANDIDATES = 32
_STEP_GLUE = frozenset({"Add", "Sum", "Sub", "Mul", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Cast",
                        "Concat", "Split", "Gather"})


@dataclass(frozen=True)
class TiedChain:
    """One weight applied again and again along a data path: an unrolled recurrence."""

    weight: str
    steps: int
    nodes: tuple[str, ...]
    activations: tuple[str, ...]  # activation ops that follow the steps


def tied_chains(g: GraphSummary, min_steps: int = 3) -> list[TiedChain]:
    """Weights used by `min_steps` or more MatMul/Gemm nodes on one path with no other weight layer
    between them: an RNN unrolled by the exporter (the dynamo exporter unrolls ``nn.RNN``)."""
    ix = _index(g)
    uses: dict[str, set[int]] = {}
    for i, n in enumerate(g.nodes):
        if ix.kinds.get(i) == "weight" and (n.op in MATMUL_OPS or n.op == "Gemm"):
            for t in n.inputs:
                if t and t in ix.const:
                    uses.setdefault(t, set()).add(i)
    candidates = sorted(((w, m) for w, m in uses.items() if len(m) >= min_steps), key=lambda wm: (-len(wm[1]), wm[0]))
    out = []
    for weight, members in candidates[:MAX_TIED_CANDIDATES]:  # one pass over the graph per candidate
        step = _CountStep(lambda i, n, m=members: i in m, lambda i, n: ix.kinds.get(i) == "weight")
        _data_flow(ix, step)
        depth, chain = step.best
        if depth < min_steps:
            continue
        nodes = list(reversed(list(_walk(chain))))
        acts = sorted({a for j in nodes for a in _activations_after(ix, j)})
        out.append(TiedChain(weight, depth, tuple(g.nodes[j].name for j in nodes), tuple(acts)))
    return out


def _activations_after(ix: _Index, i: int, hops: int = 4) -> set[str]:
    found: set[str] = set()
    frontier = [i]
    for _ in range(hops):
        nxt = []
        for j in frontier:
            for t in ix.g.nodes[j].outputs:
                for k in ix.consumers.get(t, ()):
                    op = ix.g.nodes[k].op
                    if op in ACTIVATION_OPS:
                        found.add(op)
                    elif op in _STEP_GLUE:
                        nxt.append(k)
        frontier = nxt
    return found


@dataclass(frozen=True)
class LoopCell:
    """A Loop/Scan node whose body applies weights: a recurrence written as a loop (e.g. by tf2onnx)."""

    name: str
    op: str
    weights: tuple[str, ...]
    activations: tuple[str, ...]


def loop_cells(g: GraphSummary) -> list[LoopCell]:
    """Loop/Scan nodes with weight layers in their (inlined) bodies, and the activations there."""
    ix = _index(g)
    out = []
    for n in g.nodes:
        if n.op not in ("Loop", "Scan"):
            continue
        prefix = n.name + "/"
        body = [i for i, m in enumerate(g.nodes) if m.scope.startswith(prefix)]
        weights = tuple(g.nodes[i].name for i in body if ix.kinds.get(i) == "weight")
        if weights:
            acts = tuple(sorted({g.nodes[i].op for i in body if g.nodes[i].op in ACTIVATION_OPS}))
            out.append(LoopCell(n.name, n.op, weights, acts))
    return out
