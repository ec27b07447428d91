"""save / load: bit-exact round trips, atomic writes, and files that are refused unrun.

The round trips take the `device` fixture: tensors saved from "cpu" or "cuda" come back
bit for bit, on the device they were saved from, or where `map_location` says."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import serialization
from tinygrad_edu.optim import Adam
from tinygrad_edu.serialization import load, save

NOT_A_CHECKPOINT = "is not a tinygrad_edu checkpoint"


def assert_same_tensor(a, b):
    """The same dtype, shape and bytes (wherever each lives)."""
    assert isinstance(b, tg.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert tg.backend.to_numpy(a.array).tobytes() == tg.backend.to_numpy(b.array).tobytes()


def all_dtype_tensors(device="cpu"):
    rng = np.random.default_rng(0)
    floats = rng.standard_normal((3, 4))
    return {
        "float32": tg.tensor(floats, dtype=tg.float32, device=device),
        "float64": tg.tensor(floats, dtype=tg.float64, device=device),
        "float16": tg.tensor(floats, dtype=tg.float16, device=device),
        "int64": tg.tensor([[-(2 ** 62), 5, 0]], device=device),
        "int32": tg.tensor([1, -2, 3], dtype=tg.int32, device=device),
        "uint8": tg.tensor([0, 255, 7], dtype=tg.uint8, device=device),
        "bool": tg.tensor([True, False], device=device),
        "scalar": tg.tensor(3.5, device=device),
        "empty": tg.zeros(0, 3, device=device),
        "special": tg.tensor([math.inf, -math.inf, math.nan, -0.0, 1e-45], dtype=tg.float32,
                             device=device),
    }


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------
def test_tensors_of_every_dtype_round_trip_bit_exactly(tmp_path, device):
    tensors = all_dtype_tensors(device)
    save(tensors, tmp_path / "t.tg")
    loaded = load(tmp_path / "t.tg")
    assert list(loaded) == list(tensors)
    for name, t in tensors.items():
        assert_same_tensor(t, loaded[name])
        assert loaded[name].device == device  # back where it was saved from
        assert loaded[name].array is not t.array


def test_nested_structure_and_key_types_round_trip(tmp_path, device):
    t = tg.randn(2, 3, device=device)
    obj = {
        "epoch": 7, "big": 2 ** 70, "loss": 0.1 + 0.2, "best": math.inf, "nan": math.nan,
        "neg_zero": -0.0, "flag": True, "off": False, "none": None, "name": "réseau ✓",
        3: "int key", 2.5: "float key", (1, "a"): "tuple key", None: "none key",
        True: "bool key",
        "list": [1, [2.0, (3, "x")], []], "tuple": (t, None, ()), "empty": {},
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "np_float": np.float32(1.25), "np_int": np.int64(-3), "np_bool": np.bool_(True),
        "np_f64": np.float64(0.1),
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
    }
    save(obj, tmp_path / "c.tg")
    loaded = load(tmp_path / "c.tg")
    assert list(loaded) == list(obj)  # order and types of the keys
    for key in ("epoch", "big", "loss", "best", "flag", "off", "none", "name", 3, 2.5,
                (1, "a"), None, True, "list", "empty"):
        assert loaded[key] == obj[key] and type(loaded[key]) is type(obj[key]), key
    assert math.isnan(loaded["nan"])
    assert math.copysign(1.0, loaded["neg_zero"]) == -1.0
    assert isinstance(loaded["list"][1][1], tuple)
    assert isinstance(loaded["tuple"], tuple) and loaded["tuple"][1:] == (None, ())
    assert_same_tensor(t, loaded["tuple"][0])
    assert loaded["tuple"][0].device == device
    assert loaded["array"].dtype == np.int16 and np.array_equal(loaded["array"], obj["array"])
    for key in ("np_float", "np_int", "np_bool", "np_f64"):
        assert type(loaded[key]) is type(obj[key]) and loaded[key] == obj[key], key
    assert type(loaded["ordered"]) is OrderedDict and list(loaded["ordered"]) == ["b", "a"]


def test_requires_grad_views_and_sharing_are_kept(tmp_path, device):
    w = tg.randn(3, 4, device=device, requires_grad=True)
    view = tg.tensor(np.arange(12.0).reshape(3, 4), device=device).T  # not C-contiguous
    save({"w": w, "again": w, "view": view, "half": w.detach()}, tmp_path / "s.tg")
    loaded = load(tmp_path / "s.tg")
    assert loaded["w"].requires_grad and loaded["w"].is_leaf
    assert loaded["w"].device == device
    assert loaded["again"] is loaded["w"]  # the same tensor twice stays one tensor
    assert not loaded["half"].requires_grad
    assert_same_tensor(view, loaded["view"])
    np.testing.assert_array_equal(tg.backend.to_numpy(loaded["view"].array),
                                  np.arange(12.0).reshape(3, 4).T)


def test_file_objects_work_too(device):
    buffer = io.BytesIO()
    save({"x": tg.ones(2, device=device)}, buffer)
    buffer.seek(0)
    x = load(buffer)["x"]
    assert x.tolist() == [1.0, 1.0] and x.device == device


def test_a_bare_device_array_is_refused_with_a_hint(device, tmp_path):
    """A backend array (not a Tensor): a NumPy one is saved as such; a CuPy one is refused
    with what to do instead, before anything is written."""
    array = tg.ones(2, device=device).array
    if device == "cpu":
        save({"a": array}, tmp_path / "c.tg")
        assert load(tmp_path / "c.tg")["a"].tolist() == [1.0, 1.0]
    else:
        with pytest.raises(TypeError, match=r"bare device array .* at obj\['a'\]; save it as "
                                            r"a Tensor"):
            save({"a": array}, tmp_path / "c.tg")
        assert not (tmp_path / "c.tg").exists()


scalars = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
           | st.floats(allow_nan=False) | st.text(max_size=8))
arrays = st.builds(lambda values, dtype: tg.tensor(values, dtype=dtype),
                   st.lists(st.floats(-1e4, 1e4, width=32), max_size=5),
                   st.sampled_from([tg.float32, tg.float64, tg.float16]))
keys = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
trees = st.recursive(scalars | arrays, lambda children: (
    st.lists(children, max_size=3) | st.tuples(children, children)
    | st.dictionaries(keys, children, max_size=3)), max_leaves=10)


def assert_same_tree(a, b):
    assert type(a) is type(b)
    if isinstance(a, tg.Tensor):
        assert_same_tensor(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        assert [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            assert_same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tree(x, y)
    else:
        assert a == b


def on_device(tree, device):
    """The same tree with its tensors moved to `device`."""
    if isinstance(tree, tg.Tensor):
        return tree.to(device)
    if isinstance(tree, dict):
        return {k: on_device(v, device) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(on_device(v, device) for v in tree)
    return tree


def tensors_in(tree):
    """Every Tensor in a nested structure."""
    if isinstance(tree, tg.Tensor):
        return [tree]
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in tensors_in(v)]
    return []


@given(trees)
def test_any_nested_structure_round_trips(device, tree):
    tree = on_device(tree, device)
    buffer = io.BytesIO()
    save(tree, buffer)
    buffer.seek(0)
    loaded = load(buffer)
    assert_same_tree(tree, loaded)
    assert all(t.device == device for t in tensors_in(loaded))


def test_unsupported_objects_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "c.tg"
    save({"ok": 1}, path)
    for bad, match in [({"model": {"layer": object()}}, r"object at obj\['model'\]\['layer'\]"),
                       ({frozenset(): 1}, "dict key of type frozenset"),
                       ({"a": np.array([None, 1], dtype=object)}, "dtype object"),
                       ({"s": {1, 2}}, "type set")]:
        with pytest.raises(TypeError, match=match):
            save(bad, path)
        assert load(path) == {"ok": 1}
    assert os.listdir(tmp_path) == ["c.tg"]


# ---------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------
def test_map_location_variants(tmp_path, device):
    x = tg.ones(2, device=device)
    saved_from = str(x.device)  # "cpu" or "cuda:0"
    save({"x": x}, tmp_path / "c.tg")
    for where, expected in [(None, device), ("cpu", "cpu"), (tg.Device("cpu"), "cpu"),
                            (device, device), ({saved_from: "cpu"}, "cpu"),
                            ({saved_from: device}, device),
                            ({"cuda:7": "cpu"}, device)]:  # not listed: where it was saved
        loaded = load(tmp_path / "c.tg", map_location=where)["x"]
        assert loaded.device == expected, where
        assert_same_tensor(x, loaded)
    seen = []

    def to_double(tensor, saved_device):
        seen.append((saved_device, str(tensor.device)))
        return tensor.double()

    assert load(tmp_path / "c.tg", map_location=to_double)["x"].dtype == tg.float64
    assert seen == [(saved_from, "cpu")]  # the function gets it on the CPU
    # a function that returns None leaves the tensor to the default: its saved device
    assert load(tmp_path / "c.tg", map_location=lambda t, d: None)["x"].device == device
    with pytest.raises(ValueError, match="unknown device"):
        load(tmp_path / "c.tg", map_location="tpu")
    with pytest.raises(TypeError, match="map_location"):
        load(tmp_path / "c.tg", map_location=3)
    with pytest.raises(TypeError, match="must return a Tensor"):
        load(tmp_path / "c.tg", map_location=lambda t, d: "cpu")


def test_map_location_function_errors_are_not_disguised(tmp_path):
    save({"x": tg.ones(2)}, tmp_path / "c.tg")

    def broken(tensor, saved_device):
        raise ValueError("my own bug")

    with pytest.raises(ValueError, match="my own bug"):
        load(tmp_path / "c.tg", map_location=broken)


def saved_on_cuda(tmp_path):
    """A checkpoint whose tensor says it was saved from cuda:0 (written without a GPU)."""
    save({"x": tg.ones(2)}, tmp_path / "cpu.tg")
    rewrite_structure(tmp_path / "cpu.tg", tmp_path / "cuda.tg",
                      lambda s: s.replace('"device": "cpu"', '"device": "cuda:0"'))
    return tmp_path / "cuda.tg"


@pytest.mark.skipif(tg.cuda.is_available(), reason="checks the error without a GPU")
def test_without_a_gpu_cuda_tensors_need_map_location_cpu(tmp_path):
    save({"x": tg.ones(2)}, tmp_path / "c.tg")
    with pytest.raises(RuntimeError, match="cuda"):
        load(tmp_path / "c.tg", map_location="cuda")
    path = saved_on_cuda(tmp_path)
    with pytest.raises(RuntimeError, match=r"saved from cuda:0, but CUDA is not available "
                                           r".*map_location='cpu'"):
        load(path)
    with pytest.raises(RuntimeError, match="saved from cuda:0"):
        load(path, map_location={"cuda:1": "cpu"})  # cuda:0 is not listed
    assert load(path, map_location="cpu")["x"].tolist() == [1.0, 1.0]
    assert load(path, map_location={"cuda:0": "cpu"})["x"].device == "cpu"


def test_a_crafted_device_is_refused(tmp_path):
    save({"x": tg.ones(2)}, tmp_path / "c.tg")
    for device in ("tpu", "cuda:x", "cpu:1"):
        rewrite_structure(tmp_path / "c.tg", tmp_path / "bad.tg",
                          lambda s, d=device: s.replace('"device": "cpu"', f'"device": "{d}"'))
        with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: tensor t0 has an unknown "
                                             f"device '{device}'"):
            load(tmp_path / "bad.tg")


def test_tensors_saved_from_a_device_load_on_cpu_or_back_there(tmp_path, device):
    x = tg.randn(3, 2, device=device)
    save({"x": x}, tmp_path / "c.tg")
    back = load(tmp_path / "c.tg")["x"]
    assert back.device == device
    assert_same_tensor(x, back)
    on_cpu = load(tmp_path / "c.tg", map_location="cpu")["x"]
    assert on_cpu.device == "cpu"
    assert_same_tensor(x, on_cpu)
    there = load(tmp_path / "c.tg", map_location=device)["x"]
    assert there.device == device
    assert_same_tensor(x, there)
    mapped = load(tmp_path / "c.tg", map_location={str(x.device): device})["x"]
    assert mapped.device == device


def test_tensors_saved_from_the_cpu_load_onto_a_device(tmp_path, device):
    x = tg.randn(3, 2)
    save({"x": x, "n": [x, 1]}, tmp_path / "c.tg")
    loaded = load(tmp_path / "c.tg", map_location=device)
    assert loaded["x"].device == device and loaded["n"][0] is loaded["x"]
    assert_same_tensor(x, loaded["x"])


def test_saving_and_loading_never_use_pickle(tmp_path, device, monkeypatch):
    """Not even for device tensors: a CuPy array would pickle itself (via the host)."""
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("dump", "dumps", "load", "loads", "Pickler", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    state = {"w": tg.randn(3, 4, device=device, requires_grad=True), "step": 3}
    save(state, tmp_path / "c.tg")
    loaded = load(tmp_path / "c.tg")
    assert_same_tensor(state["w"], loaded["w"])
    monkeypatch.undo()
    with zipfile.ZipFile(tmp_path / "c.tg") as archive:  # every member readable unpickled
        for name in archive.namelist():
            if name.endswith(".npy"):
                np.load(io.BytesIO(archive.read(name)), allow_pickle=False)


# ---------------------------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------------------------
def good_checkpoint(path):
    save({"weights": tg.arange(10).float(), "epoch": 1}, path)
    return path.read_bytes()


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_crash_mid_write_leaves_the_old_checkpoint(tmp_path, monkeypatch, failure):
    path = tmp_path / "model.tg"
    before = good_checkpoint(path)
    calls = []
    original = serialization._write_array

    def crash_on_second_array(fp, array):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"half an array")
            raise failure
        original(fp, array)

    monkeypatch.setattr(serialization, "_write_array", crash_on_second_array)
    with pytest.raises(type(failure)):
        save({"a": tg.ones(1000), "b": tg.ones(1000), "epoch": 2}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["model.tg"]  # no temporary file left behind


def test_a_failed_fsync_or_rename_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.tg"
    before = good_checkpoint(path)
    for name in ("fsync", "replace"):
        with monkeypatch.context() as m:
            def fail(*args, **kwargs):
                raise OSError(f"{name} failed")
            m.setattr(serialization.os, name, fail)
            with pytest.raises(OSError, match=f"{name} failed"):
                save({"epoch": 2}, path)
        assert path.read_bytes() == before
        assert os.listdir(tmp_path) == ["model.tg"]


def test_save_is_synced_and_replaces_atomically(tmp_path, monkeypatch):
    path = tmp_path / "model.tg"
    good_checkpoint(path)
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(serialization.os, "fsync",
                        lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(serialization.os, "replace",
                        lambda a, b: (events.append(("replace", os.path.dirname(a))),
                                      real_replace(a, b))[1])
    save({"epoch": 2}, path)
    assert events[0] == "fsync"  # the data is on disk before the rename
    assert events[1] == ("replace", str(tmp_path))  # the temporary file was in the same dir
    assert load(path) == {"epoch": 2}
    assert os.listdir(tmp_path) == ["model.tg"]


def test_new_files_get_the_usual_permissions(tmp_path):
    save({"epoch": 1}, tmp_path / "c.tg")
    with open(tmp_path / "reference", "wb"):
        pass
    assert (tmp_path / "c.tg").stat().st_mode == (tmp_path / "reference").stat().st_mode


# ---------------------------------------------------------------------------------------------
# files that are refused
# ---------------------------------------------------------------------------------------------
class Exploit:
    """Unpickling this creates a marker directory: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"state": Exploit(marker)}))
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}.*pickle"):
        load(path)
    assert not marker.exists()


def test_an_npz_with_an_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    np.savez(path, arr_0=np.array([Exploit(marker)], dtype=object))
    with pytest.raises(ValueError, match=NOT_A_CHECKPOINT):
        load(path)
    assert not marker.exists()


def test_a_crafted_checkpoint_with_an_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "good.tg"
    save({"x": tg.ones(2)}, path)
    evil = io.BytesIO()
    np.save(evil, np.array([Exploit(marker)], dtype=object), allow_pickle=True)
    crafted = tmp_path / "crafted.tg"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(crafted, "w") as dst:
        dst.writestr(serialization.STRUCTURE_MEMBER, src.read(serialization.STRUCTURE_MEMBER))
        dst.writestr("t0.npy", evil.getvalue())
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}.*object array"):
        load(crafted)
    assert not marker.exists()


def test_a_torch_file_is_refused_without_running_it(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2), "evil": Exploit(marker)}, path)
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}.*pickle"):
        load(path)
    assert not marker.exists()


def rewrite_structure(source, target, edit):
    """Copy a checkpoint, replacing its JSON member by edit(json_text)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == serialization.STRUCTURE_MEMBER:
                data = edit(data.decode()).encode()
            dst.writestr(name, data)


@pytest.mark.parametrize("edit,match", [
    (lambda s: s.replace('"tinygrad_edu"', '"other"'), "does not describe"),
    (lambda s: s.replace('"version": 1', '"version": 99'), "version 99"),
    (lambda s: s.replace('"id": 0', '"id": 5'), "bad tensor entry"),
    (lambda s: s.replace('"arrays": 2', '"arrays": 3').replace('"id": 0', '"id": 2'),
     "t2.npy is missing"),
    (lambda s: s.replace('"shape": [2]', '"shape": [3]'), "shape"),
    (lambda s: s.replace('"dtype": "float32"', '"dtype": "float64"'), "structure says"),
    (lambda s: s.replace('{"list"', '{"set"'), "unknown entry type 'set'"),
    (lambda s: s.replace('"root"', '"rot"'), "incomplete"),
    (lambda s: s[:-5], "truncated or corrupt"),
    (lambda s: s.replace('"ndarray"', '"tensor"'), "unsupported dtype int16"),
])
def test_crafted_structures_are_refused(tmp_path, edit, match):
    good = tmp_path / "good.tg"
    save({"x": tg.ones(2), "l": [1], "a": np.ones(2, dtype=np.int16)}, good)
    crafted = tmp_path / "crafted.tg"
    rewrite_structure(good, crafted, edit)
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*({match})"):
        load(crafted)


def test_an_unhashable_key_is_refused(tmp_path):
    good = tmp_path / "good.tg"
    save({(1, 2): 1}, good)
    crafted = tmp_path / "crafted.tg"
    rewrite_structure(good, crafted, lambda s: s.replace('{"tuple"', '{"list"'))
    with pytest.raises(ValueError, match="unhashable dict key"):
        load(crafted)


def replace_member(source, target, name, data, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for member in src.namelist():
            dst.writestr(member, data if member == name else src.read(member),
                         compress_type=compress if member == name else zipfile.ZIP_STORED)


def test_an_array_header_that_lies_about_its_size_is_refused(tmp_path):
    good = tmp_path / "good.tg"
    save({"x": tg.ones(2)}, good)
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        huge, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)})
    huge.write(b"\0" * 8)
    crafted = tmp_path / "crafted.tg"
    replace_member(good, crafted, "t0.npy", huge.getvalue())
    with pytest.raises(ValueError, match="holds 8 bytes of data"):
        load(crafted)
    replace_member(good, crafted, "t0.npy", b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(ValueError, match="not a valid .npy array"):
        load(crafted)


def test_compressed_members_are_refused(tmp_path):
    good = tmp_path / "good.tg"
    save({"x": tg.ones(2)}, good)
    with zipfile.ZipFile(good) as archive:
        data = archive.read("t0.npy")
    crafted = tmp_path / "crafted.tg"
    replace_member(good, crafted, "t0.npy", data, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="compressed"):
        load(crafted)


def test_truncated_files_are_refused(tmp_path):
    path = tmp_path / "c.tg"
    data = good_checkpoint(path)
    for cut in (0, 3, 10, 100, len(data) // 2, len(data) - 30, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=NOT_A_CHECKPOINT):
            load(path)


def test_flipped_bytes_in_the_data_are_detected(tmp_path):
    path = tmp_path / "c.tg"
    save({"weights": tg.zeros(1000)}, path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("t0.npy")
    position = info.header_offset + 30 + len(info.filename) + 500  # inside the array data
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}.*CRC"):
        load(path)


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"hello world, not a checkpoint", "not a zip archive"),
    (None, "single .npy array"),
])
def test_other_files_are_refused(tmp_path, content, match):
    path = tmp_path / "c.tg"
    if content is None:
        np.save(path, np.ones(3))
        path = tmp_path / "c.tg.npy"
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"load: .*{NOT_A_CHECKPOINT}: .*{match}"):
        load(path)


def test_a_plain_npz_is_refused_with_its_members_named(tmp_path):
    np.savez(tmp_path / "a.npz", weights=np.ones(3))
    with pytest.raises(ValueError, match="without a tinygrad_edu.json member.*weights.npy"):
        load(tmp_path / "a.npz")


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.tg")


# ---------------------------------------------------------------------------------------------
# a real training checkpoint: model with BatchNorm + Adam
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["saved device", "map to cpu", "map to device"])
def test_training_checkpoint_round_trip_is_bit_exact_and_training_continues(tmp_path, device,
                                                                            where):
    """A model with BatchNorm and its Adam state, trained and saved on `device`, loaded back
    there (no map_location, or map_location=device) or onto the CPU: every tensor bit for
    bit, on the device the model is restored to, and training goes on as before."""
    nn = pytest.importorskip("tinygrad_edu.nn")

    def make_model(seed, on):
        tg.manual_seed(seed)
        model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
        return model.to(on)

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((16, 4)).astype(np.float32),
                rng.standard_normal((16, 2)).astype(np.float32)) for _ in range(6)]

    def train(model, opt, data, on):
        model.train()
        for x, y in data:
            opt.zero_grad()
            loss = ((model(tg.tensor(x, device=on)) - tg.tensor(y, device=on)) ** 2).mean()
            loss.backward()
            opt.step()

    model = make_model(0, device)
    opt = Adam(model.parameters(), lr=0.01, amsgrad=True)
    train(model, opt, batches[:3], device)
    path = tmp_path / "checkpoint.tg"
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    if where == "saved device":
        ckpt, target = load(path), device
    else:
        target = "cpu" if where == "map to cpu" else device
        ckpt = load(path, map_location=target)

    assert ckpt["epoch"] == 3
    state = model.state_dict()
    assert list(ckpt["model"]) == list(state)
    assert "1.running_mean" in state and "1.num_batches_tracked" in state
    for key, value in state.items():
        assert_same_tensor(value, ckpt["model"][key])
        assert ckpt["model"][key].device == target, key
    saved_opt = opt.state_dict()
    assert set(ckpt["optimizer"]["state"]) == set(saved_opt["state"]) == set(range(6))
    for index, entries in saved_opt["state"].items():
        for key, value in entries.items():
            assert_same_tensor(value, ckpt["optimizer"]["state"][index][key])
            loaded = ckpt["optimizer"]["state"][index][key]
            assert loaded.device == (value.device if where == "saved device" else target)
    assert ckpt["optimizer"]["param_groups"] == saved_opt["param_groups"]

    # the reference: the same state handed over in memory, to a model on the target device
    reference = make_model(2, target)
    reference_opt = Adam(reference.parameters(), lr=0.3)
    reference.load_state_dict(model.state_dict())
    reference_opt.load_state_dict(opt.state_dict())
    restored = make_model(1, target)  # different initial weights: all must come from the file
    restored_opt = Adam(restored.parameters(), lr=0.5)
    restored.load_state_dict(ckpt["model"])
    restored_opt.load_state_dict(ckpt["optimizer"])
    for p in restored.parameters():
        assert p.device == target
        assert all(v.device == (target if k != "step" else "cpu")
                   for k, v in restored_opt.state[p].items())
    train(model, opt, batches[3:], device)
    train(reference, reference_opt, batches[3:], target)
    train(restored, restored_opt, batches[3:], target)
    # training went on identically (bit for bit: on the same device, the same operations)
    runs = [reference] + ([model] if target == device else [])
    for run in runs:
        for (name, a), b in zip(run.state_dict().items(), restored.state_dict().values()):
            assert a.tolist() == b.tolist(), name
    x = batches[0][0]
    for m in [restored] + runs:
        m.eval()
    outputs = [m(tg.tensor(x, device=target)).tolist() for m in [restored] + runs]
    assert all(out == outputs[0] for out in outputs)


# ---------------------------------------------------------------------------------------------
# loading takes memory and time in proportion to the file, and fails with one error type
# ---------------------------------------------------------------------------------------------
def write_crafted(path, root, members, **header):
    """A checkpoint with the structure `root` and the given {name: bytes} members."""
    description = {"format": "tinygrad_edu", "version": 1, "arrays": len(members),
                   "root": root, **header}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(serialization.STRUCTURE_MEMBER, json.dumps(description))
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["ndarray", "tensor"])
def test_a_member_referenced_many_times_is_decoded_once(tmp_path, monkeypatch, kind):
    """1,000 references to one 80 kB member: one decoded array (one object), not 80 MB."""
    array = np.arange(10_000, dtype=np.float64)
    node = {kind: {"id": 0, "dtype": "float64", "shape": [10_000]}}
    path = write_crafted(tmp_path / "c.tg", {"list": [node] * 1000}, {"t0.npy": npy_bytes(array)})
    parsed = []
    original = serialization._parse_npy
    monkeypatch.setattr(serialization, "_parse_npy",
                        lambda raw, name: (parsed.append(name), original(raw, name))[1])
    loaded = load(path)
    assert parsed == ["t0.npy"]
    assert len(loaded) == 1000 and all(item is loaded[0] for item in loaded)
    np.testing.assert_array_equal(tg.backend.to_numpy(getattr(loaded[0], "array", loaded[0])),
                                  array)


def test_a_member_referenced_as_two_kinds_is_refused(tmp_path):
    node = {"id": 0, "dtype": "float32", "shape": [2]}
    path = write_crafted(tmp_path / "c.tg", {"list": [{"tensor": node}, {"ndarray": node}]},
                         {"t0.npy": npy_bytes(np.ones(2, np.float32))})
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*t0.npy.*both"):
        load(path)


def patch_central_directory(data, name, **fields):
    """Rewrite fields (file_size, compress_size) of one central-directory record."""
    offsets = {"compress_size": 20, "file_size": 24}
    data = bytearray(data)
    position = 0
    while True:
        position = data.index(b"PK\x01\x02", position)
        name_length = int.from_bytes(data[position + 28:position + 30], "little")
        if bytes(data[position + 46:position + 46 + name_length]) == name.encode():
            break
        position += 4
    for field, value in fields.items():
        start = position + offsets[field]
        data[start:start + 4] = value.to_bytes(4, "little")
    return bytes(data)


def test_members_that_claim_more_bytes_than_the_file_holds_are_refused(tmp_path):
    path = tmp_path / "c.tg"
    save({"w": tg.ones(100)}, path)
    size = path.stat().st_size
    path.write_bytes(patch_central_directory(path.read_bytes(), "t0.npy",
                                             file_size=4_000_000_000,
                                             compress_size=4_000_000_000))
    declared = r"declare 4000000\d{3} bytes"
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*{declared}.*holds only {size}$"):
        load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    import threading
    fifo = tmp_path / "pipe.tg"
    os.mkfifo(fifo)
    outcome = []

    def try_load():
        try:
            load(fifo)
            outcome.append("loaded")
        except Exception as exc:  # noqa: BLE001 - the test reports what it was
            outcome.append(exc)

    thread = threading.Thread(target=try_load, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # blocked on open(): unblock it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail("load blocked on a FIFO")
    assert isinstance(outcome[0], ValueError), outcome
    assert "pipe.tg" in str(outcome[0]) and "not a regular file" in str(outcome[0])


def test_a_directory_is_refused_as_python_would(tmp_path):
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


def test_every_flipped_byte_is_a_value_error_naming_the_file(tmp_path):
    """Flip each byte of a small checkpoint in turn: every load either gives the saved
    object back (a byte nothing reads, such as a timestamp) or raises ValueError that names
    the file; nothing else escapes."""
    good = tmp_path / "good.tg"
    obj = {"w": tg.arange(4).float(), "names": ["a", (1, 2.5)], "n": np.int64(3)}
    save(obj, good)
    data = good.read_bytes()
    path = tmp_path / "flipped.tg"
    escaped, refused = [], 0
    for position in range(len(data)):
        for mask in (0xFF, 0x01):
            flipped = bytearray(data)
            flipped[position] ^= mask
            path.write_bytes(bytes(flipped))
            try:
                loaded = load(path)
            except ValueError as exc:
                refused += 1
                if f"load: {path} {NOT_A_CHECKPOINT}" not in str(exc):
                    escaped.append((position, mask, repr(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                escaped.append((position, mask, repr(exc)))
                continue
            assert_same_tensor(obj["w"], loaded["w"])
            assert loaded["names"] == obj["names"] and loaded["n"] == 3
    assert not escaped, escaped[:10]
    assert refused > len(data)  # most flips are caught


@pytest.mark.parametrize("nest", [
    lambda inner: [inner],
    lambda inner: {"k": inner},
    lambda inner: (inner,),
])
def test_what_save_writes_load_reads_and_too_deep_is_refused_by_both(tmp_path, nest):
    limit = serialization.MAX_NESTING
    obj = 1
    for _ in range(limit):
        obj = nest(obj)
    save(obj, tmp_path / "deep.tg")
    assert load(tmp_path / "deep.tg") == obj
    with pytest.raises(ValueError, match=f"save: .*nested more than {limit} deep"):
        save(nest(obj), tmp_path / "deeper.tg")
    assert not (tmp_path / "deeper.tg").exists()
    obj = 1
    for _ in range(480):
        obj = nest(obj)
    with pytest.raises(ValueError, match="nested more than"):
        save(obj, tmp_path / "deeper.tg")


@pytest.mark.parametrize("depth", [serialization.MAX_NESTING + 1, 100_000])
def test_a_crafted_file_nested_too_deep_is_refused(tmp_path, depth):
    text = '{"list": [' * depth + "1" + "]}" * depth
    path = tmp_path / "c.tg"
    description = ('{"format": "tinygrad_edu", "version": 1, "arrays": 0, "root": '
                   + text + "}")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(serialization.STRUCTURE_MEMBER, description)
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*nested"):
        load(path)


def with_extra_member(tmp_path, name, data):
    """A good checkpoint with one more member written after its own."""
    good = tmp_path / "good.tg"
    save({"w": tg.ones(2)}, good)
    crafted = tmp_path / "crafted.tg"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(crafted, "w") as dst:
        for member in src.namelist():
            dst.writestr(member, src.read(member))
        dst.writestr(name, data)
    return crafted


@pytest.mark.parametrize("name,match", [
    ("data.pkl", "pickle"),
    ("archive/data.pkl", "pickle"),
    ("notes.txt", "unexpected member notes.txt"),
    ("t1.npy", "unexpected member t1.npy"),
])
def test_extra_members_are_refused(tmp_path, name, match):
    crafted = with_extra_member(tmp_path, name, pickle.dumps({"evil": 1}))
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*{match}"):
        load(crafted)


def test_a_member_stored_twice_is_refused(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        crafted = with_extra_member(tmp_path, "t0.npy", npy_bytes(np.zeros(2, np.float32)))
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: .*t0.npy.*more than once"):
        load(crafted)


@pytest.mark.parametrize("version", [0, -1, 2, True, 1.0, "1", None])
def test_only_known_format_versions_are_read(tmp_path, version):
    path = write_crafted(tmp_path / "c.tg", 5, {}, version=version)
    with pytest.raises(ValueError, match=f"{NOT_A_CHECKPOINT}: format version"):
        load(path)


# ---------------------------------------------------------------------------------------------
# temporary files, long names, permissions
# ---------------------------------------------------------------------------------------------
KILLED_SAVE = """
import os, signal, sys
import tinygrad_edu as tg
from tinygrad_edu import serialization
original = serialization._write_array
def die_on_second_array(fp, array, calls=[]):
    calls.append(1)
    if len(calls) == 2:
        fp.write(b"half an array")
        fp.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    original(fp, array)
serialization._write_array = die_on_second_array
serialization.save({"a": tg.ones(1000), "b": tg.ones(1000)}, sys.argv[1])
"""


def killed_save(path):
    """Run a save in another process and kill it mid-write, as a power cut or OOM would."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)],
                            capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()


def temporary_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


@pytest.mark.skipif(os.name != "posix", reason="kills a process with SIGKILL")
def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "model.tg"
    before = good_checkpoint(path)
    other = tmp_path / "other.tg"
    for _ in range(3):
        killed_save(path)
    killed_save(other)
    # each killed save removed the one before it: they never pile up
    assert [name.split(".")[1] for name in temporary_files(tmp_path)] == ["model", "other"]
    assert path.read_bytes() == before  # the old checkpoint is intact
    # a temporary file of a save still running (here: this process) is left alone
    running = tmp_path / f".model.tg.{os.getpid()}.0123456789ab.tmp"
    running.write_bytes(b"being written")
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    left = temporary_files(tmp_path)
    assert running.name in left and len(left) == 2
    assert any(name.startswith(".other.tg.") for name in left)  # another target's: kept


@pytest.mark.parametrize("length", [238, 240, 247, 250, 255])
def test_long_file_names_work(tmp_path, length):
    path = tmp_path / ("m" * (length - 3) + ".tg")
    save({"epoch": length}, path)
    assert load(path) == {"epoch": length}
    assert os.listdir(tmp_path) == [path.name]


def test_long_multibyte_file_names_work(tmp_path):
    path = tmp_path / ("é" * 125 + ".tg")  # 253 bytes in UTF-8
    try:
        path.write_bytes(b"")
    except OSError:
        pytest.skip("this file system does not take such a name")
    save({"epoch": 1}, path)
    assert load(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.skipif(os.name != "posix", reason="kills a process with SIGKILL")
def test_a_killed_save_with_a_long_name_is_cleaned_up_too(tmp_path):
    path = tmp_path / ("m" * 252 + ".tg")
    killed_save(path)
    assert len(temporary_files(tmp_path)) == 1
    save({"epoch": 1}, path)
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_replacing_a_file_keeps_its_permission_bits(tmp_path, mode):
    path = tmp_path / "secret.tg"
    save({"epoch": 1}, path)
    os.chmod(path, mode)
    save({"epoch": 2}, path)
    assert (path.stat().st_mode & 0o7777) == mode
    assert load(path) == {"epoch": 2}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_saving_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.tg"
    save({"epoch": 1}, target)
    link = tmp_path / "latest.tg"
    os.symlink(target.name, link)
    save({"epoch": 2}, link)
    assert link.is_symlink() and load(target) == {"epoch": 2}
