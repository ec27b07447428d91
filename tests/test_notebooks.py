"""The course notebooks in notebooks/ run end to end (with nbclient, on small synthetic data
in the official file formats: CIFAR-10's pickled Python version, MNIST's gzipped IDX files),
so they can never silently break."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]


def write_cifar(root: Path, per_batch: int = 64) -> None:
    """cifar-10-batches-py as torchvision downloads it: pickled dicts of uint8 rows."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.integers(0, 10, per_batch)
        # images whose mean colour depends on the class, so that a model can learn something
        pixels = rng.integers(0, 64, (per_batch, 3072)) + (labels[:, None] * 19)
        entry = {"batch_label": name, "labels": labels.tolist(),
                 "data": pixels.astype(np.uint8), "filenames": [f"{name}_{i}.png"
                                                                for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"num_cases_per_batch": per_batch, "label_names": CIFAR_CLASSES, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def write_mnist(root: Path, count: int = 64) -> None:
    """MNIST/raw/*-ubyte.gz: IDX files (big-endian header, then uint8 values)."""
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for prefix in ("train", "t10k"):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big")
                                                     for n in images.shape)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(header + images.tobytes()))
        header = (2049).to_bytes(4, "big") + count.to_bytes(4, "big")
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(header + labels.tobytes()))


def test_there_are_notebooks():
    assert [path.name for path in NOTEBOOKS] == ["01_data_seven_steps_mlp_cnn.ipynb",
                                                 "02_tensors_and_ranks.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path, tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_cifar(data)
    write_mnist(data)
    monkeypatch.setenv("NOTEBOOK_DATA", str(data))
    monkeypatch.setenv("NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent.parent)] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    text = "\n".join(output.get("text", "") for cell in notebook.cells
                     if cell.cell_type == "code" for output in cell.get("outputs", []))
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)
    if "seven_steps" in path.name:
        assert "epoch 1: loss" in text and "test accuracy" in text
        assert "same test accuracy: True" in text
        assert (tmp_path / "cifar_cnn.pt").is_file()
    else:
        assert "tg.Size([64, 28, 28]) tg.uint8" in text
        assert "accuracy" in text
