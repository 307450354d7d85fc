"""curvelint: a framework-agnostic linter for training logs."""

__version__ = "0.1.0"
