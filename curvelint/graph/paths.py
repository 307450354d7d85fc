"""Analyses along the data flow: saturating chains (CL200), weight and recurrent depth (CL201, CL202),
normalization layers and the input preprocessing (CL300)."""

from __future__ import annotations

from dataclasses import dataclass

from .flow import Chain, _CountStep, _data_flow, _label, _op_label, _walk
from .index import _Index, _index
from .ops import LAYOUT_OPS, NORM_OPS
from .recurrent import tied_chains
from .summary import GraphSummary, Node


@dataclass(frozen=True)
class SaturatingPath:
    """Saturating activations (in order) that reach the weight layer `into` without normalization."""

    depth: int
    activations: tuple[str, ...]  # "name (Op)"
    names: tuple[str, ...]  # the activations' node names
    path: tuple[str, ...]  # activations and weight layers on the way, in order, ending at `into`
    into: str
    ops: tuple[str, ...]  # distinct activation ops


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
