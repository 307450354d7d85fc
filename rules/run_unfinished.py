"""CL004 run-unfinished."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule


class RunUnfinished(Rule):
    """The log says the run ended before its planned end, or it logged a single point.

    Symptom: an HF Trainer state whose ``global_step`` is below ``max_steps`` with no
    EarlyStoppingCallback configured (a checkpoint's state, or a run killed or crashed);
    an MLflow run whose status is not FINISHED (RUNNING with no ``end_time``: never
    closed, FAILED, KILLED); or a run in which every loss and metric has a single logged
    point (stopped right after it started).

    Why it matters: the curves end where the run stopped, so they say nothing about how it
    would have ended, and a CI gate that reads them as a finished run judges the wrong
    thing. It is info: resuming, or linting the final state, answers it.

    Fixes: lint the final ``trainer_state.json`` (the output folder's, not a
    ``checkpoint-N/`` copy), or resume the run (``trainer.train(resume_from_checkpoint=True)``);
    close MLflow runs (``with mlflow.start_run(): ...`` or ``mlflow.end_run()``); find out
    why a run stopped after its first log (out of memory, a crash, a time limit).
    """

    code = "CL004"
    name = "run-unfinished"
    since = "0.1.0"
    severity = Severity.INFO
    summary = "the log says the run ended before its planned end, or it logged a single point"
    hint = "lint the final state of the run, or resume it; find out why it stopped"
    options = {"min_series": Option(1, "fewest loss/metric series for the single-point check")}

    def check(self, ctx: Context):
        run = ctx.run
        if run.unfinished:
            yield ctx.finding(run.unfinished, evidence={"reason": run.unfinished})
            return
        judged = [s for role, name in ctx.roles.items() if role not in ("lr", "grad_norm")
                  for s in [run.series[name]]]
        if len(judged) >= ctx.options["min_series"] and all(len(s) == 1 for s in judged):
            steps = sorted({int(s.steps[0]) for s in judged})
            yield ctx.finding(
                f"every loss and metric has a single logged point (step {', '.join(map(str, steps[:3]))}): the "
                "run stopped right after it started, or is too short to judge",
                metric=judged[0].name, step=steps[0], evidence={"series": [s.name for s in judged], "steps": steps})
