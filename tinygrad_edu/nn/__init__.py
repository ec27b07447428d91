"""tinygrad_edu.nn: layers, losses and the Module machinery, named as torch.nn.

    import tinygrad_edu.nn as nn
    import tinygrad_edu.nn.functional as F

    model = nn.Sequential(nn.Flatten(), nn.Linear(3072, 16), nn.ReLU(), nn.Linear(16, 10))
    loss = nn.CrossEntropyLoss()(model(x), y)
    model.num_parameters()  # 49338, also nn.utils.count_parameters(model)
"""

from . import functional, init, utils
from .layers import (
    GELU,
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Identity, Module, ModuleDict, ModuleList, RemovableHandle, Sequential
from .parameter import Parameter

__all__ = [
    "functional", "init", "utils",
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity",
    "RemovableHandle",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d",
    "BatchNorm2d", "Dropout", "Flatten", "Unflatten", "Embedding",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss",
]

# --- issue 16: nn part A ---
from .layers import (  # noqa: E402
    CELU,
    ELU,
    GLU,
    SELU,
    CosineSimilarity,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PairwiseDistance,
    PReLU,
    ReLU6,
    SiLU,
    Softmax2d,
    Softmin,
    Softplus,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .loss import (  # noqa: E402
    CosineEmbeddingLoss,
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    KLDivLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import ParameterDict, ParameterList  # noqa: E402

__all__ += [  # issue 16: nn part A
    "ELU", "SELU", "CELU", "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid",
    "Hardswish", "ReLU6", "PReLU", "LogSigmoid", "Softmin", "Softmax2d", "Threshold", "GLU",
    "Tanhshrink", "CosineSimilarity", "PairwiseDistance",
    "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
    "CosineEmbeddingLoss", "TripletMarginLoss", "MultiMarginLoss", "MultiLabelSoftMarginLoss",
    "SoftMarginLoss", "ParameterList", "ParameterDict", "CTCLoss",
]

# --- issue 16: nn part B ---
__all__ += [  # issue 16: nn part B
    "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "ZeroPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad2d", "MaxPool1d",
    "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LayerNorm",
    "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout1d", "Dropout2d", "AlphaDropout",
    "PixelShuffle", "PixelUnshuffle", "Upsample", "Bilinear", "EmbeddingBag",
]
from .layers import (  # noqa: E402
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AlphaDropout,
    AvgPool1d,
    Bilinear,
    CircularPad2d,
    Conv1d,
    ConvTranspose1d,
    ConvTranspose2d,
    Dropout1d,
    Dropout2d,
    EmbeddingBag,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    MaxPool1d,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    Upsample,
    ZeroPad2d,
)

__all__ += ["Unfold", "Fold"]  # issue 16: im2col / col2im
from .layers import Fold, Unfold  # noqa: E402

# --- issue 18: attention and transformer modules ---
from .transformer import (  # noqa: E402
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [  # issue 18: attention and transformer modules
    "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder",
    "TransformerEncoderLayer", "TransformerDecoderLayer",
]

# --- issue 18: recurrent layers ---
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402

__all__ += ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]
from . import parallel  # noqa: E402, I001 - issue 20: nn.parallel.DistributedDataParallel
