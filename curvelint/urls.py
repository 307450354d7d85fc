"""Whether a path is a URL: the one test the local and remote file layers share (imports nothing)."""

from __future__ import annotations

import os
import re

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")  # two letters at least: not a Windows drive


def is_remote(path: str | os.PathLike) -> bool:
    """Whether `path` is a URL with a scheme (``s3://bucket/runs``, ``file:///data``), not a local path."""
    return isinstance(path, str) and _URL.match(path) is not None
