"""CL130 vanishing-gradients (and the per-layer gradient-norm series CL131 also reads)."""

from __future__ import annotations

import re

import numpy as np

from curvelint import stats
from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

# per-layer norms: grad_norm/layer1, grad_2.0_norm/conv1.weight (Lightning), gradients/fc/norm, grad/fc1
LAYER = re.compile(r"^(?:(?:train|training)[/_.])?grad(?:ient)?s?(?:_\d+(?:\.\d+)?|_inf)?(?:_norms?)?/(?P<layer>.+)$",
                   re.IGNORECASE)
NOT_LAYERS = {"total", "global", "norm", "total_norm", "global_norm", "all"}


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def layer_series(ctx: Context) -> list[Series]:
    """Per-layer gradient-norm series in natural name order (layer2 before layer10), finite parts only."""
    glob = ctx.name_of("grad_norm")
    out: list[tuple[list, Series]] = []  # (natural sort key of the layer, series)
    for name in ctx.run.series:
        m = LAYER.match(name)
        if name == glob or not m or m.group("layer").lower() in NOT_LAYERS:
            continue
        s = ctx.curve(name)
        if s is not None and len(s) >= 3:
            out.append((_natural(m.group("layer")), s))
    return [s for _, s in sorted(out, key=lambda p: p[0])]


class VanishingGradients(Rule):
    """Logged gradient norms collapse towards zero.

    Symptom, either of:

    * the global gradient norm falls by `collapse_ratio` or more (median of the last
      10% vs the first 10%) with a significant downward Mann-Kendall trend while the
      training loss is still high: its end level is at least `stalled_fraction` of its
      start (the loss stalled, the weights stopped moving). A gradient norm that falls
      with the loss is healthy: no finding when the loss fell below `loss_guard` of its
      start (a loss near zero legitimately has near-zero gradients, including a loss of
      exactly 0 from leakage or memorisation). In between, info only, when the norm fell
      far more than the loss (its end/start ratio below `out_of_proportion` times the
      loss's): full-batch convergence to a minimum explains it as well as saturated
      units do. Without a training loss, a collapse is info (converged or stalled
      cannot be told apart);
    * per-layer gradient norms (series like ``grad_norm/layer1``) where the first
      third of the layers (natural name order, input side first) sit `layer_ratio` or
      more below the last third (medians over the second half of the run).
      Layers whose gradient is exactly 0 throughout are taken as frozen and ignored.

    Usual causes: saturating activations (sigmoid/tanh) in deep stacks, poor
    initialisation, no normalisation layers, very deep plain networks without
    residual connections, dead ReLUs, a learning rate so high that units died.

    Fixes: non-saturating activations, normalisation, residual connections, proper
    initialisation.

    Keras::

        keras.layers.Dense(256, kernel_initializer="he_normal")
        keras.layers.LeakyReLU(negative_slope=0.1)   # or activation="elu" / "gelu"
        keras.layers.BatchNormalization()             # LayerNormalization() for sequences

    PyTorch::

        nn.Sequential(nn.Linear(d, 256), nn.BatchNorm1d(256), nn.LeakyReLU(0.1), ...)  # nn.ELU(), nn.LayerNorm
        nn.init.kaiming_normal_(layer.weight, nonlinearity="leaky_relu")
        out = x + block(x)   # residual connection
        # log per-layer norms: {n: p.grad.norm().item() for n, p in model.named_parameters() if p.grad is not None}
    """

    code = "CL130"
    name = "vanishing-gradients"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "logged gradient norms collapse towards zero (globally, or early layers far below late ones)"
    hint = ("use non-saturating activations (ReLU/LeakyReLU/ELU/GELU), He initialisation, BatchNorm/LayerNorm "
            "and residual connections")
    options = {
        "min_points": Option(5, "fewest gradient-norm points to judge"),
        "alpha": Option(0.05, "significance level of the Mann-Kendall trend test"),
        "collapse_ratio": Option(1e-3, "end/start ratio of the global norm at or below which it collapsed"),
        "loss_guard": Option(0.01, "no global finding when the training loss fell below this fraction of its start"),
        "stalled_fraction": Option(0.5, "a global collapse is a warning while the loss is still above this fraction "
                                        "of its start (stalled)"),
        "out_of_proportion": Option(0.01, "between the two: info when the norm's end/start ratio is below this "
                                          "times the loss's"),
        "layer_ratio": Option(1e-3, "early/late per-layer norm ratio at or below which early layers starve"),
    }

    def check(self, ctx: Context):
        layers = layer_series(ctx)
        s, reason = ctx.usable("grad_norm", ctx.options["min_points"])
        if s is None and not layers:
            yield ctx.abstain(reason if ctx.name_of("grad_norm") else "no gradient-norm series logged")
            return
        if s is not None:
            yield from self._global(ctx, s)
        if len(layers) >= 2:
            yield from self._layers(ctx, layers)

    def _global(self, ctx: Context, s: Series):
        o = ctx.options
        start = stats.level(s.values, "start", 0.1)
        end = stats.level(s.values, "end", 0.1)
        if start <= 0:
            return
        r = end / start
        if r > o["collapse_ratio"]:
            return  # before the trend test: it costs more
        tr = stats.trend(s.steps, s.values)
        if not tr.significant(o["alpha"], "down"):
            return
        seen = (f"{s.name} collapsed from {start:.3g} to {end:.3g} (x{r:.2g}, Mann-Kendall p={tr.p_value:.2g} over "
                f"steps {int(s.steps[0])}..{int(s.steps[-1])})")
        evidence = {"start": start, "end": end, "ratio": r, "p_value": tr.p_value, "slope": tr.slope,
                    "window": [int(s.steps[0]), int(s.steps[-1])]}
        loss, _ = ctx.usable("train_loss")
        if loss is None:
            yield ctx.finding(
                f"{seen}, and no training loss is logged to tell a converged run (small gradients are expected) "
                "from a stalled one", metric=s.name, step=int(s.steps[-1]), severity=Severity.INFO,
                evidence=evidence)
            return
        l0, l1 = stats.level(loss.values, "start", 0.0, min_points=3), stats.level(loss.values, "end", 0.1)
        kept = l1 / l0 if l0 > 0 else float("nan")
        evidence.update(loss=loss.name, loss_start=l0, loss_end=l1, loss_kept=kept)
        if not kept >= o["loss_guard"]:
            return  # converged (or memorised): the gradients fell with the loss
        went = f"{loss.name} went {l0:.4g} -> {l1:.4g} ({kept:.0%} of its start)"
        if kept >= o["stalled_fraction"]:
            yield ctx.finding(
                f"{seen}, while {went}: the gradients vanished with the loss still high, so the weights have "
                "almost stopped changing", metric=s.name, step=int(s.steps[-1]), evidence=evidence)
        elif r <= kept * o["out_of_proportion"]:
            yield ctx.finding(
                f"{seen}, far more than the loss: {went}; a loss that fell {1 / kept:.2g}x rarely explains "
                f"gradients {1 / r:.2g}x smaller (full-batch convergence to a minimum can; saturated or dead units "
                "too)", metric=s.name, step=int(s.steps[-1]), evidence=evidence, severity=Severity.INFO,
                hint="if the loss has stopped improving, check for saturated (sigmoid/tanh) or dead (ReLU) units; "
                     "otherwise nothing to fix")

    def _layers(self, ctx: Context, layers: list[Series]):
        levels = []
        for s in layers:
            v = s.values[len(s) // 2:]
            if np.all(s.values == 0):
                continue  # frozen layer: no gradient at all, by design
            levels.append((s.name, float(np.median(v))))
        if len(levels) < 2:
            return
        k = max(1, len(levels) // 3)
        early, late = levels[:k], levels[-k:]
        e = float(np.median([v for _, v in early]))
        lt = float(np.median([v for _, v in late]))
        if lt <= 0:
            return
        r = e / lt
        if r > ctx.options["layer_ratio"]:
            return
        yield ctx.finding(
            f"early layers get {r:.2g}x the gradient of late ones over the second half of the run: median norm "
            f"{e:.3g} for {', '.join(n for n, _ in early)} vs {lt:.3g} for {', '.join(n for n, _ in late)}",
            metric=early[0][0], step=int(layers[0].steps[len(layers[0]) // 2]),
            evidence={"ratio": r, "early_level": e, "late_level": lt,
                      "early_layers": [n for n, _ in early], "late_layers": [n for n, _ in late],
                      "levels": dict(levels)})
