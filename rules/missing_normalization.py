"""CL202 missing-normalization."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule


class MissingNormalization(Rule):
    """A deep stack of weight layers with no normalization layer anywhere.

    Symptom: slow or unstable training of a deep network, sensitivity to the
    learning rate and to initialisation; activations and gradients drift in scale
    from layer to layer. The graph has many weight layers (Gemm, MatMul, Conv, ...) on
    one path and no BatchNormalization, LayerNormalization, GroupNormalization or
    InstanceNormalization (decomposed LayerNorm/RMSNorm count as normalization).

    This is informational: shallow models and carefully initialised deep ones train
    fine without normalization.

    Fixes: add a normalization layer every block or two.
    Keras: ``layers.Conv2D(32, 3)``, ``layers.BatchNormalization()``, ``layers.Activation("relu")``;
    ``layers.LayerNormalization()`` in sequence models.
    PyTorch: ``nn.Sequential(nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.ReLU())``;
    ``nn.LayerNorm(d_model)`` in transformers and MLPs.
    """

    code = "CL202"
    name = "missing-normalization"
    since = "0.1.0"
    severity = Severity.INFO
    summary = "a deep stack of weight layers with no normalization layer"
    hint = "add BatchNorm (CNNs) or LayerNorm (MLPs, sequence models) every block or two"
    needs_graph = True
    options = {"min_weight_layers": Option(6, "weight layers on the longest path from which a graph counts as deep")}

    def check(self, ctx: Context):
        g = ctx.run.graph
        if g is None:
            yield ctx.abstain("no model graph")
            return
        from curvelint.graph import normalization_nodes, weight_depth  # only with a graph

        norms = normalization_nodes(g)
        if norms:
            yield ctx.abstain(f"{len(norms)} normalization layer(s), e.g. {norms[0]}")
            return
        depth, chain = ctx.memo("graph:weight-depth", lambda: weight_depth(g))
        n = int(ctx.options["min_weight_layers"])
        if depth < n:
            yield ctx.abstain(f"{depth} weight layer(s) on the longest path (< {n})")
            return
        yield ctx.finding(
            f"{depth} weight layers on one path ({chain[0]} ... {chain[-1]}) and no normalization layer "
            "in the graph", metric=None, evidence={"weight_layers": depth, "path": chain})
