"""The one glob dialect of ``exclude`` and ``per-path-ignores``.

``*`` and ``?`` stay within one path segment, ``[...]`` is a character class (``[!...]`` negated),
``**`` spans any number of segments; a pattern matches a path or any folder above it, and a pattern
without ``/`` matches any single segment (``"*.parquet"``, ``checkpoints``). Relative patterns are
relative to the configuration file's folder (on the command line: the current folder).

``exclude`` never drops a path the user named: its patterns are matched against what is found
below it (`excluded`); ``per-path-ignores`` matches the whole path of a finding (`path_matches`).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache


def path_matches(path: str, pattern: str, base: str) -> bool:
    """Whether `path` (or a folder above it) matches the glob `pattern` relative to `base` (for a URL:
    relative to the URL named on the command line that holds it, `_url_parts`)."""
    pattern = pattern.replace("\\", "/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = pattern.rstrip("/") or "/"
    if "://" in path:
        return _matches(_url_parts(path, "://" in pattern), pattern)
    absolute = os.path.abspath(path)
    if os.path.isabs(pattern):
        target = absolute
    else:
        target = os.path.relpath(absolute, base)
        if target.startswith(".."):
            target = os.path.normpath(path)  # outside the root: match the path as given
    parts = [p for p in target.replace(os.sep, "/").split("/") if p and p != "."]
    return _matches(parts, pattern, "/" if os.path.isabs(pattern) else "")


def _matches(parts: list[str], pattern: str, prefix: str = "") -> bool:
    """Whether the path of `parts` (or a folder above it) matches `pattern` (any one part: a name pattern)."""
    rx = _glob_regex(pattern)
    if "/" not in pattern:
        return any(rx.fullmatch(p) for p in parts)
    return any(rx.fullmatch(prefix + "/".join(parts[:i])) for i in range(len(parts), 0, -1))


def _url_parts(url: str, whole: bool) -> list[str]:
    """The segments of `url` below the URL named on the command line that holds it (`curvelint.remote.root_of`;
    below its bucket when none is known); of the whole URL, scheme included, for a pattern that is a URL."""
    if whole:
        return url.split("/")
    from curvelint.remote import root_of

    root = root_of(url) or url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
    return [p for p in url[len(root):].split("/") if p]


def anchor(pattern: str, root: str) -> str:
    """A configuration file's pattern with a folder part, made absolute at the file's folder `root`
    (so that it means the same next to command-line patterns, which are relative to the current folder)."""
    if "/" not in pattern.rstrip("/") or os.path.isabs(pattern):
        return pattern  # a name ("checkpoints"): any segment
    return os.path.join(root, pattern.removeprefix("./"))


def excluded(path: str, patterns: list[str], root: str) -> bool:
    """Whether `path`, found below the named path `root`, is excluded by one of `patterns`: a name pattern
    matches a segment below `root`, one with a folder part is relative to the current folder (to `root`
    for a URL)."""
    if not patterns:
        return False
    remote = "://" in root
    for pattern in patterns:
        if "/" not in pattern.replace("\\", "/").rstrip("/"):
            if path_matches(path, pattern, root):
                return True
        elif path_matches(path, pattern, root if remote else os.getcwd()):
            return True
    return False


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    """A glob as a regex: ``*``/``?``/``[...]`` within a segment, ``**`` across segments."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out))
