"""CL201 recurrent-activation."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

GATES = {"Sigmoid", "HardSigmoid"}  # a loop body with these is a gated cell (LSTM/GRU written out)
# ONNX defaults of the `activations` attribute, per direction
DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


class RecurrentActivation(Rule):
    """A recurrent layer whose recurrence is prone to exploding or vanishing gradients.

    Symptom: loss spikes or NaN (exploding), or a loss that stops improving early on
    long sequences (vanishing). The graph shows the cause:

    * an RNN/LSTM/GRU node with an unbounded activation (Relu) in the recurrence: the
      hidden state is multiplied by the same recurrent weights at every time step, and
      with no bound on the activation it can grow without limit. Recurrences that the
      exporter unrolled (one weight applied step after step with Relu in between, as
      the dynamo exporter writes ``nn.RNN(nonlinearity="relu")``) and ungated Loop bodies
      (tf2onnx writes Keras ``SimpleRNN`` as a Loop) count too;
    * a simple (ungated) RNN over long sequences, or several simple RNN layers stacked:
      the gradient through time shrinks or grows geometrically with the number of steps.

    Fixes: use gated cells (LSTM/GRU), keep tanh in the recurrence (or a bounded or
    leaky variant such as LeakyReLU/ELU with careful initialisation), clip gradients,
    and shorten sequences (truncated backprop through time).
    Keras: ``layers.LSTM(64)`` instead of ``layers.SimpleRNN(64, activation="relu")``;
    ``keras.optimizers.Adam(1e-3, clipnorm=1.0)``.
    PyTorch: ``nn.LSTM(32, 64)`` / ``nn.GRU(32, 64)`` instead of
    ``nn.RNN(32, 64, nonlinearity="relu")``; ``torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)``.
    """

    code = "CL201"
    name = "recurrent-activation"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "RNN/LSTM/GRU with an unbounded activation in the recurrence, or a long/deep simple RNN"
    hint = "use gated cells (LSTM/GRU), keep a bounded activation in the recurrence, and clip gradients"
    needs_graph = True
    options = {
        "unbounded": Option(["Relu", "ThresholdedRelu", "Affine", "Softplus"],
                            "activations counted as unbounded inside an RNN/LSTM/GRU recurrence"),
        "max_sequence": Option(50, "simple RNN sequence length (when the graph fixes it) from which "
                                   "vanishing gradients through time are likely"),
        "max_stacked": Option(3, "stacked simple RNN layers from which the rule fires"),
    }

    def check(self, ctx: Context):
        g = ctx.run.graph
        if g is None:
            yield ctx.abstain("no model graph")
            return
        from curvelint.graph import RECURRENT_OPS, loop_cells, recurrent_depth, tied_chains  # only with a graph

        unbounded = set(ctx.options["unbounded"])
        cells = [n for n in g.nodes if n.op in RECURRENT_OPS]
        unrolled = [c for c in ctx.memo("graph:tied-chains", lambda: tied_chains(g)) if unbounded & set(c.activations)]
        for c in unrolled:
            yield ctx.finding(
                f"unrolled recurrence with {'/'.join(sorted(unbounded & set(c.activations)))}: weight {c.weight!r} is "
                f"applied at {c.steps} steps along one path ({c.nodes[0]} ... {c.nodes[-1]}); the hidden state can "
                "grow without limit over time steps (exploding gradients)", metric=None,
                evidence={"weight": c.weight, "steps": c.steps, "nodes": list(c.nodes), "activations": list(c.activations)})
        loops = [c for c in ctx.memo("graph:loop-cells", lambda: loop_cells(g))
                 if unbounded & set(c.activations) and not GATES & set(c.activations)]
        for c in loops:
            yield ctx.finding(
                f"recurrence written as a {c.op} ({c.name}) with {'/'.join(sorted(unbounded & set(c.activations)))} "
                "and no gates in its body: an ungated RNN with an unbounded activation (exploding gradients)",
                metric=None, evidence={"node": c.name, "weights": list(c.weights), "activations": list(c.activations)})
        if not cells:
            if not unrolled and not loops:
                yield ctx.abstain("no RNN/LSTM/GRU node or recurrence in the graph")
            return
        bad, odd = [], []
        for n in cells:
            acts = _activations(n)
            if acts is None:  # an attribute of another type: that layer is not judged
                odd.append(n)
                continue
            hit = sorted({a for a in acts if a in unbounded})
            if hit:
                bad.append((n, hit))
        if bad:
            names = ", ".join(f"{n.name} ({n.op}, {'/'.join(hit)})" for n, hit in bad)
            yield ctx.finding(
                f"unbounded activation in the recurrence of {len(bad)} recurrent layer(s): {names}; "
                "the hidden state can grow without limit over time steps (exploding gradients)",
                metric=None,
                evidence={"nodes": [n.name for n, _ in bad], "ops": [n.op for n, _ in bad],
                          "activations": [hit for _, hit in bad]})
        flagged = {n.name for n, _ in bad}
        simple = [n for n in cells if n.op == "RNN" and n.name not in flagged]
        long_ones = [(n, length) for n in simple if (length := _sequence_length(g, n)) is not None
                     and length >= int(ctx.options["max_sequence"])]
        if long_ones:
            names = ", ".join(f"{n.name} ({length} steps)" for n, length in long_ones)
            yield ctx.finding(
                f"simple (ungated) RNN over long sequences: {names}; gradients through time vanish or explode "
                "geometrically with sequence length", metric=None,
                evidence={"nodes": [n.name for n, _ in long_ones], "sequence_length": [k for _, k in long_ones]})
        depth, chain = ctx.memo("graph:rnn-depth", lambda: recurrent_depth(g))
        if depth >= int(ctx.options["max_stacked"]):
            yield ctx.finding(
                f"{depth} simple RNN layers stacked ({' -> '.join(chain)}); deep ungated recurrences are hard to "
                "train", metric=None, evidence={"depth": depth, "nodes": chain})
        if odd:
            yield ctx.abstain(", ".join(f"{n.name} ({n.op})" for n in odd) + ": the 'activations' attribute is not a "
                              "list of names; the activations of these layers were not judged")
        if not bad and not long_ones and depth < int(ctx.options["max_stacked"]) and len(odd) < len(cells):
            yield ctx.abstain(f"{len(cells) - len(odd)} recurrent layer(s) with bounded activations, none long or deep")


def _activations(node) -> list[str] | None:
    """The names in a recurrent node's ``activations`` attribute (the ONNX defaults when it has none); None
    when the attribute holds something else (a number, a tensor): a hand-made or damaged model."""
    raw = node.attrs.get("activations")
    if raw is None or raw == [] or raw == "":
        return list(DEFAULT_ACTIVATIONS[node.op])
    if isinstance(raw, str):
        return [raw]
    return list(raw) if isinstance(raw, (list, tuple)) and all(isinstance(a, str) for a in raw) else None


def _sequence_length(g, node) -> int | None:
    shape = g.shapes.get(node.inputs[0]) if node.inputs else None
    if not shape:
        return None
    axis = 1 if node.attrs.get("layout", 0) == 1 else 0
    dim = shape[axis] if axis < len(shape) else None
    return dim if isinstance(dim, int) and dim > 0 else None
