"""CL200 sigmoid-depth."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

AGREEING_RULES = ("CL102", "CL130")  # loss-not-decreasing, vanishing-gradients


class SigmoidDepth(Rule):
    """A path through the model stacks several saturating activations with no normalization.

    Symptom: the training loss hardly moves from its first value, or the first layers'
    gradients are orders of magnitude smaller than the last layers'. The graph shows
    the cause: four or more Sigmoid/Tanh/HardSigmoid/Softsign activations in a row
    between weight layers (Gemm, MatMul, Conv, ...), with no BatchNorm/LayerNorm in
    between. Each saturating activation scales the gradient by at most 0.25 (Sigmoid)
    or 1 (Tanh, only near zero), so the gradient shrinks geometrically with depth:
    the classic vanishing-gradient setup. A final Sigmoid or Softmax output head does
    not count; a residual ``Add`` lets the gradient take the shorter path.

    Fixes: use ReLU-family activations in the hidden layers, add normalization, or
    add residual connections.
    Keras: ``layers.Dense(64, activation="relu")`` (or ``"gelu"``), and
    ``layers.BatchNormalization()`` / ``layers.LayerNormalization()`` between layers.
    PyTorch: ``nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU())``
    instead of ``nn.Linear(64, 64), nn.Sigmoid()``; initialise with
    ``nn.init.kaiming_normal_`` for ReLU layers (``xavier`` for tanh).
    """

    code = "CL200"
    name = "sigmoid-depth"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "many saturating activations in a row with no normalization: vanishing-gradient risk"
    hint = ("use ReLU-family activations in hidden layers, add BatchNorm/LayerNorm between layers, "
            "or add residual connections")
    needs_graph = True
    options = {
        "min_depth": Option(4, "saturating activations (Sigmoid, Tanh, HardSigmoid, Softsign) on one path, "
                               "between weight layers and with no normalization in between, that trigger the rule"),
    }

    def check(self, ctx: Context):
        g = ctx.run.graph
        if g is None:
            yield ctx.abstain("no model graph")
            return
        from curvelint.graph import saturating_paths  # only with a graph

        n = int(ctx.options["min_depth"])
        paths = ctx.memo("graph:saturating-paths", lambda: saturating_paths(g))
        deep = [p for p in paths if p.depth >= n]
        if not deep:
            most = paths[0].depth if paths else 0
            yield ctx.abstain(f"longest chain of saturating activations feeding a weight layer is {most} (< {n})")
            return
        p = deep[0]
        agree = [f for f in ctx.cache.get("findings", [])
                 if f.rule in AGREEING_RULES and f.run == ctx.run.name and f.path == ctx.run.path]
        message = (f"{p.depth} saturating activations ({', '.join(p.ops)}) on one path with no normalization "
                   f"between weight layers: {_names(p.names)} -> {p.into}; vanishing-gradient risk")
        if agree:
            seen = ", ".join(sorted({f"{f.name} ({f.rule})" for f in agree}))
            message += f". The curves agree: {seen}"
        evidence = {
            "depth": p.depth,
            "activations": list(p.activations),
            "path": list(p.path),
            "into": p.into,
            "weight_layers_fed": len(deep),
            "agrees_with": sorted({f.rule for f in agree}),
        }
        yield ctx.finding(message, metric=None, evidence=evidence)


def _names(names_: tuple[str, ...], keep: int = 6) -> str:
    names = list(names_)
    if len(names) > keep:
        names = names[:3] + [f"... {len(names) - 5} more ..."] + names[-2:]
    return " -> ".join(names)
