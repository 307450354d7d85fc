"""ONNX model graphs: `load_graph(path)` for the graph of a run, `read(source)` for a bare .onnx.

Only the graph structure is read: ``onnx.load(path, load_external_data=False)``. Weights
kept in external-data files are never loaded (the paths named inside a model are not
followed; at most a plain file name next to the model is checked for existence), and the
model is never executed. Local functions and If/Loop/Scan bodies are inlined into one
flat `GraphSummary` (see `curvelint.graph`), so the graph rules see through them.
"""

from __future__ import annotations

import os
from typing import Any

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import check_regular, getsize, is_regular, is_remote, open_regular
from curvelint.graph import GraphSummary, Node, TensorInfo
from curvelint.model import Problem, Run

MAX_INLINE_DEPTH = 16  # nested functions / subgraphs deeper than this are kept as opaque nodes


def read(source: RunSource) -> list[Run]:
    """A bare .onnx file with no training log beside it: a run with a graph and no series."""
    path = source.files[0]
    run = Run(name=source.name, path=source.path, format="onnx", sources=[path])
    graph, problems = load_graph(path)
    run.problems.extend(problems)
    if graph is not None:
        run.graph = graph
        run.notes.extend(graph.notes)
    return [run]


def load_graph(path: str) -> tuple[GraphSummary | None, list[Problem]]:
    """Read an ONNX file's graph. Never raises: a bad file gives (None, [Problem("unreadable", ...)])."""
    try:
        check_regular(path)
        size = getsize(path)
    except OSError as exc:
        return None, [Problem("unreadable", path, f"cannot read: {exc.strerror or exc}")]
    if size > limits.current().file_bytes:
        return None, [limits.reached(path, "file-bytes", "the model", None)]
    try:
        import onnx
    except ImportError:
        return None, [Problem("unreadable", path, "cannot read ONNX models: the 'onnx' package is not installed")]
    try:
        model = _load(onnx, path)
    except Exception as exc:  # DecodeError, OSError, protobuf size limits, ...
        return None, [Problem("unreadable", path, f"not a valid ONNX model ({type(exc).__name__}: {_short(exc)})")]
    g = model.graph
    if not model.HasField("graph") or not (len(g.node) or len(g.input) or len(g.output)):
        return None, [Problem("unreadable", path, "not a valid ONNX model: the file holds no graph")]
    try:
        summary = summarize(model, path)
    except Exception as exc:  # a structurally odd model must not stop the lint
        return None, [Problem("unreadable", path, f"ONNX graph could not be analysed ({type(exc).__name__}: "
                                                  f"{_short(exc)})")]
    return summary, []


def _load(onnx: Any, path: str) -> Any:
    """The model at `path` without its external data (a URL read through `curvelint.remote`)."""
    if is_remote(path):
        with open_regular(path) as fh:
            return onnx.load(fh, load_external_data=False)
    return onnx.load(path, load_external_data=False)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."


def summarize(model: Any, path: str) -> GraphSummary:
    """Flatten an onnx ModelProto into a `GraphSummary`."""
    g = model.graph
    functions = {(f.domain, f.name): f for f in model.functions}
    flat = _Flattener(functions)
    init_names = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    flat.constants.update(init_names)
    flat.graph(g, {}, "", 0)
    inputs = [_tensor_info(v) for v in g.input if v.name not in init_names]
    outputs = [_tensor_info(v) for v in g.output]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    producer = " ".join(x for x in (model.producer_name, model.producer_version) if x)
    summary = GraphSummary(path=path, nodes=flat.nodes, inputs=inputs, outputs=outputs,
                           constants=frozenset(flat.constants), producer=producer, opset=opset,
                           notes=_external_data_notes(g, path))
    if any(n.op in ("RNN", "LSTM", "GRU") for n in flat.nodes):
        summary.shapes = _recurrent_input_shapes(model, flat.nodes)
    return summary


def _tensor_info(value: Any) -> TensorInfo:
    import onnx

    t = value.type
    if not t.HasField("tensor_type"):
        return TensorInfo(value.name, t.WhichOneof("value") or "unknown", None)
    tt = t.tensor_type
    elem = onnx.TensorProto.DataType.Name(tt.elem_type).lower() if tt.elem_type else "unknown"
    shape = None
    if tt.HasField("shape"):
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim)
    return TensorInfo(value.name, elem, shape)


def _attrs(node: Any) -> dict[str, Any]:
    """Simple attributes (numbers, strings and lists of them); tensors and graphs are left out."""
    from onnx import AttributeProto as A

    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.ref_attr_name:
            continue
        if a.type == A.INT:
            out[a.name] = a.i
        elif a.type == A.FLOAT:
            out[a.name] = a.f
        elif a.type == A.STRING:
            out[a.name] = a.s.decode("utf-8", "replace")
        elif a.type == A.INTS:
            out[a.name] = list(a.ints)[:64]
        elif a.type == A.FLOATS:
            out[a.name] = list(a.floats)[:64]
        elif a.type == A.STRINGS:
            out[a.name] = [s.decode("utf-8", "replace") for s in a.strings][:64]
    return out


class _Flattener:
    """Inline functions and subgraph bodies; inner tensor names get a scope prefix."""

    def __init__(self, functions: dict[tuple[str, str], Any]) -> None:
        self.functions = functions
        self.nodes: list[Node] = []
        self.constants: set[str] = set()
        self.names: set[str] = set()

    def _unique(self, name: str) -> str:
        base, k = name, 1
        while name in self.names:
            k += 1
            name = f"{base}#{k}"
        self.names.add(name)
        return name

    def _add(self, name: str, op: str, inputs, outputs, attrs=None, domain: str = "", scope: str = "") -> None:
        self.nodes.append(Node(self._unique(name), op, tuple(inputs), tuple(outputs), attrs or {}, domain, scope))

    def graph(self, g: Any, rename: dict[str, str], scope: str, depth: int) -> None:
        """Add a graph's nodes; `rename` maps names of the enclosing scopes to flattened names."""
        for t in g.initializer:
            self.constants.add(rename.get(t.name, t.name))
        for i, node in enumerate(g.node):
            self.node(node, rename, scope, depth, i)

    def node(self, node: Any, rename: dict[str, str], scope: str, depth: int, index: int) -> None:
        ins = [rename.get(t, t) if t else "" for t in node.input]
        outs = [rename.get(t, t) if t else "" for t in node.output]
        name = (scope + "/" if scope else "") + (node.name or f"{node.op_type}_{index}")
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            self.constants.update(o for o in outs if o)
        fn = self.functions.get((node.domain, node.op_type))
        if fn is not None and depth < MAX_INLINE_DEPTH:
            self._inline_function(fn, name, ins, outs, depth)
            return
        bodies = [(a.name, a.g) for a in node.attribute if a.HasField("g")] if depth < MAX_INLINE_DEPTH else []
        if not bodies:
            self._add(name, node.op_type, ins, outs, _attrs(node), node.domain, scope)
            return
        extra: list[str] = []
        for attr, body in bodies:
            sub = f"{name}/{attr}"
            inner = dict(rename)
            inner.update({t: f"{sub}/{t}" for t in _local_names(body)})
            if node.op_type in ("Loop", "Scan"):
                # body inputs take the node's inputs position by position (Loop: M, cond, carried...)
                for k, v in enumerate(body.input):
                    if k < len(ins) and ins[k]:
                        self._add(f"{sub}/input_{k}", "Identity", [ins[k]], [inner[v.name]], scope=sub)
            self.graph(body, inner, sub, depth + 1)
            extra.extend(inner[v.name] for v in body.output)
        # the node itself passes its inputs and its bodies' outputs through to its outputs
        self._add(name, node.op_type, ins + extra, outs, _attrs(node), node.domain, scope)

    def _inline_function(self, fn: Any, name: str, ins: list[str], outs: list[str], depth: int) -> None:
        inner = {t: f"{name}/{t}" for t in _local_names(fn)}
        for k, formal in enumerate(fn.input):
            inner[formal] = ins[k] if k < len(ins) else ""
        for k, formal in enumerate(fn.output):
            if k < len(outs) and outs[k]:
                inner[formal] = outs[k]
        for i, node in enumerate(fn.node):
            self.node(node, inner, name, depth + 1, i)


def _local_names(body: Any) -> set[str]:
    """Tensor names defined inside a graph or function body (inputs, initializers, node outputs)."""
    names: set[str] = set()
    for v in getattr(body, "input", ()):
        names.add(v if isinstance(v, str) else v.name)
    for t in getattr(body, "initializer", ()):
        names.add(t.name)
    for n in body.node:
        names.update(o for o in n.output if o)
    return names


def _external_data_notes(g: Any, path: str) -> list[str]:
    """Say which weights live in external files, and whether a plainly named one is beside the model."""
    from onnx import TensorProto

    by_location: dict[str, int] = {}
    for t in g.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            loc = next((e.value for e in t.external_data if e.key == "location"), "?")
            by_location[loc] = by_location.get(loc, 0) + 1
    notes = []
    total = len(g.initializer)
    for loc, n in sorted(by_location.items()):
        head = f"{path}: {n} of {total} initializers keep their weights in the external data file {loc!r}"
        parts = loc.replace("\\", "/").split("/")
        if os.path.isabs(loc) or ".." in parts or ":" in loc:
            notes.append(f"{head}, outside the model's folder: not followed. Only the graph structure was analysed.")
        elif is_regular(os.path.join(os.path.dirname(path), loc)):
            notes.append(f"{head} (present, not loaded). Only the graph structure was analysed.")
        else:
            notes.append(f"{head}, which is missing: the weights are not available, but the graph structure "
                         f"was analysed.")
    return notes


def _recurrent_input_shapes(model: Any, nodes: list[Node]) -> dict[str, tuple[Any, ...]]:
    """Shapes of the inputs of RNN/LSTM/GRU nodes, by ONNX shape inference (best effort)."""
    wanted = {n.inputs[0] for n in nodes if n.op in ("RNN", "LSTM", "GRU") and n.inputs}
    try:
        from onnx import shape_inference

        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:
        inferred = model
    g = inferred.graph
    out: dict[str, tuple[Any, ...]] = {}
    for v in list(g.input) + list(g.value_info) + list(g.output):
        if v.name in wanted:
            info = _tensor_info(v)
            if info.shape is not None:
                out[v.name] = info.shape
    return out
