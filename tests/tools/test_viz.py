"""tg.viz: the dot source of a known graph has exactly the expected nodes and edges, on every
device (GPU tensors are labelled with their device; drawing never reads values back)."""

import re

import pytest

import tinygrad_edu as tg


def parse_dot(source: str) -> tuple[dict, set]:
    nodes = dict(re.findall(r'^\s+(\w+) \[label="([^"]*)"', source, flags=re.M))
    edges = set(re.findall(r"^\s+(\w+) -> (\w+);", source, flags=re.M))
    return nodes, edges


def test_known_graph_nodes_and_edges(device, no_host_sync):
    a = tg.ones(2, 3, device=device, requires_grad=True)
    b = tg.ones(3, device=device, requires_grad=True)
    const = tg.ones(2, 3, device=device)  # no grad: not drawn
    c = (a * b + const).sum()
    with no_host_sync():
        source = tg.viz.to_dot(c, params={"a": a, "b": b})
    nodes, edges = parse_dot(source)
    labels = sorted(label.split("\\n")[0] for label in nodes.values())
    assert labels == ["Add", "Mul", "Sum", "a", "b"]
    by_name = {label.split("\\n")[0]: node for node, label in nodes.items()}
    assert edges == {(by_name["a"], by_name["Mul"]), (by_name["b"], by_name["Mul"]),
                     (by_name["Mul"], by_name["Add"]), (by_name["Add"], by_name["Sum"])}
    suffix = "" if device == "cpu" else f" {tg.Device(device)}"
    assert nodes[by_name["Mul"]] == "Mul\\n(2, 3) float32" + suffix
    assert nodes[by_name["Sum"]] == "Sum\\n() float32" + suffix
    assert nodes[by_name["b"]] == "b\\n(3) float32" + suffix


def test_a_device_copy_is_drawn_with_both_devices(device):
    x = tg.ones(2, requires_grad=True)
    y = (x.to(device) * 2).sum()
    nodes, edges = parse_dot(tg.viz.to_dot(y, params={"x": x}))
    names = sorted(label.split("\\n")[0] for label in nodes.values())
    if device == "cpu":  # to("cpu") of a CPU tensor is the tensor itself: no copy op
        assert names == ["Mul", "Sum", "x"]
    else:
        assert names == ["Mul", "Sum", "_ToDevice", "x"]
        by_name = {label.split("\\n")[0]: label for label in nodes.values()}
        assert by_name["x"].endswith("float32")
        assert by_name["_ToDevice"].endswith(str(tg.Device(device)))


def test_shared_subgraph_is_drawn_once(device):
    x = tg.ones(3, device=device, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    nodes, edges = parse_dot(tg.viz.to_dot(z))
    assert sorted(lbl.split("\\n")[0] for lbl in nodes.values()) == ["Exp", "Mul", "Sum", "leaf"]
    assert len(edges) == 3  # leaf -> Exp -> Mul -> Sum
    source = tg.viz.to_dot(z)
    assert source.count("->") == 4  # y feeds Mul twice: both uses are drawn


def test_freed_graph_is_a_clear_error(device):
    x = tg.ones(3, device=device, requires_grad=True)
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
