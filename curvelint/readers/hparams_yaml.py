"""Lightning's ``hparams.yaml`` beside a TensorBoard or CSV run: that run's hyperparameters.

Lightning's TensorBoardLogger and CSVLogger write what ``save_hyperparameters()`` saved
to ``<version folder>/hparams.yaml`` with ``yaml.dump`` (block style). The CSV logger has
no other place for them, so without this file CL121 (learning rate) and CL103 (number of
classes) know nothing of the run's settings.

Read with PyYAML's safe loader (imported only when such a file is read), extended for the tags
``yaml.dump`` writes for Python objects without constructing any: a class or function saved by
reference (``!!python/name:torch.optim.adamw.AdamW ''``) is its dotted name, a ``!!python/tuple``
(Adam's betas) a list, any other ``!!python/...`` value (a pickled object) is left out, and a
timestamp stays the text it is. Each top-level key is parsed on its own, so a broken value costs
only its key. Kept: nested mappings whose leaves are scalars or lists of scalars; anything else
(lists of mappings, binary, keys that are not strings) is left out, as are mappings nested deeper
than the ``depth`` limit (``[tool.curvelint.limits]``, a problem says so). Values the log itself
carries win over the file's.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterator

from curvelint import limits
from curvelint.model import Problem
from curvelint.readers._common import read_text

_LEFT_OUT = object()  # what a value outside the kept subset is constructed as
_TOP_KEY = re.compile(r"""(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<plain>[^\s#'"][^:]*?))\s*:(?:\s|$)""")


def read(path: str, problems: list[Problem] | None = None) -> dict[str, Any]:
    """The hyperparameters in an ``hparams.yaml``; raises OSError if it cannot be read. Mappings nested
    deeper than the ``depth`` limit are left out, with a problem in `problems`."""
    deep: list[str] = []
    values = parse(read_text(path), deep)[0]
    if deep and problems is not None:
        key = deep[0] if len(deep[0]) <= 80 else f"{deep[0][:40]}...{deep[0][-37:]}"
        problems.append(limits.reached(path, "depth", f"the nesting of {key!r}",
                                       "the keys below that level were left out"))
    return values


def parse(text: str, deep: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The mappings of a YAML document (see the module doc) and the dotted keys left out; the keys of
    mappings left out for being nested deeper than the ``depth`` limit also go to `deep`."""
    import yaml

    walk = _Walk(limits.current().depth, deep if deep is not None else [])
    root: dict[str, Any] = {}
    for chunk in _top_level(text):
        try:
            document = yaml.load(chunk, Loader=_loader())
        except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: an int of more digits than int() takes
            key = _TOP_KEY.match(chunk)
            if key:
                walk.skipped.append(next(g for g in key.groups() if g is not None))
            continue
        if isinstance(document, dict):
            walk.seen.clear()  # (ids of an earlier part's mappings may be reused: it is gone)
            root.update(walk.mapping(document, "", 1))
    return root, walk.skipped


def _top_level(text: str) -> Iterator[str]:
    """The document in parts of one top-level key each (a line at column 0 starts one; comments, block
    list items and indented lines belong to the key above them)."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.rstrip() in ("---", "..."):
            continue
        if lines and line[:1] not in ("", " ", "\t", "#", "-"):
            yield "\n".join(lines) + "\n"
            lines = []
        lines.append(line)
    if lines:
        yield "\n".join(lines) + "\n"


class _Walk:
    """The kept subset of a loaded document, and the dotted keys left out."""

    def __init__(self, depth: int, deep: list[str]) -> None:
        self.depth = depth
        self.deep = deep
        self.skipped: list[str] = []
        self.seen: set[int] = set()  # mappings of this part walked (an alias repeats one: left out)

    def mapping(self, value: dict, prefix: str, level: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            kept = self.value(item, path, level) if isinstance(key, str) else _LEFT_OUT
            if kept is _LEFT_OUT:
                self.skipped.append(path)
            else:
                out[key] = kept
        return out

    def value(self, item: Any, path: str, level: int) -> Any:
        if isinstance(item, dict):
            if level > self.depth:
                self.deep.append(path)
                return _LEFT_OUT
            if id(item) in self.seen:
                return _LEFT_OUT
            self.seen.add(id(item))
            return self.mapping(item, path, level + 1)
        if isinstance(item, list):
            return item if all(_scalar(i) for i in item) else _LEFT_OUT
        return item if _scalar(item) else _LEFT_OUT


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


@functools.lru_cache(maxsize=1)
def _loader() -> type:
    """PyYAML's SafeLoader, with yaml.dump's Python tags read as names and lists, never constructed."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)  # "2024-01-01": text
    Loader.add_constructor(None, lambda loader, node: _LEFT_OUT)  # any other tag
    return Loader


def _python_tag(loader: Any, suffix: str, node: Any) -> Any:
    """``!!python/name:X ''`` -> "X"; ``!!python/tuple`` -> its items as a list; other Python objects left out."""
    import yaml

    if suffix.startswith("name:") and isinstance(node, yaml.ScalarNode):
        return suffix[len("name:"):]
    if suffix == "tuple" and isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return _LEFT_OUT
