"""benchmarks/tutorial_compat.py: the import rewriting, the synthetic data files, and the
counts it reports on two tiny scripts of our own (so that the measurement cannot silently
break)."""

import ast
import gzip
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import tutorial_compat as tc  # noqa: E402

WORKS_ON_BOTH = '''"""A docstring: prose, not counted."""
import torch
x = torch.ones(2) + 1
'''
FAILS_ON_TINYGRAD = '''import torch
assert torch.__name__ == "torch", "this is not PyTorch"
'''


@pytest.mark.parametrize("source, expected", [
    ("import torch", "import tinygrad_edu as torch"),
    ("import torch.nn as nn", "import tinygrad_edu.nn as nn"),
    ("from torch import nn", "from tinygrad_edu import nn"),
    ("import torch.nn.functional as F", "import tinygrad_edu.nn.functional as F"),
    ("import torch.optim as optim", "import tinygrad_edu.optim as optim"),
    ("from torch.utils.data import DataLoader, Dataset",
     "from tinygrad_edu.utils.data import DataLoader, Dataset"),
    ("import torchvision", "import tinygrad_edu.vision as torchvision"),
    ("from torchvision import datasets", "from tinygrad_edu.vision import datasets"),
    ("import torchvision.transforms as transforms",
     "import tinygrad_edu.vision.transforms as transforms"),
    ("from torchvision.transforms import ToTensor",
     "from tinygrad_edu.vision.transforms import ToTensor"),
    ("import torch.nn", "import tinygrad_edu as torch, tinygrad_edu.nn"),
    ("import os, torch", "import os, tinygrad_edu as torch"),
    ("import torchy", "import torchy"),
    ("from .torch import x", "from .torch import x"),
    ("x = torch.ones(2)", "x = torch.ones(2)"),
])
def test_rewrite_imports(source, expected):
    node = ast.parse(source).body[0]
    assert ast.unparse(tc.rewrite_imports(node)) == expected
    assert ast.unparse(node) == ast.unparse(ast.parse(source).body[0])  # the original is kept


def test_split_statements_leaves_out_docstrings_and_keeps_first_lines():
    statements = tc.split_statements(WORKS_ON_BOTH + "def f():\n    return 1\n")
    assert [s.first_line for s in statements] == ["import torch", "x = torch.ones(2) + 1",
                                                  "def f():"]
    assert [s.lineno for s in statements] == [2, 3, 4]


def test_fashion_mnist_files_are_idx_gzip_and_plain(tmp_path):
    raw = tc.write_fashion_mnist(tmp_path, n_train=20, n_test=10)
    assert raw == tmp_path / "FashionMNIST" / "raw"
    images = (raw / "train-images-idx3-ubyte").read_bytes()
    assert gzip.decompress((raw / "train-images-idx3-ubyte.gz").read_bytes()) == images
    assert images[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 28, 0, 0, 0, 28])
    assert len(images) == 16 + 20 * 28 * 28
    labels = (raw / "t10k-labels-idx1-ubyte").read_bytes()
    assert labels[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 10])
    assert sorted(labels[8:]) == list(range(10))


def test_cifar10_files_are_the_pickled_python_version(tmp_path):
    folder = tc.write_cifar10(tmp_path, per_train_batch=20, n_test=10)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["batches.meta", "test_batch"] + [f"data_batch_{i}" for i in range(1, 6)])
    batch = tc.load_cifar_pickle(folder / "data_batch_3")  # latin1, as torchvision reads it
    assert set(batch) == {"batch_label", "labels", "data", "filenames"}
    assert batch["data"].shape == (20, 3072) and batch["data"].dtype == np.uint8
    assert sorted(set(batch["labels"])) == list(range(10))
    as_bytes = tc.load_cifar_pickle(folder / "batches.meta", encoding="bytes")
    assert as_bytes[b"label_names"][0] == b"airplane"  # Python 2 strings, as the real files
    assert pickle.loads((folder / "test_batch").read_bytes(), encoding="latin1")["data"].shape \
        == (10, 3072)


def test_the_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran code from a data file",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Evil()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load \w+\.print"):
        tc.load_cifar_pickle(path)
    with pytest.raises(pickle.UnpicklingError):
        tc.ArraysOnlyUnpickler(io.BytesIO(pickle.dumps(Path("x")))).load()


def test_failures_timeouts_and_cascades_are_recorded(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("x = 1\nwhile True:\n    pass\ny = 1 / 0\nz = y + x\nw = nowhere\n")
    run = tc.run_script(script, "tinygrad_edu", statement_timeout=1, time_limit=300)
    records = run["statements"]
    assert [r["status"] for r in records] == ["ok", "timeout", "failed", "failed", "failed"]
    assert records[2]["type"] == "ZeroDivisionError" and records[2]["statement"] == "y = 1 / 0"
    statements = tc.split_statements(script.read_text())
    tc.mark_cascades(statements, records)
    # z = y + x fails because y = 1 / 0 did; `nowhere` is nobody's fault but its own
    assert [r["cascade"] for r in records] == [False, False, False, True, False]


def test_a_run_past_the_time_limit_leaves_statements_not_run(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(60)\nx = 1\n")
    run = tc.run_script(script, "tinygrad_edu", statement_timeout=120, time_limit=5)
    assert [r["status"] for r in run["statements"]][1:] == ["not run", "not run"]
    assert "time limit" in run["note"]


def test_counts_on_two_tiny_scripts(tmp_path):
    pytest.importorskip("torch")
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "works.py").write_text(WORKS_ON_BOTH)
    (folder / "fails.py").write_text(FAILS_ON_TINYGRAD)
    out = tmp_path / "report.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tutorial_compat.py"),
                             str(folder), "--json", str(out), "--statement-timeout", "60"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    works, fails = report["scripts"]["works.py"], report["scripts"]["fails.py"]
    assert (works["statements"], works["torch"]["ok"], works["tinygrad_edu"]["ok"]) == (2, 2, 2)
    assert (fails["statements"], fails["torch"]["ok"], fails["tinygrad_edu"]["ok"]) == (2, 2, 1)
    assert fails["torch"]["failures"] == []
    [failure] = fails["tinygrad_edu"]["failures"]
    assert failure["statement"] == 'assert torch.__name__ == "torch", "this is not PyTorch"'
    assert (failure["type"], failure["message"]) == ("AssertionError", "this is not PyTorch")
    assert report["totals"] == {"statements": 4, "torch": 4, "tinygrad_edu": 3,
                                "torch ok, tinygrad_edu failed": 1}
    [cause] = report["causes"]
    assert (cause["cause"], cause["count"]) == ("AssertionError: this is not PyTorch", 1)
    assert "| fails.py" in result.stdout and "| works.py" in result.stdout


def test_without_the_reference(tmp_path):
    (tmp_path / "works.py").write_text(WORKS_ON_BOTH)
    report = tc.measure(tmp_path, libraries=("tinygrad_edu",), statement_timeout=60)
    assert report["scripts"]["works.py"]["tinygrad_edu"]["ok"] == 2
    assert report["totals"]["tinygrad_edu"] == 2 and report["causes"] == []
    assert "| works.py" in tc.format_table(report, ("tinygrad_edu",))
