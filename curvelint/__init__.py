"""curvelint: a framework-agnostic linter for training logs."""

__version__ = "0.1.0"

# The Python API (docs/api.md), imported on first use: `curvelint --version` stays as fast as importing click.
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curvelint.api import Checker, check, lint
    from curvelint.config import Config, ConfigError
    from curvelint.model import Finding, Report, Severity

_API = {"lint": "curvelint.api", "check": "curvelint.api", "Checker": "curvelint.api", "Config": "curvelint.config",
        "ConfigError": "curvelint.config", "Report": "curvelint.model", "Finding": "curvelint.model",
        "Severity": "curvelint.model"}
__all__ = ["Checker", "Config", "ConfigError", "Finding", "Report", "Severity", "__version__", "check", "lint"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'curvelint' has no attribute {name!r}")
