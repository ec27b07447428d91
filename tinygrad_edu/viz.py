"""Draw the computational graph that backprop walks.

    print(tg.viz.to_dot(loss, params=dict(model.named_parameters())))
    tg.viz.draw_graph(loss, "graph.svg", params=dict(model.named_parameters()))

One box per op (its name, output shape and dtype), one ellipse per leaf that requires grad
(a parameter's name when `params` is given), arrows in the direction data flows. Tensors on a
GPU also show their device ("cuda:0"). Drawing reads only shapes, dtypes and devices, never
values, so it costs no GPU synchronisation.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .tensor import Tensor


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _describe(t: Tensor) -> str:
    """Shape and dtype, e.g. `(2, 3) float32`, then the device when it is not the CPU."""
    device = t.device
    return f"{_shape(t.shape)} {t.dtype.name}" + ("" if device.type == "cpu" else f" {device}")


def graph_of(tensor: Tensor, params: dict[str, Tensor] | None = None
             ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Nodes {node_id: label} and edges [(from, to)] of the graph that produced `tensor`."""
    names = {id(t): name for name, t in (params or {}).items()}
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []

    def leaf_node(t: Tensor) -> str:
        node = f"leaf{id(t)}"
        if node not in nodes:
            name = names.get(id(t), "leaf")
            nodes[node] = f"{name}\n{_describe(t)}"
        return node

    if tensor.grad_fn is None:
        if tensor.requires_grad:
            leaf_node(tensor)
        return nodes, edges
    stack = [tensor.grad_fn]
    seen = set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if getattr(fn, "inputs", None) is None:
            raise RuntimeError("to_dot: the graph was freed by backward(); draw it before "
                               "calling backward() or pass retain_graph=True")
        out = fn._output_ref()
        node = f"op{id(fn)}"
        detail = f"\n{_describe(out)}" if out is not None else ""
        nodes[node] = type(fn).__name__ + detail
        # the inputs' nodes when the op ran (fn.next_functions shows the same as PyTorch's
        # (node, index) pairs; the private tuple is the graph the engine walks)
        for t, parent in zip(fn.inputs, fn._parents):
            if parent is not None:
                edges.append((f"op{id(parent)}", node))
                stack.append(parent)
            elif isinstance(t, Tensor) and t.requires_grad:  # (a custom Function may take
                edges.append((leaf_node(t), node))          # other Python objects too)
    return nodes, edges


def to_dot(tensor: Tensor, params: dict[str, Tensor] | None = None) -> str:
    """The Graphviz source of the autograd graph that produced `tensor`."""
    nodes, edges = graph_of(tensor, params)
    lines = ["digraph autograd {", '  rankdir="TB";',
             '  node [fontname="Helvetica", fontsize=10];']
    for node, label in nodes.items():
        style = ('shape=ellipse, style=filled, fillcolor="#cde8f6"' if node.startswith("leaf")
                 else 'shape=box, style="rounded,filled", fillcolor="#f2f2f2"')
        text = label.replace('"', r"\"").replace("\n", r"\n")
        lines.append(f'  {node} [label="{text}", {style}];')
    for a, b in edges:
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor: Tensor, path: str | os.PathLike, params: dict[str, Tensor] | None = None
               ) -> str:
    """Render the graph to `path` (.svg or .png) with Graphviz's `dot`. Without `dot` on the
    PATH, writes `<path>.dot` instead and says so. Returns the path written."""
    path = os.fspath(path)
    source = to_dot(tensor, params)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    dot = shutil.which("dot")
    if dot is None or fmt == "dot":
        dot_path = path if fmt == "dot" else os.path.splitext(path)[0] + ".dot"
        with open(dot_path, "w") as f:
            f.write(source)
        if dot is None:
            print(f"draw_graph: Graphviz's `dot` is not on the PATH, wrote {dot_path} instead "
                  "(install it with `apt-get install graphviz` to get images)")
        return dot_path
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=source.encode(), check=True)
    return path
