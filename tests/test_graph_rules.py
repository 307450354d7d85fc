"""ONNX graph reading and the graph rules CL200 sigmoid-depth, CL201 recurrent-activation, CL202 missing-normalization.

Fixtures come from fixtures/graphs/make_graphs.py (real exporters: torch TorchScript and
dynamo, tf2onnx, skl2onnx; one hand-built If model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from curvelint import graph as G
from curvelint import readers
from curvelint.config import Config
from curvelint.discovery import RunSource
from curvelint.engine import Selected, check_run
from curvelint.graph import GraphSummary, Node, TensorInfo
from curvelint.model import Finding, Run, Series, Severity
from curvelint.readers.onnx_graph import load_graph
from curvelint.rule import Context
from curvelint.roles import assign_roles
from curvelint_rules.missing_normalization import MissingNormalization
from curvelint_rules.recurrent_activation import RecurrentActivation
from curvelint_rules.sigmoid_depth import SigmoidDepth

GRAPHS = FIXTURES / "graphs"
GRAPH_RULES = (SigmoidDepth, RecurrentActivation, MissingNormalization)


def graph_of(name: str) -> GraphSummary:
    g, problems = load_graph(str(GRAPHS / name))
    assert problems == [] and g is not None
    return g


def lint(graph: GraphSummary | None, rule, options=None, run: Run | None = None, earlier=()):
    """Findings and abstentions of one rule on a run holding `graph` (engine path, so needs_graph applies)."""
    run = run or Run(name="r", path="r", format="onnx")
    run.graph = graph
    ctx = Context(run, assign_roles(list(run.series)))
    ctx.cache["findings"] = list(earlier)
    for result in rule().check(ctx.for_rule(rule, options)):
        yield result


def findings(graph, rule, **kw) -> list[Finding]:
    return [r for r in lint(graph, rule, **kw) if isinstance(r, Finding)]


# -- hand-made graphs ----------------------------------------------------------------------------
def chain_graph(ops: list[str]) -> GraphSummary:
    """x -> ops[0] -> ops[1] ...; weight ops get an initializer."""
    nodes, consts, t = [], set(), "x"
    for i, op in enumerate(ops):
        ins = [t]
        if op in ("Gemm", "MatMul"):
            ins.append(f"w{i}")
            consts.add(f"w{i}")
        nodes.append(Node(f"n{i}_{op}", op, tuple(ins), (f"t{i}",), {}))
        t = f"t{i}"
    return GraphSummary("hand.onnx", nodes, [TensorInfo("x", "float", ("b", 8))], [], frozenset(consts))


SIG_MLP = ["Gemm", "Sigmoid"] * 4 + ["Gemm", "Sigmoid"]  # 4 hidden + a Sigmoid head


def test_sigmoid_head_does_not_count():
    assert G.saturating_paths(chain_graph(SIG_MLP))[0].depth == 4
    assert findings(chain_graph(SIG_MLP), SigmoidDepth)
    three_plus_head = ["Gemm", "Sigmoid"] * 3 + ["Gemm", "Sigmoid"]
    assert not findings(chain_graph(three_plus_head), SigmoidDepth)
    assert not findings(chain_graph(["Gemm", "Tanh"] * 3 + ["Gemm", "Softmax"]), SigmoidDepth)


def test_normalization_resets_the_chain():
    ops = ["Gemm", "Sigmoid", "Gemm", "Tanh", "LayerNormalization", "Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm"]
    assert G.saturating_paths(chain_graph(ops))[0].depth == 2
    assert not findings(chain_graph(ops), SigmoidDepth)


def test_residual_add_takes_the_short_path():
    assert findings(chain_graph(["Gemm", "Tanh"] * 5 + ["Gemm"]), SigmoidDepth)
    nodes, t = [], "x"
    for i in range(5):  # t = t + tanh(W_i t): the gradient flows through the skip connections
        nodes += [Node(f"fc{i}", "Gemm", (t, f"w{i}"), (f"h{i}",)), Node(f"act{i}", "Tanh", (f"h{i}",), (f"a{i}",)),
                  Node(f"res{i}", "Add", (t, f"a{i}"), (f"r{i}",))]
        t = f"r{i}"
    nodes.append(Node("out", "Gemm", (t, "w_out"), ("y",)))
    consts = frozenset({f"w{i}" for i in range(5)} | {"w_out"})
    g = GraphSummary("res.onnx", nodes, [TensorInfo("x", "float")], [], consts)
    assert not G.saturating_paths(g, min_depth=1)
    assert not findings(g, SigmoidDepth)


def test_gates_are_not_squashing_layers():
    """SiLU x*sigmoid(x) and GELU 0.5x(1+tanh(..)) as exported by torch.onnx: unbounded, not saturating."""
    nodes, t, consts = [], "x", {"half", "one"}
    for i in range(6):
        consts.add(f"w{i}")
        nodes += [Node(f"fc{i}", "Gemm", (t, f"w{i}"), (f"h{i}",)),
                  Node(f"sig{i}", "Sigmoid", (f"h{i}",), (f"s{i}",)),
                  Node(f"silu{i}", "Mul", (f"h{i}", f"s{i}"), (f"a{i}",)),
                  Node(f"tanh{i}", "Tanh", (f"a{i}",), (f"t{i}",)),
                  Node(f"one{i}", "Add", (f"t{i}", "one"), (f"u{i}",)),
                  Node(f"half{i}", "Mul", (f"a{i}", "half"), (f"v{i}",)),
                  Node(f"gelu{i}", "Mul", (f"v{i}", f"u{i}"), (f"g{i}",))]
        t = f"g{i}"
    nodes.append(Node("out", "Gemm", (t, "w_out"), ("y",)))
    g = GraphSummary("gates.onnx", nodes, [TensorInfo("x", "float")], [], frozenset(consts | {"w_out"}))
    assert G.saturating_paths(g) == []


def test_unknown_ops_pass_through():
    ops = ["Gemm", "Sigmoid", "FancyCustomOp", "Gemm", "Sigmoid", "Reshape", "Gemm", "HardSigmoid",
           "Gemm", "Softsign", "Gemm"]
    (f,) = findings(chain_graph(ops), SigmoidDepth)
    assert f.evidence["depth"] == 4


# -- real exports ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,depth", [
    ("deep_sigmoid_mlp.onnx", 6),          # torch.onnx TorchScript exporter
    ("deep_sigmoid_dynamo.onnx", 6),       # torch.onnx dynamo exporter
    ("deep_tanh_functions.onnx", 5),       # blocks exported as ONNX local functions
    ("decomposed_sigmoid.onnx", 5),        # 1 / (1 + exp(-x)) by hand
    ("sklearn_mlp_logistic.onnx", 4),      # skl2onnx MLPClassifier(activation="logistic")
    ("subgraph_if_sigmoid.onnx", 5),       # chain inside an If branch
    ("keras_sigmoid_mlp.onnx", 5),         # Keras via tf2onnx
])
def test_cl200_fires_on_deep_saturating_exports(name, depth):
    (f,) = findings(graph_of(name), SigmoidDepth)
    assert f.rule == "CL200" and f.severity == Severity.WARNING and f.metric is None
    assert f.evidence["depth"] == depth
    assert all(n in f.message for n in f.evidence["activations"][0].split(" (")[:1])
    assert "vanishing-gradient" in f.message


@pytest.mark.parametrize("name", ["relu_bn_mlp.onnx", "deep_relu_mlp.onnx", "lstm.onnx", "rnn_relu.onnx",
                                  "sklearn_mlp_relu.onnx", "input_norm_mlp.onnx", "keras_normalization.onnx"])
def test_cl200_quiet_without_saturating_chains(name):
    assert not findings(graph_of(name), SigmoidDepth)


def test_functions_are_inlined():
    import onnx

    assert len(onnx.load(str(GRAPHS / "deep_tanh_functions.onnx")).functions) >= 1
    g = graph_of("deep_tanh_functions.onnx")
    assert sum(n.op == "Tanh" for n in g.nodes) == 5 and sum(n.op == "Gemm" for n in g.nodes) == 6


def test_cl200_min_depth_option():
    assert not findings(graph_of("deep_sigmoid_mlp.onnx"), SigmoidDepth, options={"min_depth": 7})


def test_cl200_says_the_curves_agree():
    run = Run(name="r", path="r", format="csv", series={"loss": Series("loss", [0, 1, 2], [1.0, 1.0, 0.99])})
    earlier = [Finding("CL102", "loss-not-decreasing", Severity.WARNING, "r", "r", "loss", None, "flat"),
               Finding("CL102", "loss-not-decreasing", Severity.WARNING, "other", "other", "loss", None, "x")]
    (f,) = findings(graph_of("deep_sigmoid_mlp.onnx"), SigmoidDepth, run=run, earlier=earlier)
    assert "agree" in f.message and "loss-not-decreasing (CL102)" in f.message
    assert f.evidence["agrees_with"] == ["CL102"]
    (alone,) = findings(graph_of("deep_sigmoid_mlp.onnx"), SigmoidDepth)
    assert "agree" not in alone.message


def test_cl201_relu_rnn():
    (f,) = findings(graph_of("rnn_relu.onnx"), RecurrentActivation)
    assert f.rule == "CL201" and "Relu" in f.message and "/cell/RNN" in f.message and f.metric is None


def test_cl201_rnn_unrolled_by_the_dynamo_exporter():
    g = graph_of("rnn_relu_dynamo.onnx")
    assert not any(n.op in G.RECURRENT_OPS for n in g.nodes)
    (f,) = findings(g, RecurrentActivation)
    assert "unrolled recurrence with Relu" in f.message and f.evidence["steps"] >= 4
    assert not findings(g, MissingNormalization)  # time steps are not depth
    assert G.tied_chains(graph_of("deep_relu_mlp.onnx")) == []


def test_cl201_keras_rnns_written_as_loops():
    (f,) = findings(graph_of("keras_simplernn_relu.onnx"), RecurrentActivation)
    assert "recurrence written as a Loop" in f.message and "Relu" in f.message
    assert not findings(graph_of("keras_gru.onnx"), RecurrentActivation)  # gated: Sigmoid in the body
    for rule in (SigmoidDepth, MissingNormalization):
        assert not findings(graph_of("keras_gru.onnx"), rule)


def test_cl201_long_simple_rnn_and_option():
    (f,) = findings(graph_of("rnn_tanh_long.onnx"), RecurrentActivation)
    assert "120 steps" in f.message
    assert not findings(graph_of("rnn_tanh_long.onnx"), RecurrentActivation, options={"max_sequence": 200})


def test_cl201_quiet_on_lstm_and_non_recurrent():
    assert not findings(graph_of("lstm.onnx"), RecurrentActivation)
    assert not findings(graph_of("deep_sigmoid_mlp.onnx"), RecurrentActivation)


def test_cl201_stacked_simple_rnns():
    nodes = [Node(f"rnn{i}", "RNN", (f"h{i}", f"w{i}", f"r{i}"), (f"h{i + 1}",), {"activations": ["Tanh"]})
             for i in range(3)]
    g = GraphSummary("s.onnx", nodes, [TensorInfo("h0", "float")], [],
                     frozenset({f"{k}{i}" for k in "wr" for i in range(3)}))
    (f,) = findings(g, RecurrentActivation)
    assert f.evidence["depth"] == 3 and "rnn0 -> rnn1 -> rnn2" in f.message


def test_cl202_deep_without_normalization():
    (f,) = findings(graph_of("deep_relu_mlp.onnx"), MissingNormalization)
    assert f.severity == Severity.INFO and f.evidence["weight_layers"] == 9 and f.metric is None
    assert not findings(graph_of("relu_bn_mlp.onnx"), MissingNormalization)
    assert not findings(graph_of("lstm.onnx"), MissingNormalization)
    assert not findings(graph_of("deep_relu_mlp.onnx"), MissingNormalization, options={"min_weight_layers": 10})


def test_decomposed_layernorm_counts_as_normalization():
    nodes = [Node("mean", "ReduceMean", ("x",), ("m",)), Node("sub", "Sub", ("x", "m"), ("d",)),
             Node("sq", "Mul", ("d", "d"), ("d2",)), Node("var", "ReduceMean", ("d2",), ("v",)),
             Node("eps", "Add", ("v", "e"), ("ve",)), Node("sqrt", "Sqrt", ("ve",), ("s",)),
             Node("div", "Div", ("d", "s"), ("y",))]
    g = GraphSummary("ln.onnx", nodes, [TensorInfo("x", "float")], [], frozenset({"e"}))
    assert G.normalization_nodes(g) == ["div"]


def test_graph_rules_skip_runs_without_graph():
    run = Run(name="r", path="r", format="csv")
    sel = [Selected(r, r.severity, {}) for r in GRAPH_RULES]
    assert check_run(run, sel, Config()) == ([], [])
    for rule in GRAPH_RULES:  # defensive abstention when called directly
        assert [type(x).__name__ for x in lint(None, rule)] == ["Abstention"]


# -- reading ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"this is not a model\n", bytes(range(256)) * 4, b"\x08\x07\x12\x03abc"])
def test_bad_onnx_is_a_problem_not_a_crash(tmp_path: Path, content: bytes):
    p = tmp_path / "model.onnx"
    p.write_bytes(content)
    g, problems = load_graph(str(p))
    assert g is None and len(problems) == 1
    assert problems[0].kind == "unreadable" and "ONNX" in problems[0].message


def test_bad_onnx_beside_a_run_keeps_its_curves(tmp_path: Path):
    (tmp_path / "model.onnx").write_bytes(b"garbage")
    run = Run(name="r", path=str(tmp_path), format="csv", series={"loss": Series("loss", [0, 1], [1.0, 0.5])})
    source = RunSource(str(tmp_path), "csv", (), graphs=(str(tmp_path / "model.onnx"),))
    readers._attach_graphs([run], source)
    assert run.graph is None and "loss" in run.series
    assert [p.kind for p in run.problems] == ["unreadable"]


def test_bare_onnx_is_a_graph_only_run():
    path = str(GRAPHS / "lstm.onnx")
    (run,) = readers.read(RunSource(path, "onnx", (path,), (), (path,)))
    assert run.format == "onnx" and run.series == {} and run.graph is not None and run.problems == []


def _external_model(tmp_path: Path, location: str | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [w])
    model = helper.make_model(graph)
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.onnx.data", size_threshold=0)
    if location is not None:
        m = onnx.load(str(path), load_external_data=False)
        for e in m.graph.initializer[0].external_data:
            if e.key == "location":
                e.value = location
        path.write_bytes(m.SerializeToString())
    return path


def test_external_data_present_missing_and_unsafe(tmp_path: Path):
    path = _external_model(tmp_path)
    g, problems = load_graph(str(path))
    assert problems == [] and "present, not loaded" in g.notes[0]
    (tmp_path / "ext.onnx.data").unlink()
    g, problems = load_graph(str(path))
    assert problems == [] and "missing" in g.notes[0] and G.weight_layers(g) == ["fc"]
    g, _ = load_graph(str(_external_model(tmp_path, "../../../etc/passwd")))
    assert "not followed" in g.notes[0]


# -- real-world models (../shared/realworld) -------------------------------------------------------
def test_realworld_external_data_missing(realworld: Path):
    path = realworld / "bvoja_gpttt" / "app" / "model.onnx"
    g, problems = load_graph(str(path))
    assert problems == [] and g is not None
    assert len(g.notes) == 1 and "model.onnx.data" in g.notes[0] and "missing" in g.notes[0]
    (run,) = readers.read(RunSource(str(path), "onnx", (str(path),), (), (str(path),)))
    assert run.notes == g.notes
    assert G.input_preprocessing(g)  # token ids into an embedding


def test_every_realworld_onnx_is_analysed(realworld: Path):
    paths = sorted(realworld.rglob("*.onnx"))
    assert len(paths) >= 3
    sel = [Selected(r, r.severity, {}) for r in GRAPH_RULES]
    results = {}
    for path in paths:
        g, problems = load_graph(str(path))
        assert g is not None and problems == [], path
        run = Run(name=str(path), path=str(path), format="onnx", graph=g)
        found, abstained = check_run(run, sel, Config())
        assert not [a for a in abstained if "internal error" in a.reason], path
        results[path.parent.name if path.parent.name != "app" else path.parent.parent.name] = found
    # none of them is a deep saturating or un-normalized stack: the BatchNorm CNN (row 36),
    # the LayerNorm transformer (row 34) and the 2-Tanh-layer CartPole policy (row 37)
    assert results == {"akazhiyu_cnn-mnist": [], "aonohako_cartpole": [], "bvoja_gpttt": []}


def test_realworld_batchnorm_cnn_counts_its_normalization(realworld: Path):
    g, _ = load_graph(str(realworld / "akazhiyu_cnn-mnist" / "model.onnx"))
    assert len(G.normalization_nodes(g)) == 7 and G.weight_depth(g)[0] == 8


def test_loop_body_is_inlined(tmp_path: Path):
    """A Loop whose body stacks 4 Sigmoid layers on the carried state, then a weight layer after the loop."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    body_nodes, inits, t = [], [], "h_in"
    for i in range(4):
        inits.append(numpy_helper.from_array(rng.normal(size=(4, 4)).astype(np.float32), f"bw{i}"))
        body_nodes += [helper.make_node("MatMul", [t, f"bw{i}"], [f"m{i}"], name=f"body/fc{i}"),
                       helper.make_node("Sigmoid", [f"m{i}"], [f"s{i}"], name=f"body/act{i}")]
        t = f"s{i}"
    body_nodes += [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", [t], ["h_out"])]
    body = helper.make_graph(
        body_nodes, "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 4])], inits)
    main = helper.make_graph(
        [helper.make_node("Loop", ["trips", "", "x"], ["h"], body=body, name="loop"),
         helper.make_node("MatMul", ["h", "w_out"], ["y"], name="head")], "main",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.array(3, np.int64), "trips"),
         numpy_helper.from_array(np.eye(4, dtype=np.float32), "w_out")])
    path = tmp_path / "loop.onnx"
    onnx.save(helper.make_model(main, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    g, problems = load_graph(str(path))
    assert problems == []
    (f,) = findings(g, SigmoidDepth)
    assert f.evidence["depth"] == 4 and "loop/body/body/act0" in f.message and f.evidence["into"] == "head (MatMul)"


def test_input_preprocessing_kinds():
    def first(op: str, extra: tuple[str, ...] = ()) -> GraphSummary:
        nodes = [Node("flat", "Flatten", ("x",), ("f",)), Node("pre", op, ("f",) + extra, ("p",)),
                 Node("fc", "Gemm", ("p", "w"), ("y",))]
        return GraphSummary("p.onnx", nodes, [TensorInfo("x", "float")], [], frozenset({"w", "c", "scale", "bias"}))

    assert "BatchNormalization" in G.input_preprocessing(first("BatchNormalization", ("scale", "bias")))["x"]
    assert "Div by a constant" in G.input_preprocessing(first("Div", ("c",)))["x"]
    assert G.input_preprocessing(first("Relu")) == {}


def test_graph_and_curve_findings_in_one_report(tmp_path: Path):
    """An ONNX file in a TensorBoard run's folder is that run's graph; CL200 cites the flat loss (CL102)."""
    import shutil
    import sys

    from curvelint.engine import lint as lint_paths

    sys.path.insert(0, str(FIXTURES))
    from tbwrite import EventLog

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(GRAPHS / "deep_sigmoid_mlp.onnx", run_dir)
    log = EventLog(str(run_dir))
    noise = np.random.default_rng(0).normal(0, 0.002, 60)
    for i in range(60):
        log.scalar("train/loss", i * 10, 0.6931 + noise[i])
    log.close()
    report = lint_paths([str(run_dir)])
    codes = {f.rule: f for f in report.findings}
    assert {"CL102", "CL200", "CL202"} <= set(codes)
    assert "The curves agree: loss-not-decreasing (CL102)" in codes["CL200"].message
