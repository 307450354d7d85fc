"""A model graph reduced to what the graph rules need, and the path analyses they share.

`GraphSummary` is a flat list of `Node`s: the ONNX reader (`curvelint.readers.onnx_graph`)
inlines local functions and If/Loop/Scan bodies into it, so nothing here imports onnx.
The analyses walk the data flow from the model inputs in topological order:

* `saturating_paths`: chains of saturating activations (Sigmoid, Tanh, HardSigmoid,
  Softsign, and their decomposed forms) that feed a weight layer with no normalization
  in between (CL200). A residual ``Add`` of two data paths takes the shorter one, since
  the gradient flows through the skip connection.
* `weight_depth`: the longest chain of weight layers (CL202); `recurrent_depth` the
  longest chain of simple RNN layers (CL201).
* `input_preprocessing`: whether the graph normalizes its inputs itself (CL300).

Unknown ops pass the state of their inputs through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

WEIGHT_OPS = frozenset({"Gemm", "Conv", "ConvTranspose", "LSTM", "GRU", "RNN", "QLinearConv", "ConvInteger",
                        "DeformConv"})
MATMUL_OPS = frozenset({"MatMul", "MatMulInteger", "QLinearMatMul", "Einsum", "FusedMatMul"})
RECURRENT_OPS = frozenset({"LSTM", "GRU", "RNN"})
NORM_OPS = frozenset({
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
    "RMSNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
    "SkipSimplifiedLayerNormalization", "MeanVarianceNormalization", "LpNormalization",
})
SATURATING_OPS = frozenset({"Sigmoid", "Tanh", "HardSigmoid", "Softsign"})
SHAPE_OPS = frozenset({"Shape", "Size"})  # their outputs describe a tensor, they do not carry its values
RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                        "Bernoulli"})
LAYOUT_OPS = frozenset({"Cast", "CastLike", "Reshape", "Flatten", "Transpose", "Identity", "Unsqueeze", "Squeeze",
                        "Expand", "Dropout"})


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


# -- structure -------------------------------------------------------------------------------------
class _Index:
    """Producer/consumer maps, constant-derived tensors and a topological order of a summary."""

    def __init__(self, g: GraphSummary) -> None:
        self.g = g
        self.size = len(g.nodes)
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[int]] = {}
        for i, n in enumerate(g.nodes):
            for t in n.outputs:
                if t:
                    self.producer[t] = i
            for t in n.inputs:
                if t:
                    self.consumers.setdefault(t, []).append(i)
        self.order = self._topo()
        self.const = self._constant_derived()
        self.kinds = self._kinds()

    def _topo(self) -> list[int]:
        nodes = self.g.nodes
        deps = [{self.producer[t] for t in n.inputs if t in self.producer} - {i} for i, n in enumerate(nodes)]
        users: dict[int, list[int]] = {}
        for i, d in enumerate(deps):
            for j in d:
                users.setdefault(j, []).append(i)
        waiting = [len(d) for d in deps]
        ready = [i for i, w in enumerate(waiting) if w == 0]
        order: list[int] = []
        while ready:
            i = ready.pop()
            order.append(i)
            for u in users.get(i, ()):
                waiting[u] -= 1
                if waiting[u] == 0:
                    ready.append(u)
        if len(order) < len(nodes):  # a cycle in a malformed file: keep the rest in file order
            seen = set(order)
            order.extend(i for i in range(len(nodes)) if i not in seen)
        return order

    def _constant_derived(self) -> set[str]:
        """Tensors computed from constants only (folded weights such as Transpose(W))."""
        const = set(self.g.constants)
        data_inputs = {t.name for t in self.g.inputs}
        for i in self.order:
            n = self.g.nodes[i]
            ins = [t for t in n.inputs if t]
            if n.op in RANDOM_OPS or n.op in SHAPE_OPS:
                continue
            if (n.op == "Constant" or (ins and all(t in const for t in ins))) and not (set(ins) & data_inputs):
                const.update(t for t in n.outputs if t)
        return const

    def node(self, tensor: str) -> Node | None:
        i = self.producer.get(tensor)
        return None if i is None else self.g.nodes[i]

    def is_weight(self, n: Node) -> bool:
        if n.op in WEIGHT_OPS:
            return True
        if n.op in MATMUL_OPS:
            return any(t in self.const for t in n.inputs if t)
        return False

    def _kinds(self) -> dict[int, str]:
        """Per node: "weight", "norm", "sat" (a saturating activation, maybe decomposed), or absent."""
        kinds: dict[int, str] = {}
        for i, n in enumerate(self.g.nodes):
            if self.is_weight(n):
                kinds[i] = "weight"
            elif n.op in NORM_OPS:
                kinds[i] = "norm"
            elif n.op in SATURATING_OPS:
                if not self._is_gate(i):
                    kinds[i] = "sat"
            elif n.op in ("Div", "Reciprocal", "Mul"):
                k = self._decomposed(n)
                if k and not (k == "sat" and self._is_gate(i)):
                    kinds[i] = k
        return kinds

    def _is_gate(self, i: int, hops: int = 3) -> bool:
        """A saturating value that multiplies another data tensor: a gate, not a squashing layer.

        SiLU/Swish (x * sigmoid(x)), GELU's tanh form (0.5x(1 + tanh(..))), Mish, GLU and
        decomposed LSTM/GRU gates pass the gradient through the other factor.
        """
        frontier = [i]
        for _ in range(hops):
            nxt = []
            for j in frontier:
                outs = {t for t in self.g.nodes[j].outputs if t}
                for t in outs:
                    for k in self.consumers.get(t, ()):
                        m = self.g.nodes[k]
                        others = [u for u in m.inputs if u and u not in outs]
                        if m.op == "Mul" and any(u not in self.const for u in others):
                            return True
                        if m.op in ("Add", "Sub", "Mul", "Div", "Cast", "Identity") and all(u in self.const for u in others):
                            nxt.append(k)
            frontier = nxt
        return False

    def _decomposed(self, n: Node) -> str | None:
        """Sigmoid as 1/(1+exp(-x)), Tanh as (e^x-e^-x)/(e^x+e^-x), LayerNorm/RMSNorm as x/sqrt(mean(..)+eps)."""
        if n.op == "Mul":
            ins = [self.node(t) for t in n.inputs[:2]]
            return "norm" if any(p is not None and self._is_rsqrt_of_mean(p) for p in ins) else None
        denom = self.node(n.inputs[-1]) if n.inputs else None
        if denom is None:
            return None
        if self._is_rsqrt_of_mean(denom):
            return "norm"
        if denom.op in ("Add", "Sum") and any(self._exp_of_data(t) for t in denom.inputs):
            return "sat"
        return None

    def _is_rsqrt_of_mean(self, n: Node) -> bool:
        if n.op == "Reciprocal" and n.inputs:
            p = self.node(n.inputs[0])
            n = p if p is not None else n
        return n.op in ("Sqrt", "Rsqrt") and self._reaches(n, "ReduceMean", 3)

    def _reaches(self, n: Node, op: str, hops: int) -> bool:
        frontier = [n]
        for _ in range(hops):
            nxt = []
            for m in frontier:
                for t in m.inputs:
                    p = self.node(t) if t else None
                    if p is not None:
                        if p.op == op:
                            return True
                        nxt.append(p)
            frontier = nxt
        return False

    def _exp_of_data(self, tensor: str) -> bool:
        """An Exp (directly, or behind Neg/Mul/Cast) of a tensor that is not a constant."""
        p = self.node(tensor)
        for _ in range(3):
            if p is None:
                return False
            if p.op == "Exp":
                return bool(p.inputs) and p.inputs[0] not in self.const
            if p.op not in ("Neg", "Mul", "Cast", "Identity"):
                return False
            p = next((self.node(t) for t in p.inputs if t and t not in self.const), None)
        return False


def _index(g: GraphSummary) -> _Index:
    """The structure index of a summary, built once (a summary is not changed after reading)."""
    if g._index is None or g._index.size != len(g.nodes):
        g._index = _Index(g)
    return g._index


# -- chains along the data flow --------------------------------------------------------------------
# A chain is a persistent linked list of node indices: (node, parent) or None.
Chain = Optional[tuple[int, Any]]


def _walk(chain: Chain) -> Iterator[int]:
    while chain is not None:
        yield chain[0]
        chain = chain[1]


@dataclass(frozen=True)
class SaturatingPath:
    """Saturating activations (in order) that reach the weight layer `into` without normalization."""

    depth: int
    activations: tuple[str, ...]  # "name (Op)"
    names: tuple[str, ...]  # the activations' node names
    path: tuple[str, ...]  # activations and weight layers on the way, in order, ending at `into`
    into: str
    ops: tuple[str, ...]  # distinct activation ops


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


class _SatStep:
    initial = (0, None)

    def __init__(self, ix: _Index) -> None:
        self.ix = ix
        self.found: list[tuple[int, Chain, int]] = []  # (depth, chain, weight node)

    def __call__(self, i: int, n: Node, ins: list) -> tuple[int, Chain]:
        if n.op in ("Add", "Sum") and len(ins) >= 2:
            depth, chain = min(ins, key=lambda s: s[0])  # residual: the gradient takes the skip path
        else:
            depth, chain = max(ins, key=lambda s: s[0])
        kind = self.ix.kinds.get(i)
        if kind == "norm":
            return 0, None
        if kind == "sat":
            return depth + 1, (i, chain)
        if kind == "weight":
            if depth:
                self.found.append((depth, chain, i))
            return depth, (i, chain)
        return depth, chain


def saturating_paths(g: GraphSummary, min_depth: int = 1) -> list[SaturatingPath]:
    """Saturating-activation chains of at least `min_depth` that feed a weight layer, deepest first.

    A final Sigmoid/Tanh/Softmax head is never counted: only activations followed by a
    weight layer are. One path is kept per weight layer.
    """
    ix = _index(g)
    step = _SatStep(ix)
    _data_flow(ix, step)
    out = []
    for depth, chain, w in step.found:
        if depth < min_depth:
            continue
        seq = list(reversed(list(_walk(chain))))
        # trim the path to start at the first counted activation's preceding weight layer
        first_sat = next(k for k, j in enumerate(seq) if ix.kinds.get(j) == "sat")
        start = max(0, first_sat - 1) if first_sat and ix.kinds.get(seq[first_sat - 1]) == "weight" else first_sat
        seq = seq[start:] + [w]
        sats = [j for j in seq if ix.kinds.get(j) == "sat"]
        out.append(SaturatingPath(
            depth=depth,
            activations=tuple(_label(ix, j) for j in sats),
            names=tuple(ix.g.nodes[j].name for j in sats),
            path=tuple(_label(ix, j) for j in seq),
            into=_label(ix, w),
            ops=tuple(sorted({_op_label(ix, j) for j in sats})),
        ))
    out.sort(key=lambda p: (-p.depth, p.into))
    return out


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


def _longest(g: GraphSummary, counts) -> tuple[int, list[str]]:
    ix = _index(g)
    step = _CountStep(lambda i, n: counts(ix, i, n))
    _data_flow(ix, step)
    depth, chain = step.best
    return depth, [ix.g.nodes[j].name for j in reversed(list(_walk(chain)))]


def weight_depth(g: GraphSummary) -> tuple[int, list[str]]:
    """The longest chain of weight layers along the data flow, and its layer names.

    The steps of an unrolled recurrence (one weight applied again and again) are time,
    not depth: they do not count.
    """
    unrolled = {name for c in tied_chains(g, min_steps=2) for name in c.nodes}
    return _longest(g, lambda ix, i, n: ix.kinds.get(i) == "weight" and n.name not in unrolled)


def recurrent_depth(g: GraphSummary, ops: frozenset[str] = frozenset({"RNN"})) -> tuple[int, list[str]]:
    """The longest chain of stacked recurrent layers of the given ops."""
    return _longest(g, lambda ix, i, n: n.op in ops)


def normalization_nodes(g: GraphSummary) -> list[str]:
    """Normalization layers, including decomposed LayerNorm/RMSNorm (x / sqrt(mean(...) + eps))."""
    ix = _index(g)
    return [g.nodes[i].name for i in sorted(ix.kinds) if ix.kinds[i] == "norm"]


def weight_layers(g: GraphSummary) -> list[str]:
    ix = _index(g)
    return [g.nodes[i].name for i in sorted(ix.kinds) if ix.kinds[i] == "weight"]


def input_preprocessing(g: GraphSummary) -> dict[str, str]:
    """Per data input: how the graph itself rescales it before any weight layer, if it does.

    Recognised: a normalization layer, a Sub/Div/Mul by a constant (``(x - mean) / std``,
    ``x / 255``, a Keras ``Normalization`` layer), and an embedding lookup (the input is
    token ids, not features). Layout ops (Cast, Reshape, Transpose, ...) are looked through.
    """
    ix = _index(g)
    found: dict[str, str] = {}
    for inp in g.inputs:
        frontier, seen = [inp.name], set()
        while frontier and inp.name not in found:
            t = frontier.pop()
            for i in ix.consumers.get(t, ()):
                if i in seen:
                    continue
                seen.add(i)
                n = g.nodes[i]
                other = [u for u in n.inputs if u and u != t]
                if n.op in NORM_OPS:
                    found[inp.name] = f"{n.name} ({n.op})"
                elif n.op in ("Sub", "Div", "Mul") and other and all(u in ix.const for u in other):
                    found[inp.name] = f"{n.name} ({n.op} by a constant)"
                elif n.op == "Gather" and len(n.inputs) > 1 and n.inputs[1] == t:
                    found[inp.name] = f"{n.name} (embedding lookup of ids)"
                elif n.op in LAYOUT_OPS:
                    frontier.extend(u for u in n.outputs if u)
                    continue
                else:
                    continue
                break
    return found


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
