"""The package's layers, as the folders show them (issue 15): every import inside
tinygrad_edu goes down the list below or stays in its layer, except the one documented seam
(the end of autograd/__init__.py imports tensor.py: the engine makes Tensors). Read from the source
with `ast`, so an import inside a function counts as much as one at the top (only imports
under `if TYPE_CHECKING:`, for annotations, are left out). tests/fast/test_layering.py
keeps kernels, environment reads and device scopes out of ops/, nn/ and optim/.

The order is the code's: backend -> autograd -> ops -> tensor -> nn -> optim -> utils.data ->
vision and the tools. (DESIGN.md lists tensor before ops; in the code the Tensor methods call
the ops, and the ops never import tensor: they make their outputs as `type(like)._make`.)
`fast/` sits beside the reference: it may import any layer, and no layer imports it except the
package's __init__, which loads it so that it registers its overrides."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tinygrad_edu"

# rank of each top-level part of the package: a module may import only ranks <= its own
RANKS = {
    "backend": 0, "backends": 0, "accelerator": 0,
    "autograd": 1,
    "ops": 2,
    "tensor": 3,
    "nn": 4, "linalg": 4, "distributed": 4,
    "optim": 5,
    "utils": 6,
    "vision": 7,
    # the tools, built on everything above
    "serialization": 8, "metrics": 8, "plots": 8, "viz": 8, "profiler": 8, "train": 8,
    "distributions": 8, "cuda_capture": 8,
    # old names kept as aliases of utils.data / vision (they re-export them)
    "data": 9, "datasets": 9,
    "fast": 10,
    "__init__": 11,
}
SEAM = ("autograd", "tensor")  # the end of autograd/__init__.py: `from ..tensor import ...`


def part_of(module: str) -> str:
    """'tinygrad_edu.nn.functional' -> 'nn'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] if len(parts) > 1 else parts
    return ".".join(parts)


def imports_of(path: pathlib.Path) -> list[tuple[str, int]]:
    """The tinygrad_edu modules `path` imports, with their line numbers."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for stmt in block.body for n in ast.walk(stmt)}  # (annotations only)
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found += [(t, node.lineno) for t in targets if t.split(".")[0] == "tinygrad_edu"]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_rank():
    parts = {part_of(module_name(p)) for p in SOURCES}
    assert parts <= set(RANKS), parts - set(RANKS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    here = part_of(module_name(path))
    upward = []
    for target, line in imports_of(path):
        there = part_of(target)
        if there == "__init__" or (here, there) == SEAM:
            continue  # `from .. import backend` names a module: checked as that module
        if RANKS[there] > RANKS[here]:
            upward.append(f"line {line}: {here} imports {target} ({there} is above {here})")
    assert not upward, "\n".join(upward)


def test_the_seam_comes_after_everything_the_engine_defines():
    """The one upward import is at the end of autograd/__init__.py, after every function and
    class of the engine, so that every name tensor.py imports from autograd exists by then;
    only autograd's own modules built on it (functional, gradcheck) are imported after it."""
    tree = ast.parse((PACKAGE / "autograd" / "__init__.py").read_text())
    seam = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.ImportFrom)
                and node.module == "tensor" and node.level == 2)
    after = tree.body[seam + 1:]
    assert all(isinstance(node, ast.ImportFrom) and node.level == 1 for node in after), after
    upward = [t for p in SOURCES if part_of(module_name(p)) == "autograd"
              for t, _ in imports_of(p) if part_of(t) not in ("backend", "autograd")]
    assert upward == ["tinygrad_edu.tensor"], upward
