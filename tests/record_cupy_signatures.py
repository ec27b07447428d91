"""Record the call signatures of real CuPy into cupy_api.json (key "signatures"), so that the
emulator refuses an argument that CuPy would refuse (`initial=` on ndarray.max, `min=` on
cupy.clip, ...). Run with a real CuPy installed (no GPU needed):

    python tests/record_cupy_signatures.py
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

API_FILE = Path(__file__).with_name("cupy_api.json")


def _split_params(text: str) -> list[str]:
    """The comma-separated parameters of `text`, commas inside brackets or quotes kept."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _from_doc(func: Any) -> list[list[str]] | None:
    """(name, kind) pairs from the first line of a Cython function's docstring, whose
    signature inspect cannot read: 'ndarray.max(self, axis=None, out=None, keepdims=False)'."""
    first = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else ""
    match = re.match(r"^[\w.]+\((.*)\)", first.replace("\\*", "*"))
    if not match:
        return None
    params, kind = [], "positional_or_keyword"
    for part in _split_params(match.group(1)):
        name = part.split("=")[0].split(":")[0].strip()
        if name in ("self", ""):
            continue
        if name == "/":
            params = [[n, "positional_only"] for n, _ in params]
        elif name == "*":
            kind = "keyword_only"
        elif name.startswith("**"):
            params.append([name[2:], "var_keyword"])
        elif name.startswith("*"):
            params.append([name[1:], "var_positional"])
            kind = "keyword_only"
        else:
            params.append([name, kind])
    return params


def signature(func: Any) -> list[list[str]] | None:
    """[name, kind] for each parameter of `func` (kind as inspect.Parameter.kind, lowercased),
    or None where neither inspect nor the docstring tells."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return _from_doc(func)
    return [[p.name, p.kind.name.lower()] for p in sig.parameters.values() if p.name != "self"]


def as_text(params: list[list[str]]) -> str:
    """Parameters written as in Python, without defaults: 'x, /, out, *, casting, dtype'."""
    words, previous = [], ""
    for name, kind in params:
        if previous == "positional_only" and kind != "positional_only":
            words.append("/")
        if kind == "keyword_only" and previous not in ("keyword_only", "var_positional"):
            words.append("*")
        words.append({"var_positional": "*", "var_keyword": "**"}.get(kind, "") + name)
        previous = kind
    if previous == "positional_only":
        words.append("/")
    return ", ".join(words)


def record() -> dict[str, str]:
    import cupy  # noqa: PLC0415 - the real one: this function records it
    import cupyx  # noqa: PLC0415

    api = json.loads(API_FILE.read_text())
    found: dict[str, str] = {}
    sources = {"cupy": cupy, "ndarray": cupy.ndarray, "random": cupy.random,
               "Generator": cupy.random.Generator, "linalg": cupy.linalg, "cupyx": cupyx,
               # the names of cupy.cuda that the emulator has (streams, graphs, pools)
               "cuda": cupy.cuda, "cuda.Stream": cupy.cuda.Stream,
               "cuda.graph.Graph": cupy.cuda.graph.Graph, "cuda.MemoryPool": cupy.cuda.MemoryPool}
    for section, owner in sources.items():
        for name in api[section]:
            func = getattr(owner, name, None)
            if not callable(func) or isinstance(func, type) or name.startswith("__"):
                continue
            params = signature(func)
            if params is not None:
                found[f"{section}.{name}"] = as_text(params)
    api["signatures"] = found
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in api.items()
             if key != "signatures"]
    lines.append(' "signatures": {\n' + ",\n".join(
        f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in sorted(found.items()))
        + "\n }")
    API_FILE.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return found


if __name__ == "__main__":
    print(f"recorded {len(record())} signatures into {API_FILE}")
