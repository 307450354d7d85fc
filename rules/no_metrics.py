"""CL003 no-metrics."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Rule


class NoMetrics(Rule):
    """A run has no series curvelint recognises as a loss, so the curve rules cannot judge it.

    curvelint knows the names that Keras (``loss``/``val_loss``, ``epoch_loss`` under
    ``train/`` and ``validation/``), PyTorch users (``train/loss``, ``Loss/train``),
    Lightning (``train_loss``, ``val_loss``) and the HF Trainer (``loss``,
    ``eval_loss``) write. A run with no series at all (a run killed or cut off right after start, a
    TensorBoard file with Lightning's ``hp_metric`` placeholder only) gets this warning. It
    is info when the run does log other metrics (e.g. a table of ranking metrics: nothing
    is wrong, the loss rules just cannot judge it), and when an HF Trainer run logged
    nothing because it had fewer steps than ``logging_steps``.

    How to fix: map your names in the configuration::

        [tool.curvelint.metrics]
        train_loss = ["my_train_objective"]
        val_loss = ["dev/objective"]
    """

    code = "CL003"
    name = "no-metrics"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "no recognisable loss series in a run"
    hint = 'map your series names in [tool.curvelint.metrics], e.g. train_loss = ["my_loss"]'

    def check(self, ctx: Context):
        run = ctx.run
        if run.format == "onnx" or (not run.series and any(p.kind == "unreadable" for p in run.problems)):
            yield ctx.abstain("no curves to look for (graph-only or unreadable run)")
            return
        if ctx.roles.train_loss or ctx.roles.val_loss:
            return
        if any("loss" in name.lower() for name in run.series):
            yield ctx.abstain("loss-like series present but none in a known role; map one in [tool.curvelint.metrics]")
            return
        names = sorted(run.series)
        real = [n for n in names if n != "hp_metric"]  # Lightning's -1 placeholder
        severity = None
        why = ""
        steps, every = run.hparams.get("max_steps"), run.hparams.get("logging_steps")
        if not real and isinstance(steps, (int, float)) and isinstance(every, (int, float)) and steps < every:
            severity = Severity.INFO
            why = f"; the run's {steps:g} steps are fewer than logging_steps={every:g}, so nothing was logged"
        elif real:
            severity = Severity.INFO
            why = "; the run logs metrics but no loss, so the loss rules cannot judge it"
        seen = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "") if names else "no series at all"
        yield ctx.finding(f"no training or validation loss found; series seen: {seen}{why}",
                          evidence={"series": names[:50]}, severity=severity)
