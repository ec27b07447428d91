"""tinygrad_edu: a small, readable deep-learning library on NumPy (CPU) and CuPy (GPU).

    import tinygrad_edu as tg
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([2., 4., 6.])
"""

from . import autograd, backend, data, datasets, distributions, metrics, nn, optim, profiler, viz
from .autograd import (
                       enable_grad,
                       inference_mode,
                       is_grad_enabled,
                       is_inference_mode_enabled,
                       no_grad,
                       set_grad_enabled,
)
from .backend import (
                       Device,
                       bool_,
                       cuda,
                       dtype,
                       float16,
                       float32,
                       float64,
                       get_array_module,
                       int32,
                       int64,
                       uint8,
)
from .backend import Device as device
from .serialization import load, save  # noqa: E402
from .tensor import (
                       BoolTensor,
                       ByteTensor,
                       DoubleTensor,
                       FloatTensor,
                       Generator,
                       HalfTensor,
                       IntTensor,
                       LongTensor,
                       Size,
                       Tensor,
                       add,
                       arange,
                       as_tensor,
                       cat,
                       concatenate,
                       div,
                       empty,
                       empty_like,
                       eye,
                       from_numpy,
                       full,
                       full_like,
                       get_default_device,
                       get_default_dtype,
                       is_tensor,
                       linspace,
                       manual_seed,
                       matmul,
                       mul,
                       numel,
                       ones,
                       ones_like,
                       pad,
                       promote_types,
                       rand,
                       rand_like,
                       randint,
                       randint_like,
                       randn,
                       randn_like,
                       randperm,
                       result_type,
                       return_types,
                       set_default_device,
                       set_default_dtype,
                       set_printoptions,
                       stack,
                       sub,
                       tensor,
                       where,
                       zeros,
                       zeros_like,
)
from .tensor import _export as _export_methods

bool = bool_  # noqa: A001 - tg.bool, as torch.bool
float = float32  # noqa: A001 - tg.float, as torch.float
double = float64
long = int64
int = int32  # noqa: A001 - tg.int, as torch.int
half = float16

globals().update(_export_methods([
    "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "clip",
    "maximum", "minimum", "sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax",
    "argmin", "logsumexp", "prod", "norm", "reshape", "flatten", "squeeze", "unsqueeze",
    "transpose", "permute", "broadcast_to", "softmax", "log_softmax", "split",
    "chunk", "pow", "square", "allclose", "equal", "isnan", "isfinite", "gather", "sign",
    "all", "any", "unbind", "rsqrt", "t", "masked_fill", "detach", "clone",
    "mm", "diag", "diagonal", "trace", "sort", "argsort", "topk", "kthvalue", "median", "mode",
    "cumsum", "flip",
]))
globals().update(_export_methods([  # issue 16: shapes, indexing, reductions, products
    "repeat_interleave", "roll", "narrow", "index_select", "masked_select", "nonzero",
    "take_along_dim", "movedim", "moveaxis", "swapaxes", "swapdims", "tril", "triu", "cumprod",
    "logcumsumexp", "nansum", "nanmean", "count_nonzero", "aminmax", "bmm", "mv", "dot", "vdot",
    "outer", "ger", "addmm", "baddbmm", "kron", "cross",
]))
from . import (  # noqa: E402 - tg.utils.data.DataLoader, tg.backends.mps
    accelerator,
    backends,
    fast,  # noqa: E402 - registers the overrides (tg.fast.off() runs the reference)
    utils,
)
from .tensor import (  # noqa: E402 - issue 16: functions without a method
    column_stack,
    dstack,
    hstack,
    logspace,
    meshgrid,
    row_stack,
    std_mean,
    tensordot,
    var_mean,
    vstack,
)

globals().update(_export_methods(["logical_not"]))  # issue 16 (a method that had no function)
from . import linalg  # noqa: E402 - issue 16: tg.linalg.solve, tg.linalg.qr, ...

globals().update(_export_methods(["det", "inverse", "slogdet", "logdet"]))  # issue 16
from . import distributed  # noqa: E402 - issue 20: tg.distributed, as torch.distributed
from .tensor import (  # noqa: E402 - issue 16: elementwise math
                       acos,
                       acosh,
                       arccos,
                       arccosh,
                       arcsin,
                       arcsinh,
                       arctan,
                       arctan2,
                       arctanh,
                       asin,
                       asinh,
                       atan,
                       atan2,
                       atanh,
                       bitwise_and,
                       bitwise_not,
                       bitwise_or,
                       bitwise_xor,
                       ceil,
                       clamp_max,
                       clamp_min,
                       cosh,
                       digamma,
                       erf,
                       erfc,
                       erfinv,
                       exp2,
                       expm1,
                       fix,
                       floor,
                       fmod,
                       frac,
                       hypot,
                       isclose,
                       isinf,
                       isneginf,
                       isposinf,
                       lerp,
                       lgamma,
                       log1p,
                       log2,
                       log10,
                       logaddexp,
                       logical_and,
                       logical_or,
                       logical_xor,
                       nan_to_num,
                       neg,
                       negative,
                       reciprocal,
                       remainder,
                       round,  # noqa: A004 - tg.round, as torch.round
                       sinh,
                       tan,
                       trunc,
                       xlogy,
)

globals().update(_export_methods([  # issue 16: scatter and index writes, quantiles, unique
    "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill", "multinomial",
    "quantile", "nanquantile", "unique", "unique_consecutive",
]))
from . import cuda_capture  # noqa: E402 - issue 19: CUDA graphs of whole steps
from .cuda_capture import compile  # noqa: E402, A004 - tg.compile, as torch.compile
from .ops.einsum import einsum  # noqa: E402 - issue 16
from .tensor import normal  # noqa: E402 - issue 16: sampling

cuda.graphs = cuda_capture.graphs  # tg.cuda.graphs, as torch.cuda.graphs
cuda.make_graphed_callables = cuda_capture.make_graphed_callables

__version__ = "0.1.0"
