"""tg.viz: the dot source of a known graph has exactly the expected nodes and edges."""

import re

import pytest

import tinygrad_edu as tg


def parse_dot(source: str) -> tuple[dict, set]:
    nodes = dict(re.findall(r'^\s+(\w+) \[label="([^"]*)"', source, flags=re.M))
    edges = set(re.findall(r"^\s+(\w+) -> (\w+);", source, flags=re.M))
    return nodes, edges


def test_known_graph_nodes_and_edges():
    a = tg.ones(2, 3, requires_grad=True)
    b = tg.ones(3, requires_grad=True)
    const = tg.ones(2, 3)  # no grad: not drawn
    c = (a * b + const).sum()
    nodes, edges = parse_dot(tg.viz.to_dot(c, params={"a": a, "b": b}))
    labels = sorted(label.split("\\n")[0] for label in nodes.values())
    assert labels == ["Add", "Mul", "Sum", "a", "b"]
    by_name = {label.split("\\n")[0]: node for node, label in nodes.items()}
    assert edges == {(by_name["a"], by_name["Mul"]), (by_name["b"], by_name["Mul"]),
                     (by_name["Mul"], by_name["Add"]), (by_name["Add"], by_name["Sum"])}
    assert "(2, 3) float32" in nodes[by_name["Mul"]]
    assert "() float32" in nodes[by_name["Sum"]]


def test_shared_subgraph_is_drawn_once():
    x = tg.ones(3, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    nodes, edges = parse_dot(tg.viz.to_dot(z))
    assert sorted(lbl.split("\\n")[0] for lbl in nodes.values()) == ["Exp", "Mul", "Sum", "leaf"]
    assert len(edges) == 3  # leaf -> Exp -> Mul -> Sum
    source = tg.viz.to_dot(z)
    assert source.count("->") == 4  # y feeds Mul twice: both uses are drawn


def test_freed_graph_is_a_clear_error():
    x = tg.ones(3, requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed"):
        tg.viz.to_dot(y)


def test_draw_graph_writes_a_file(tmp_path):
    x = tg.ones(3, requires_grad=True)
    written = tg.viz.draw_graph((x * 2).sum(), tmp_path / "g.svg")
    content = open(written).read()
    assert written.endswith((".svg", ".dot"))
    assert ("<svg" in content) if written.endswith(".svg") else ("digraph" in content)
