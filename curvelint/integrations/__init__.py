"""Checking a training while it runs: callbacks for Keras, Lightning and the HF Trainer, and
`Monitor` for hand-written loops.

Each framework module imports its framework (install the extra: ``pip install
'curvelint[keras]'``, ``'[lightning]'``, ``'[hf]'``); importing curvelint or this package
imports none. All of them feed a `Monitor`, which keeps the metric history, checks it with
`curvelint.check` every N epochs/steps (the same rules as on logs) and shows findings through
`curvelint.tracking.Tracker` (no flapping). Documented in docs/api.md.
"""

from curvelint.integrations.monitor import Monitor, TrainingProblem

__all__ = ["Monitor", "TrainingProblem"]
