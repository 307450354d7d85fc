"""ONNX op families the graph analyses group: weight layers, normalizations, saturating activations."""

from __future__ import annotations

WEIGHT_OPS = frozenset({"Gemm", "Conv", "ConvTranspose", "LSTM", "GRU", "RNN", "QLinearConv", "ConvInteger",
                        "DeformConv"})
MATMUL_OPS = frozenset({"MatMul", "MatMulInteger", "QLinearMatMul", "Einsum", "FusedMatMul"})
RECURRENT_OPS = frozenset({"LSTM", "GRU", "RNN"})
NORM_OPS = frozenset({
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
    "RMSNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
    "SkipSimplifiedLayerNormalization", "MeanVarianceNormalization", "LpNormalization",
})
SATURATING_OPS = frozenset({"Sigmoid", "Tanh", "HardSigmoid", "Softsign"})
SHAPE_OPS = frozenset({"Shape", "Size"})  # their outputs describe a tensor, they do not carry its values
RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                        "Bernoulli"})
LAYOUT_OPS = frozenset({"Cast", "CastLike", "Reshape", "Flatten", "Transpose", "Identity", "Unsqueeze", "Squeeze",
                        "Expand", "Dropout"})
