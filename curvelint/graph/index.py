"""The structure index of a summary: producers, consumers and a topological order, built once."""

from __future__ import annotations

from .ops import MATMUL_OPS, NORM_OPS, RANDOM_OPS, SATURATING_OPS, SHAPE_OPS, WEIGHT_OPS
from .summary import GraphSummary, Node


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
