"""The scoring taxonomy (fixtures/taxonomy.py) may only credit a rule with a cause its own
documentation names: a finding counts as "right cause" because the user reads that cause in
`curvelint rule CODE`, not because the score says so."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from curvelint.registry import load_rules

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from taxonomy import LABEL_RULES  # noqa: E402

# words a rule's documentation must contain (case-insensitive) to name each cause
CAUSE_WORDS: dict[str, str] = {
    "truncated": r"truncat|unfinished|cut off|stopped before|no loss",
    "nan_loss": r"nan|non-finite|inf",
    "diverging": r"diverg|blow|blew|rises|explod|swings|never settle|too high",
    "oscillating": r"oscillat|swing",
    "stalled": r"stall|flat|not decreas|chance|stuck|stopped|no better|converge|learned little|not improv|never",
    "frozen": r"frozen|requires_grad|trainable|optimizer does not hold|learning rate 0|rate .*0\b|not being updated|stopped changing",
    "slow_convergence": r"slow|still fall|learning rate (?:far )?too low|too low",
    "lr_too_high": r"learning rate[^.]*(?:too high|so high|high|at the edge)|lower (?:the|it)[^.]*learning rate|lr[^.]*too high|lower the learning rate|above the plausible",
    "lr_too_low": r"(?:learning rate|lr)[^.]*(?:too low|so low|low)|below the plausible",
    "chance_level": r"chance",
    "random_labels": r"labels? (?:shuffled|noise|random|corrupt)|random labels|shuffled|label noise|mislabel",
    "unscaled_inputs": r"unscaled|not scaled|were not scaled|normali[sz]|standardi[sz]|scale the inputs|0-255",
    "overfitting": r"overfit|memoris|memoriz",
    "early_stop_missed": r"early ?stop|best epoch|past the best",
    "validation_not_improving": r"validation",
    "data_leakage": r"leak|overlap|duplicat",
    "underfitting": r"underfit|capacity|too small|too constrained",
    "class_imbalance": r"imbalanc|majority",
    "exploding_gradients": r"explod|clip",
    "vanishing_gradients": r"vanish|saturat",
    "dying_relu": r"dead|dying|relu",
}

DOCS = {r.code: f"{r.name}\n{r.summary}\n{r.__doc__ or ''}" for r in load_rules()}


@pytest.mark.parametrize("label", sorted(LABEL_RULES))
def test_every_rule_credited_with_a_cause_names_it_in_its_documentation(label):
    words = re.compile(CAUSE_WORDS[label], re.IGNORECASE | re.DOTALL)
    silent = sorted(code for code in LABEL_RULES[label] if code in DOCS and not words.search(DOCS[code]))
    assert not silent, f"{label}: {silent} are credited with it but their documentation does not name it"


def test_every_credited_rule_exists():
    assert not {c for codes in LABEL_RULES.values() for c in codes} - set(DOCS)
