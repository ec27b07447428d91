"""The optimizers' updates on the GPU: one fused CuPy kernel per parameter and step.

On a small model a GPU step is bound by how many kernels Python launches; each kernel here
does a whole update (the reference `update` launches one kernel per array operation). They follow
the order of operations of the array code in `fast/cpu/optim.py` (and of the reference), so
that the results agree; `fast/cpu/optim.py` calls them for CuPy arrays (see
`fast.runtime.use_kernels`).

Every `T lr` (and the other `T` scalars) takes a Python number or a 0-d CuPy array of type T:
an ElementwiseKernel broadcasts a 0-d array input like a scalar, but reads it from device
memory when it runs, so that a kernel captured in a CUDA graph reads the latest value of a
Tensor lr at every replay (a Python number is baked into the launch). The capturable Adam
kernels take the step count the same way (`float32 step`, counted on the device before the
kernel) and compute the bias corrections 1 - beta**step in the kernel.
"""

from __future__ import annotations

from ...backend import ElementwiseKernel

__all__ = ["SGD_KERNEL", "SGD_MOMENTUM_KERNEL", "ADAM_KERNELS", "RMSPROP_KERNELS",
           "ADAGRAD_KERNEL", "PENALIZED_GRAD_C"]

# d, the gradient after maximize (sign = -1) and the L2 penalty, from g and p
PENALIZED_GRAD_C = "T d = weight_decay != 0 ? p * weight_decay + sign * g : sign * g;"

SGD_KERNEL = ElementwiseKernel(
    "T g, T lr, T weight_decay, T sign", "T p",
    PENALIZED_GRAD_C + "p -= d * lr", "tinygrad_edu_sgd")

SGD_MOMENTUM_KERNEL = ElementwiseKernel(
    "T g, T lr, T momentum, T undamped, T weight_decay, T sign, int32 first, int32 nesterov",
    "T p, T buf",  # undamped = 1 - dampening
    PENALIZED_GRAD_C
    + "buf = first ? d : (undamped != 1 ? buf * momentum + d * undamped : buf * momentum + d);"
      "p -= nesterov ? (buf * momentum + d) * lr : buf * lr",
    "tinygrad_edu_sgd_momentum")


def _adam_kernel(amsgrad: bool, capturable: bool) -> ElementwiseKernel:
    """Adam's update; "second" is the second moment that divides (the running maximum of
    exp_avg_sq with amsgrad). Without capturable the host computes the step's scalars: decay
    (AdamW's 1 - lr * weight_decay, else 1), bias_correction2_sqrt and step_size (lr over
    bias correction 1). With capturable they are computed here from the step count on the
    device and `decoupled_weight_decay` (AdamW's weight_decay, else 0)."""
    keep_max = ("max_exp_avg_sq = (isnan(max_exp_avg_sq) || max_exp_avg_sq > exp_avg_sq)"
                " ? max_exp_avg_sq : exp_avg_sq;")
    second = "max_exp_avg_sq" if amsgrad else "exp_avg_sq"
    if capturable:
        scalars = ("T eps, T lr, T decoupled_weight_decay, float32 step",
                   "T t = step;"
                   "T decay = 1 - lr * decoupled_weight_decay;"
                   "T bias_correction2_sqrt = sqrt(1 - pow(beta2, t));"
                   "T step_size = lr / (1 - pow(beta1, t));")
    else:
        scalars = ("T decay, T bias_correction2_sqrt, T eps, T step_size", "")
    return ElementwiseKernel(
        "T g, T sign, T weight_decay, T beta1, T keep1, T beta2, T keep2, " + scalars[0],
        "T p, T exp_avg, T exp_avg_sq" + (", T max_exp_avg_sq" if amsgrad else ""),
        scalars[1] + PENALIZED_GRAD_C
        + "p *= decay;"
          "exp_avg = exp_avg * beta1 + d * keep1;"
          "exp_avg_sq = exp_avg_sq * beta2 + d * d * keep2;"
        + (keep_max if amsgrad else "")
        + f"p -= exp_avg / (sqrt({second}) / bias_correction2_sqrt + eps) * step_size",
        "tinygrad_edu_adam" + ("_amsgrad" if amsgrad else "")
        + ("_capturable" if capturable else ""))


ADAM_KERNELS = {(a, c): _adam_kernel(a, c) for a in (False, True) for c in (False, True)}
"""Adam's kernels by (amsgrad, capturable)."""


def _rmsprop_kernel(centered: bool, with_momentum: bool) -> ElementwiseKernel:
    """RMSprop's update: one kernel for each of centered / momentum."""
    outputs = "T p, T square_avg" + (", T grad_avg" if centered else "") + (
        ", T buf" if with_momentum else "")
    body = (PENALIZED_GRAD_C
            + "square_avg = square_avg * alpha + d * d * keep;"
            + ("grad_avg = grad_avg * alpha + d * keep;"
               "T avg = sqrt(square_avg - grad_avg * grad_avg) + eps;" if centered
               else "T avg = sqrt(square_avg) + eps;")
            + ("buf = buf * momentum + d / avg; p -= buf * lr" if with_momentum
               else "p -= d / avg * lr"))
    return ElementwiseKernel(
        "T g, T sign, T weight_decay, T alpha, T keep, T eps, T momentum, T lr", outputs, body,
        f"tinygrad_edu_rmsprop{'_centered' if centered else ''}"
        f"{'_momentum' if with_momentum else ''}")


RMSPROP_KERNELS = {(c, m): _rmsprop_kernel(c, m) for c in (False, True) for m in (False, True)}
"""RMSprop's kernels by (centered, momentum > 0)."""

ADAGRAD_KERNEL = ElementwiseKernel(
    "T g, T sign, T weight_decay, T eps, T clr", "T p, T state_sum",
    PENALIZED_GRAD_C
    + "state_sum += d * d;"
      "p -= d / (sqrt(state_sum) + eps) * clr",
    "tinygrad_edu_adagrad")
