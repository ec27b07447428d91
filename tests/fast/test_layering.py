"""The reference holds no speed code (issue 15; DESIGN.md, "Reference and fast").

No file under tinygrad_edu/ops, tinygrad_edu/nn or tinygrad_edu/optim may name GPU kernels
(ElementwiseKernel, RawKernel, ReductionKernel, CuPy itself), read the environment
(os.environ, getenv), choose or scope devices (device_scope, on_device_of_args,
several_gpus_in_use, device_constant, cuda.Device, a `type(x) is np.ndarray` branch, the
kernel switches), or import tinygrad_edu.fast: all that lives in tinygrad_edu/fast/, and
the one device scope for several GPUs is autograd's (Function.apply and the engine).

Only code counts: the source is read with `tokenize`, so comments and docstrings may say
"GPU", "kernel" or "CuPy" in words; imports are read with `ast`, so a relative or
function-level import of fast counts as much as `import tinygrad_edu.fast`.
"""

from __future__ import annotations

import ast
import io
import pathlib
import re
import tokenize

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "tinygrad_edu"
REFERENCE = ("ops", "nn", "optim")
SOURCES = sorted(p for part in REFERENCE for p in (PACKAGE / part).rglob("*.py"))

# identifiers (NAME tokens) that are speed or device code wherever they appear
FORBIDDEN_NAMES = re.compile(
    r"ElementwiseKernel|RawKernel|ReductionKernel|cupy\w*|environ|getenv|putenv"
    r"|device_scope|on_device_of_args|several_gpus\w*|device_constant"
    r"|use_kernels|kernels_enabled|CUDA_KERNELS")
# sequences of tokens, written as the code reads once comments and strings are gone
FORBIDDEN_CODE = re.compile(r"\bcuda\.Device\b|\btype\(\w+\) is (not )?np\.ndarray")


def code_tokens(source: str) -> list[tokenize.TokenInfo]:
    """The tokens of `source` that are code: no comments, no strings (so no docstrings)."""
    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    skip |= {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE",
                                                  "FSTRING_END") if hasattr(tokenize, name)}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [t for t in tokens if t.type not in skip]


def code_lines(source: str) -> dict[int, str]:
    """Each line's code tokens, spaced as written (`type(x) is np.ndarray`)."""
    lines: dict[int, list[tokenize.TokenInfo]] = {}
    for t in code_tokens(source):
        lines.setdefault(t.start[0], []).append(t)
    joined = {}
    for number, tokens in lines.items():
        text = tokens[0].string
        for before, t in zip(tokens, tokens[1:]):
            text += (" " if t.start[1] > before.end[1] else "") + t.string
        joined[number] = text
    return joined


def fast_imports(source: str, module: str) -> list[str]:
    """The imports of tinygrad_edu.fast in `source`, the code of `module` (relative imports
    resolved from it; those inside functions included)."""
    package = module.rsplit(".", 1)[0].split(".")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(t == "tinygrad_edu.fast" or t.startswith("tinygrad_edu.fast.") for t in targets):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def violations(source: str, module: str) -> list[str]:
    """Every line of `source` (the code of `module`) that names speed or device code."""
    found = [f"line {t.start[0]}: {t.string}" for t in code_tokens(source)
             if t.type == tokenize.NAME and FORBIDDEN_NAMES.fullmatch(t.string)]
    found += [f"line {number}: {line}" for number, line in code_lines(source).items()
              if FORBIDDEN_CODE.search(line)]
    return found + fast_imports(source, module)


def module_name(path: pathlib.Path) -> str:
    """tinygrad_edu/nn/functional.py -> 'tinygrad_edu.nn.functional' (a package: its
    __init__ as 'tinygrad_edu.nn.__init__', so that relative imports resolve the same)."""
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def test_the_reference_has_files_to_check():
    names = {p.relative_to(PACKAGE).as_posix() for p in SOURCES}
    assert {"ops/conv.py", "ops/linalg.py", "nn/functional.py", "optim/sgd.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_reference_code_names_no_kernels_environment_or_device_scopes(path):
    found = violations(path.read_text(), module_name(path))
    assert not found, ("speed and device code belongs in tinygrad_edu/fast/ (and the device "
                       "scope in autograd):\n" + "\n".join(found))


@pytest.mark.parametrize("source, expected", [
    ("import cupy\n", ["cupy"]),
    ("x = backend.device_scope(a)\n", ["device_scope"]),
    ("k = backend.ElementwiseKernel('T x', 'T y', 'y = x', 'k')\n", ["ElementwiseKernel"]),
    ("v = os.environ.get('A')\n", ["environ"]),
    ("with cp.cuda.Device(1):\n    pass\n", ["cuda.Device"]),
    ("if type(x) is not np.ndarray:\n    pass\n", ["np.ndarray"]),
    ("from ..fast import cpu\n", ["fast import cpu"]),
    ("from .. import fast\n", ["import fast"]),
    ("def f():\n    import tinygrad_edu.fast.cuda\n", ["tinygrad_edu.fast.cuda"]),
    ('"""Runs on the GPU, with cupy or a device_scope."""\n# os.environ, cuda.Device\n', []),
    ("text = 'cupy and getenv, in a string'\nfrom .. import backend\n", []),
], ids=["cupy", "scope", "kernel", "environ", "cuda.Device", "ndarray-branch", "from-fast",
        "import-fast", "nested-import", "words", "strings"])
def test_the_lint_finds_code_not_words(source, expected):
    hits = violations(source, "tinygrad_edu.ops.probe")
    for word in expected:
        assert any(word in hit for hit in hits), (word, hits)
    assert bool(hits) == bool(expected), hits
