"""Parametrizations, as `torch.nn.utils.parametrizations` (and the core of
`torch.nn.utils.parametrize`): a parameter computed from other parameters on every access.

    from tinygrad_edu.nn.utils.parametrizations import weight_norm
    layer = weight_norm(nn.Linear(20, 40))   # weight = g * v / ||v||, row by row
    layer.parametrizations.weight.original0  # g, shape (40, 1)
    layer.parametrizations.weight.original1  # v, shape (40, 20)

How it works, as in PyTorch: the original `weight` Parameter is removed from the module; the
tensors it is computed from (`original0`, `original1`, ... given by the parametrization's
`right_inverse`) are registered in `module.parametrizations.weight` (a ParametrizationList),
and the module's class is swapped for a subclass, `ParametrizedLinear`, with a property
`weight` that calls the parametrization. Autograd then differentiates through the formula, so
the optimizer updates g and v. Assigning `module.weight = w` sets the originals from w.
"""

from __future__ import annotations

from typing import Any

from ...autograd import no_grad
from ...tensor import Tensor
from ..module import Module, ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["weight_norm", "register_parametrization", "remove_parametrizations",
           "is_parametrized", "ParametrizationList"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of v over every dim but `dim` (kept as size 1), or of all of v (dim=-1)."""
    if dim == -1:
        return v.norm()
    dim %= v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return (v * v).sum(others, keepdim=True).sqrt() if others else v.abs()


class _WeightNorm(Module):
    """w = g * v / ||v||, the norm over every dim but `dim` (Salimans & Kingma, 2016): the
    length g and the direction v of each row are learned separately."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """(g, v) = (||w||, w): the originals that give back `weight`."""
        return _norm_except_dim(weight, self.dim), weight


class ParametrizationList(ModuleList):
    """The parametrization of one tensor (item 0) and the tensors it is computed from,
    registered as the parameters `original0`, `original1`, ... (or `original` for one)."""

    def forward(self) -> Tensor:  # type: ignore[override]
        names = sorted(n for n in self._parameters if n.startswith("original"))
        return self[0](*[self._parameters[n] for n in names])

    def right_inverse(self, value: Tensor) -> tuple[Tensor, ...]:
        inverse = getattr(self[0], "right_inverse", None)
        result = value if inverse is None else inverse(value)
        return result if isinstance(result, tuple) else (result,)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has a parametrization (on `tensor_name`, if given)."""
    plists = module._modules.get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def _parametrized_class(module: Module) -> type:
    """A subclass of type(module) made for this one module (as PyTorch does), to hold the
    properties of its parametrized tensors."""
    cls = type(module)
    if getattr(cls, "_parametrized_names", None) is not None:
        return cls

    def __setattr__(self: Module, name: str, value: Any) -> None:
        if name in type(self)._parametrized_names:
            object.__setattr__(self, name, value)  # the property's setter
        else:
            cls.__setattr__(self, name, value)

    return type(f"Parametrized{cls.__name__}", (cls,),
                {"_parametrized_names": set(), "__setattr__": __setattr__})


def register_parametrization(module: Module, tensor_name: str, parametrization: Module,
                             *, unsafe: bool = False) -> Module:
    """Replace the Parameter `module.<tensor_name>` by `parametrization(*originals)`, the
    originals being `parametrization.right_inverse(current value)` (the value itself when
    it has none). Returns the module."""
    if is_parametrized(module, tensor_name):
        raise NotImplementedError(f"register_parametrization: '{tensor_name}' is already "
                                  "parametrized; stacking parametrizations is not supported")
    original = module._parameters.get(tensor_name)
    if not isinstance(original, Parameter):
        raise ValueError(f"Module '{module._get_name()}' has no parameter with name "
                         f"'{tensor_name}'")
    plist = ParametrizationList([parametrization])
    with no_grad():
        values = plist.right_inverse(original)
    for i, value in enumerate(values):
        name = "original" if len(values) == 1 else f"original{i}"
        plist.register_parameter(name, Parameter(value.detach().clone(),
                                                 requires_grad=original.requires_grad))
    del module._parameters[tensor_name]
    module.__class__ = _parametrized_class(module)
    if "parametrizations" not in module._modules:
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist

    def get(self: Module) -> Tensor:
        return self.parametrizations[tensor_name]()

    def set_(self: Module, value: Tensor) -> None:
        target = self.parametrizations[tensor_name]
        with no_grad():
            for i, v in enumerate(target.right_inverse(value)):
                name = "original" if "original" in target._parameters else f"original{i}"
                target._parameters[name].copy_(v)

    setattr(type(module), tensor_name, property(get, set_))
    type(module)._parametrized_names.add(tensor_name)
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo register_parametrization: `tensor_name` becomes a plain Parameter again, holding
    the parametrized value (leave_parametrized=True) or the single original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module._get_name()} does not have a parametrization on "
                         f"{tensor_name}")
    plist = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = plist()
    elif "original" in plist._parameters:
        value = plist._parameters["original"]
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                         "that is parametrized in terms of a sequence of tensors.")
    cls = type(module)
    delattr(cls, tensor_name)
    cls._parametrized_names.discard(tensor_name)
    del module.parametrizations[tensor_name]
    if not len(module.parametrizations):
        del module.parametrizations
        module.__class__ = cls.__bases__[0]
    requires_grad = any(p.requires_grad for p in plist._parameters.values())
    module.register_parameter(tensor_name, Parameter(value.detach(),
                                                     requires_grad=requires_grad))
    return module


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalisation of `module.<name>`: w = g * v / ||v|| with g
    (`parametrizations.<name>.original0`, one length per slice along `dim`; dim=None: one for
    the whole tensor) and v (`original1`, the direction) learned. Returns the module."""
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
