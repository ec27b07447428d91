"""The names intro-course code uses, held against the library (issue 16).

LISTED is the issue's list of PyTorch APIs (as `tg.<path>`; "Tensor.x" a method). NOT_YET
holds the ones not built yet: the test fails when a listed name is missing and not in NOT_YET,
and also when a name in NOT_YET exists (then take it out of NOT_YET). Where PyTorch is
installed, every listed name is checked to exist there too, so the list stays PyTorch's."""

from __future__ import annotations

import importlib.util

import pytest

import tinygrad_edu as tg

LISTED = [
    "normal", "multinomial", "rand_like", "randn_like", "randint_like", "tril", "triu", "diag",
    "diagonal", "trace", "meshgrid", "outer", "logspace", "eye", "Tensor.new_empty",
    "Tensor.repeat", "repeat_interleave", "Tensor.repeat_interleave", "flip", "roll", "narrow",
    "Tensor.narrow", "index_select", "masked_select", "nonzero", "where", "scatter",
    "Tensor.scatter_", "scatter_add", "Tensor.scatter_add_", "Tensor.index_add_",
    "Tensor.index_fill_", "take_along_dim", "hstack", "vstack", "dstack", "column_stack",
    "movedim", "swapaxes", "Tensor.expand_as", "Tensor.view", "Tensor.is_contiguous",
    "Tensor.stride", "Tensor.unfold", "nn.functional.unfold", "nn.functional.fold", "cumsum",
    "cumprod", "sort", "argsort", "topk", "kthvalue", "median", "quantile", "mode", "unique",
    "count_nonzero", "nansum", "nanmean", "aminmax", "var_mean", "std_mean", "logcumsumexp",
    "mm", "bmm", "mv", "dot", "vdot", "baddbmm", "addmm", "einsum", "tensordot", "kron",
    "cross", "linalg.norm", "linalg.vector_norm", "linalg.matrix_norm", "linalg.inv",
    "linalg.det", "linalg.solve", "linalg.qr", "linalg.svd", "linalg.eigh", "linalg.cholesky",
    "log1p", "expm1", "log2", "log10", "exp2", "floor", "ceil", "round", "trunc", "frac",
    "sinh", "cosh", "tan", "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "erf",
    "erfc", "erfinv", "lgamma", "digamma", "hypot", "logaddexp", "xlogy", "fmod", "remainder",
    "div", "reciprocal", "clamp_min", "clamp_max", "lerp", "isclose", "isinf", "isneginf",
    "isposinf", "nan_to_num", "logical_and", "logical_or", "logical_xor", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "Tensor.relu_", "Tensor.exp_", "Tensor.clamp_",
    "Tensor.masked_fill_", "Tensor.sigmoid_", "Tensor.log_", "Tensor.tanh_", "Tensor.sqrt_",
    "Tensor.abs_", "Tensor.neg_", "nn.Conv1d", "nn.ConvTranspose1d", "nn.ConvTranspose2d",
    "nn.MaxPool1d", "nn.AvgPool1d", "nn.AdaptiveAvgPool1d", "nn.AdaptiveMaxPool2d",
    "nn.Upsample", "nn.functional.interpolate", "nn.LayerNorm", "nn.GroupNorm",
    "nn.InstanceNorm2d", "nn.Dropout2d", "nn.AlphaDropout", "nn.Bilinear", "nn.PixelShuffle",
    "nn.ZeroPad2d", "nn.ReflectionPad2d", "nn.ReplicationPad2d", "nn.ParameterList",
    "nn.ParameterDict", "nn.EmbeddingBag", "nn.CosineSimilarity", "nn.PairwiseDistance",
    "nn.ELU", "nn.SELU", "nn.CELU", "nn.SiLU", "nn.Mish", "nn.Softplus", "nn.Softsign",
    "nn.Hardtanh", "nn.Hardsigmoid", "nn.Hardswish", "nn.ReLU6", "nn.PReLU", "nn.LogSigmoid",
    "nn.Softmin", "nn.Softmax2d", "nn.Threshold", "nn.GLU", "nn.Tanhshrink", "nn.KLDivLoss",
    "nn.PoissonNLLLoss", "nn.GaussianNLLLoss", "nn.MarginRankingLoss", "nn.HingeEmbeddingLoss",
    "nn.CosineEmbeddingLoss", "nn.TripletMarginLoss", "nn.MultiMarginLoss",
    "nn.MultiLabelSoftMarginLoss", "nn.SoftMarginLoss", "nn.CTCLoss", "nn.functional.embedding",
    "nn.functional.cosine_similarity", "nn.functional.pairwise_distance",
    "nn.functional.kl_div", "nn.functional.gumbel_softmax", "nn.functional.affine_grid",
    "nn.functional.grid_sample", "nn.functional.one_hot", "optim.NAdam", "optim.RAdam",
    "optim.Adamax", "optim.Adadelta", "optim.Rprop", "optim.ASGD", "optim.LBFGS",
    "optim.lr_scheduler.LinearLR", "optim.lr_scheduler.SequentialLR",
    "optim.lr_scheduler.ChainedScheduler", "optim.lr_scheduler.CosineAnnealingWarmRestarts",
    "optim.lr_scheduler.CyclicLR", "optim.lr_scheduler.PolynomialLR",
    "optim.lr_scheduler.ConstantLR", "optim.lr_scheduler.MultiplicativeLR",
    "nn.utils.clip_grad_value_", "nn.utils.parameters_to_vector",
    "nn.utils.vector_to_parameters", "nn.utils.parametrizations.weight_norm",
    "autograd.functional.jacobian", "autograd.functional.hessian", "autograd.functional.vjp",
    "autograd.functional.jvp", "autograd.functional.hvp", "inference_mode",
    "distributions.Normal", "distributions.Categorical", "distributions.Bernoulli",
    "distributions.Uniform",
]
LISTED += [  # issue 18: recurrent layers and packed sequences
    "nn.RNN", "nn.LSTM", "nn.GRU", "nn.RNNCell", "nn.LSTMCell", "nn.GRUCell", "nn.RNNBase",
    "nn.RNNCellBase", "nn.utils.rnn.pad_sequence", "nn.utils.rnn.pack_padded_sequence",
    "nn.utils.rnn.pad_packed_sequence", "nn.utils.rnn.pack_sequence",
    "nn.utils.rnn.PackedSequence", "nn.utils.rnn.unpad_sequence",
    "nn.utils.rnn.unpack_sequence", "nn.utils.rnn.invert_permutation",
]
LISTED += [  # issue 18: attention and transformer modules
    "nn.functional.scaled_dot_product_attention", "nn.functional.multi_head_attention_forward",
    "nn.MultiheadAttention", "nn.TransformerEncoderLayer", "nn.TransformerEncoder",
    "nn.TransformerDecoderLayer", "nn.TransformerDecoder", "nn.Transformer",
    "nn.Transformer.generate_square_subsequent_mask",
]

NOT_YET: set[str] = set()


def resolve(root, path: str):
    obj = root
    for part in path.split("."):
        obj = root.Tensor if part == "Tensor" else getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def test_the_listed_names_exist_unless_marked_not_yet():
    missing = {name for name in LISTED if resolve(tg, name) is None}
    assert missing - NOT_YET == set(), "listed but missing"
    assert NOT_YET - missing == set(), "built now: take them out of NOT_YET"
    assert NOT_YET <= set(LISTED) and len(set(LISTED)) == len(LISTED)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_the_list_is_pytorchs():
    import torch  # noqa: PLC0415
    import torch.autograd.functional  # noqa: F401,PLC0415
    import torch.distributions  # noqa: F401,PLC0415
    import torch.nn.utils.parametrizations  # noqa: F401,PLC0415

    assert [name for name in LISTED if resolve(torch, name) is None] == []
