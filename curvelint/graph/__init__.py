"""A model graph reduced to what the graph rules need, and the path analyses they share.

`GraphSummary` is a flat list of `Node`s: the ONNX reader (`curvelint.readers.onnx_graph`)
inlines local functions and If/Loop/Scan bodies into it, so nothing here imports onnx.
The analyses walk the data flow from the model inputs in topological order:

* `saturating_paths`: chains of saturating activations (Sigmoid, Tanh, HardSigmoid,
  Softsign, and their decomposed forms) that feed a weight layer with no normalization
  in between (CL200). A residual ``Add`` of two data paths takes the shorter one, since
  the gradient flows through the skip connection.
* `weight_depth`: the longest chain of weight layers (CL202); `recurrent_depth` the
  longest chain of simple RNN layers (CL201).
* `input_preprocessing`: whether the graph normalizes its inputs itself (CL300).

Unknown ops pass the state of their inputs through unchanged.

The package's modules: ops (op families), summary (the dataclasses), index (structure),
flow (the data-flow walk), paths (saturating chains, depths, normalization,
preprocessing), recurrent (unrolled recurrences); this package re-exports their names.
"""

from __future__ import annotations

from .index import (  # noqa: F401
    _Index,
    _index,
)
from .ops import (  # noqa: F401
    LAYOUT_OPS,
    MATMUL_OPS,
    NORM_OPS,
    RANDOM_OPS,
    RECURRENT_OPS,
    SATURATING_OPS,
    SHAPE_OPS,
    WEIGHT_OPS,
)
from .flow import (  # noqa: F401
    Chain,
    _CountStep,
    _data_flow,
    _label,
    _op_label,
    _walk,
)
from .paths import (  # noqa: F401
    SaturatingPath,
    _longest,
    _SatStep,
    input_preprocessing,
    normalization_nodes,
    recurrent_depth,
    saturating_paths,
    weight_depth,
    weight_layers,
)
from .recurrent import (  # noqa: F401
    _STEP_GLUE,
    ACTIVATION_OPS,
    MAX_TIED_CANDIDATES,
    LoopCell,
    TiedChain,
    _activations_after,
    loop_cells,
    tied_chains,
)
from .summary import (  # noqa: F401
    GraphSummary,
    Node,
    TensorInfo,
)
