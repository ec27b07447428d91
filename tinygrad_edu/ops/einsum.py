"""Einstein summation, `einsum("ij,jk->ik", a, b)`, as torch.einsum.

The equation names each dim of each operand by a letter; letters shared by operands are
multiplied together elementwise, and letters that are not in the output are summed over:

    y[out] = sum over the letters not in `out` of  x_1[s_1] * x_2[s_2] * ...

`einsum` first brings any equation to a plain form with Tensor ops (so their gradients come
for free): `...` becomes letters of its own, a letter repeated on one operand ("ii") takes the
diagonal, dims of size 1 are expanded to the size the other operands give the letter, and a
letter found on one operand only and not in the output is summed there. What is left is one
`Einsum` node, whose gradient is again an einsum: for y = einsum(s_1, ..., s_n -> o),

    dL/dx_k = einsum(o, s_1, ..., (without s_k), ..., s_n -> s_k)(g, x_1, ..., x_n),

the product of the gradient with the other operands, summed over the letters that x_k lacks.
(Every letter of x_k is in o or in another operand, so that einsum is again a plain one.)
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from ..autograd import Function
from ..backend import get_array_module

LETTERS = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's order: A-Z, then a-z


class Einsum(Function):
    """y = einsum(",".join(subscripts) + "->" + output) of the inputs, where each input's
    letters are distinct and each of them is in the output or in another input.
    dL/dx_k = einsum(output and the other inputs' letters -> subscripts[k]) of g and the
    other inputs."""

    def forward(self, *xs: Any, subscripts: tuple, output: str) -> Any:
        self.subscripts, self.output = subscripts, output
        xp = get_array_module(xs[0])
        equation = ",".join(subscripts) + "->" + output
        if len(xs) == 1:  # (NumPy may answer with a view of the input: a copy of its own)
            return xp.einsum(equation, xs[0]).copy()
        return xp.einsum(equation, *xs, optimize=True)  # (BLAS where it can)

    def backward(self, g: Any) -> tuple:
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [x for j, x in enumerate(self.inputs) if j != k]
            letters = tuple(s for j, s in enumerate(self.subscripts) if j != k)
            grads.append(Einsum.apply(g, *others, subscripts=(self.output,) + letters,
                                      output=self.subscripts[k]))
        return tuple(grads)


def einsum(equation: Any, *operands: Any) -> Any:
    """Einstein summation as torch.einsum: `einsum("bij,bjk->bik", a, b)` (the batched matrix
    product), `einsum("ii", a)` (the trace), `einsum("...ij->...ji", a)`, the list form
    `einsum("ij,jk", [a, b])`, and the sublist form `einsum(a, [0, 1], b, [1, 2], [0, 2])`.
    Without "->" the output is the letters found once, in alphabetical order (after the
    `...` dims). Dims of size 1 broadcast. Differentiable in every operand."""
    if not isinstance(equation, str):  # the sublist form: op, dims, op, dims, ..., [out]
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not hasattr(x, "grad_fn"):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, got "
                            f"{type(x).__name__}")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    if any(x.dtype != operands[0].dtype for x in operands):
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                           f"{[str(x.dtype) for x in operands]}")
    inputs, output = _parse(equation.replace(" ", ""), operands)
    xs = list(operands)
    # a letter repeated on one operand: its diagonal
    for k, letters in enumerate(inputs):
        while len(set(letters)) < len(letters):
            letter = next(c for c in letters if letters.count(c) > 1)
            first = letters.index(letter)
            second = letters.index(letter, first + 1)
            if xs[k].shape[first] != xs[k].shape[second]:
                raise RuntimeError(f"einsum(): subscript {letter} is repeated for operand {k} "
                                   f"but the sizes don't match, {xs[k].shape[second]} != "
                                   f"{xs[k].shape[first]}")
            xs[k] = xs[k].diagonal(0, first, second)
            letters = letters[:first] + letters[first + 1:second] + letters[second + 1:] + letter
        inputs[k] = letters
    # each letter's size, broadcasting 1s
    sizes: dict[str, int] = {}
    for k, letters in enumerate(inputs):
        for letter, n in zip(letters, xs[k].shape):
            seen = sizes.get(letter, 1)
            if n != 1 and seen != 1 and n != seen:
                raise RuntimeError(f"einsum(): subscript {letter} has size {n} for "
                                   f"operand {k} which does not broadcast with previously seen "
                                   f"size {seen}")
            sizes[letter] = max(seen, n) if 0 not in (n, seen) else 0
    for k, letters in enumerate(inputs):
        full = tuple(sizes[c] for c in letters)
        if tuple(xs[k].shape) != full:
            xs[k] = xs[k].expand(*full)
        # a letter on this operand only, not in the output: summed here
        alone = [i for i, c in enumerate(letters) if c not in output
                 and not any(c in other for j, other in enumerate(inputs) if j != k)]
        if alone:
            xs[k] = xs[k].sum(tuple(alone))
            inputs[k] = "".join(c for i, c in enumerate(letters) if i not in alone)
    return Einsum.apply(*xs, subscripts=tuple(inputs), output=output)


def _parse(equation: str, operands: tuple) -> tuple[list[str], str]:
    """The letters of each operand and of the output, with `...` replaced by letters that the
    equation does not use (as many as the operand's dims it stands for, right-aligned)."""
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    for position, c in enumerate(equation):
        if c not in LETTERS and c not in ",.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {position} in the "
                               f"equation string, subscripts must be in [a-zA-Z]")
    for term in terms + ([rhs] if arrow else []):
        if term.replace("...", "").count(".") or term.count("...") > 1:
            raise RuntimeError("einsum(): found '.' for operand that is not part of any "
                               "ellipsis or more than one ellipsis")
    free = [c for c in LETTERS if c not in equation]
    ellipsis_dims = 0
    for term, x in zip(terms, operands):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > x.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({named}) is more than the number of dimensions "
                                   f"({x.ndim}) for operand {terms.index(term)}")
            ellipsis_dims = max(ellipsis_dims, x.ndim - named)
        elif named != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({x.ndim}) for "
                               f"operand {terms.index(term)} and no ellipsis was given")
    if ellipsis_dims > len(free):
        raise RuntimeError("einsum(): too many dimensions for the letters left")
    dots = "".join(free[:ellipsis_dims])
    inputs = []
    for term, x in zip(terms, operands):  # an operand's ... : the last of the dots (aligned
        covered = x.ndim - len(term.replace("...", ""))  # to the right, as broadcasting)
        inputs.append(term.replace("...", dots[len(dots) - covered:]) if "..." in term
                      else term)
    if arrow:
        output = rhs.replace("...", dots)
        for c in output:
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   f"the output")
            if not any(c in term for term in inputs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
    else:
        counts = "".join(term.replace("...", "") for term in terms)
        output = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    return inputs, output


def _from_sublists(args: tuple) -> tuple[str, tuple]:
    """einsum(a, [0, 1], b, [1, 2], [0, 2]) -> ("AB,BC->AC", (a, b)) (Ellipsis as ...)."""
    def letters(dims: Any) -> str:
        out = ""
        for d in dims:
            if d is Ellipsis:
                out += "..."
            elif isinstance(d, (int, np.integer)) and 0 <= d < len(LETTERS):
                out += LETTERS[d]
            else:
                raise RuntimeError(f"einsum(): expected subscript to be within the range [0, "
                                   f"{len(LETTERS)}), but got {d}")
        return out
    body, output = (args[:-1], "->" + letters(args[-1])) if len(args) % 2 else (args, "")
    return ",".join(letters(d) for d in body[1::2]) + output, tuple(body[0::2])
