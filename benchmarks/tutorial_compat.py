"""How much of a folder of PyTorch scripts runs with only the imports changed to tinygrad_edu.

    python benchmarks/tutorial_compat.py /work/tutorials          # table + tutorial_compat.json
    python benchmarks/tutorial_compat.py DIR --json out.json --statement-timeout 120
    python benchmarks/tutorial_compat.py DIR --libraries tinygrad_edu   # skip the PyTorch run

Each script is split into its top-level statements (with `ast`; bare string literals such as
the module docstring are prose and are not counted). The statements run one by one in one
namespace, in a fresh child process per script and library:

- "torch": the script as it is, with PyTorch as the reference. If torchvision is not
  installed, a small stand-in (datasets FashionMNIST and CIFAR10, transforms ToTensor,
  Normalize, Compose, Lambda, utils.make_grid) takes its place; any other torchvision module
  fails with "reference cannot run: ...".
- "tinygrad_edu": the same statements with the imports rewritten (`import torch` ->
  `import tinygrad_edu as torch`, `from torch.X import ...` -> `from tinygrad_edu.X import ...`,
  `torchvision` -> `tinygrad_edu.vision`); nothing else in the code changes.

A statement that raises counts as failed (its exception is recorded) and the run goes on with
the next one. Every run starts in an empty temporary folder holding synthetic data in the
official formats where the tutorials look for it: `data/FashionMNIST/raw/` (gzip IDX files and
their unpacked copies, as torchvision leaves them after a download) and
`data/cifar-10-batches-py/` (the pickled Python version). Nothing uses the network; matplotlib
uses the Agg backend; each statement has a time limit, and so has the whole measurement.

The table shows, per script, how many statements ran with each library; the JSON file holds
every failing statement (its first line, exception type and message) and the failure causes
of tinygrad_edu grouped and counted, most frequent first.
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import importlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("torch", "tinygrad_edu")

# sizes of the synthetic data sets: small, so that a tutorial's epochs take seconds
FASHION_TRAIN, FASHION_TEST = 256, 128
CIFAR_PER_TRAIN_BATCH, CIFAR_TEST = 50, 100
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck"]


# ---------------------------------------------------------------------------------------------
# statements and the import rewriting

@dataclass
class Statement:
    """One top-level statement of a script."""

    index: int        # position among the counted statements, from 0
    lineno: int       # its first line in the script, from 1
    first_line: str   # the text of that line
    node: ast.stmt


def split_statements(source: str) -> list[Statement]:
    """The top-level statements of `source`, bare string literals (docstrings) left out."""
    lines = source.splitlines()
    statements = []
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            continue
        first = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
        statements.append(Statement(len(statements), node.lineno, first, node))
    return statements


def tinygrad_module_name(module: str) -> str | None:
    """`torch...` -> `tinygrad_edu...`, `torchvision...` -> `tinygrad_edu.vision...`, else None."""
    for old, new in (("torchvision", "tinygrad_edu.vision"), ("torch", "tinygrad_edu")):
        if module == old or module.startswith(old + "."):
            return new + module[len(old):]
    return None


class ImportRewriter(ast.NodeTransformer):
    """Rewrites `import torch...`, `from torch... import ...` (and torchvision) to tinygrad_edu,
    keeping every name the script binds: `import torch` -> `import tinygrad_edu as torch`."""

    def visit_Import(self, node: ast.Import) -> ast.Import:
        names = []
        for alias in node.names:
            new = tinygrad_module_name(alias.name)
            if new is None:
                names.append(alias)
            elif alias.asname is not None or "." not in alias.name:
                # import torch.nn as nn -> import tinygrad_edu.nn as nn (import torch: as torch)
                names.append(ast.alias(new, alias.asname or alias.name))
            else:
                # import torch.nn binds `torch` and loads torch.nn: bind one, load the other
                top = alias.name.split(".")[0]
                names.append(ast.alias(tinygrad_module_name(top), top))
                names.append(ast.alias(new, None))
        return ast.copy_location(ast.Import(names=names), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        new = tinygrad_module_name(node.module or "") if node.level == 0 else None
        if new is None:
            return node
        return ast.copy_location(ast.ImportFrom(module=new, names=node.names, level=0), node)


def rewrite_imports(node: ast.stmt) -> ast.stmt:
    """A copy of the statement with its torch/torchvision imports pointing at tinygrad_edu."""
    return ast.fix_missing_locations(ImportRewriter().visit(copy.deepcopy(node)))


# ---------------------------------------------------------------------------------------------
# synthetic data in the official formats

def _idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic (0, 0, 0x08, ndim), the sizes as big-endian int32."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}i", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_fashion_mnist(root: Path, n_train: int = FASHION_TRAIN, n_test: int = FASHION_TEST,
                        seed: int = 0) -> Path:
    """Random 28 x 28 images and labels as torchvision's `root/FashionMNIST/raw/` after a
    download: the four gzip IDX files and their unpacked copies."""
    rng = np.random.default_rng(seed)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        for name, array in ((f"{prefix}-images-idx3-ubyte", images),
                            (f"{prefix}-labels-idx1-ubyte", labels)):
            data = _idx_bytes(array)
            (raw / name).write_bytes(data)
            (raw / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
    return raw


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the official CIFAR-10 files (protocol 2): `bytes`
    become Python 2 strings (SHORT_BINSTRING / BINSTRING), which load as `str` with
    encoding="latin1" and as `bytes` with encoding="bytes"; NumPy's array rebuilder is named
    `numpy.core.multiarray._reconstruct`, as in those files."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_string(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<I", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_string

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def python2_pickle(obj: Any) -> bytes:
    """`obj` pickled the way the official CIFAR-10 python version is (see Python2Pickler)."""
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_cifar10(root: Path, per_train_batch: int = CIFAR_PER_TRAIN_BATCH,
                  n_test: int = CIFAR_TEST, seed: int = 0) -> Path:
    """Random images as torchvision's `root/cifar-10-batches-py/`: data_batch_1..5, test_batch
    (dicts of b"batch_label", b"labels", b"data" uint8 (N, 3072) rows of 1024 red, 1024 green,
    1024 blue values, b"filenames") and batches.meta (b"label_names", ...)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i}", f"training batch {i} of 5", per_train_batch)
               for i in range(1, 6)] + [("test_batch", "testing batch 1 of 1", n_test)]
    for file_name, batch_label, n in batches:
        labels = [int(v) for v in rng.permutation(np.arange(n) % 10)]
        batch = {
            b"batch_label": batch_label.encode(),
            b"labels": labels,
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"filenames": [f"synthetic_{file_name}_{i}.png".encode() for i in range(n)],
        }
        (folder / file_name).write_bytes(python2_pickle(batch))
    meta = {b"num_cases_per_batch": 10000, b"label_names": [c.encode() for c in CIFAR_CLASSES],
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(python2_pickle(meta))
    return folder


def write_synthetic_data(workdir: Path) -> None:
    """The data sets the tutorials load, under `workdir/data` (their `root="data"`)."""
    write_fashion_mnist(workdir / "data")
    write_cifar10(workdir / "data")


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Loads the CIFAR-10 python version without running code: only plain containers and NumPy
    arrays (the three globals an array needs) are admitted."""

    allowed = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        if module == "numpy":
            return getattr(np, name)
        return _numpy_reconstruct()


def _numpy_reconstruct() -> Any:
    """NumPy's array rebuilder (numpy._core in NumPy 2, numpy.core before)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module)._reconstruct
        except ImportError:
            continue
    raise ImportError("NumPy's multiarray._reconstruct was not found")


def load_cifar_pickle(path: Path, encoding: str = "latin1") -> Any:
    """One file of the CIFAR-10 python version, through ArraysOnlyUnpickler."""
    with open(path, "rb") as f:
        return ArraysOnlyUnpickler(f, encoding=encoding).load()


# ---------------------------------------------------------------------------------------------
# the reference run's stand-in for torchvision (only where torchvision is not installed)

def _torchvision_stand_in() -> dict[str, types.ModuleType]:
    """Modules `torchvision`, `.datasets`, `.transforms`, `.utils`: just what the beginner
    tutorials use from them, written on PyTorch and NumPy, for the reference run."""
    import torch
    from PIL import Image

    class FashionMNIST(torch.utils.data.Dataset):
        classes = FASHION_CLASSES

        def __init__(self, root, train=True, transform=None, target_transform=None,
                     download=False):
            raw = Path(root) / "FashionMNIST" / "raw"
            prefix = "train" if train else "t10k"
            images = _read_idx(raw / f"{prefix}-images-idx3-ubyte")
            self.data = torch.from_numpy(images)
            self.targets = torch.from_numpy(_read_idx(raw / f"{prefix}-labels-idx1-ubyte")
                                            .astype(np.int64))
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.data)

        def __getitem__(self, index):
            image = Image.fromarray(self.data[index].numpy(), mode="L")
            target = int(self.targets[index])
            if self.transform is not None:
                image = self.transform(image)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return image, target

    class CIFAR10(torch.utils.data.Dataset):
        classes = CIFAR_CLASSES

        def __init__(self, root, train=True, transform=None, target_transform=None,
                     download=False):
            folder = Path(root) / "cifar-10-batches-py"
            names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
            batches = [load_cifar_pickle(folder / name) for name in names]
            self.data = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32)
            self.data = self.data.transpose(0, 2, 3, 1)
            self.targets = [label for b in batches for label in b["labels"]]
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.data)

        def __getitem__(self, index):
            image, target = Image.fromarray(self.data[index]), self.targets[index]
            if self.transform is not None:
                image = self.transform(image)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return image, target

    class ToTensor:
        def __call__(self, picture):
            array = np.array(picture, dtype=np.uint8)
            if array.ndim == 2:
                array = array[:, :, None]
            return torch.from_numpy(array.transpose(2, 0, 1).astype(np.float32) / 255)

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = torch.tensor(mean), torch.tensor(std)

        def __call__(self, tensor):
            return (tensor - self.mean[:, None, None]) / self.std[:, None, None]

    class Compose:
        def __init__(self, transforms):
            self.transforms = transforms

        def __call__(self, x):
            for transform in self.transforms:
                x = transform(x)
            return x

    class Lambda:
        def __init__(self, function):
            self.function = function

        def __call__(self, x):
            return self.function(x)

    def make_grid(tensor, nrow=8, padding=2, pad_value=0.0):
        n, channels, height, width = tensor.shape
        columns = min(nrow, n)
        rows = (n + columns - 1) // columns
        grid = torch.full((channels, rows * (height + padding) + padding,
                           columns * (width + padding) + padding), float(pad_value))
        for k in range(n):
            top = (k // columns) * (height + padding) + padding
            left = (k % columns) * (width + padding) + padding
            grid[:, top:top + height, left:left + width] = tensor[k]
        return grid

    modules = {name: types.ModuleType(name) for name in
               ("torchvision", "torchvision.datasets", "torchvision.transforms",
                "torchvision.utils")}
    package = modules["torchvision"]
    package.__path__ = []
    package.__doc__ = "A stand-in for the reference run of tutorial_compat.py."
    modules["torchvision.datasets"].__dict__.update(FashionMNIST=FashionMNIST, CIFAR10=CIFAR10)
    modules["torchvision.transforms"].__dict__.update(ToTensor=ToTensor, Normalize=Normalize,
                                                      Compose=Compose, Lambda=Lambda)
    modules["torchvision.utils"].make_grid = make_grid
    for name in ("datasets", "transforms", "utils"):
        setattr(package, name, modules[f"torchvision.{name}"])
    return modules


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (the unpacked copy written by write_fashion_mnist)."""
    raw = path.read_bytes()
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}i", raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


class _StandInFinder:
    """Makes `import torchvision.<anything else>` fail with a message that says why."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.startswith("torchvision.") and name not in sys.modules:
            raise ModuleNotFoundError(f"reference cannot run: torchvision is not installed and "
                                      f"the stand-in of tutorial_compat.py has no {name}")
        return None


def install_torchvision_stand_in() -> bool:
    """Puts the stand-in in sys.modules unless torchvision is installed; True if it did."""
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        return False
    sys.modules.update(_torchvision_stand_in())
    sys.meta_path.insert(0, _StandInFinder())
    return True


# ---------------------------------------------------------------------------------------------
# the child process: one script, one library, statement by statement

class StatementTimeout(Exception):
    """A statement ran past its time limit."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise StatementTimeout("the statement ran past its time limit")


def run_statements(script: Path, library: str, results: Path, statement_timeout: float) -> None:
    """Runs the script's statements in one namespace (in the current folder), appending one
    JSON line per statement to `results`: index, status ("ok", "failed", "timeout"), seconds,
    and for a failure the exception's type and message."""
    import random

    import matplotlib
    matplotlib.use("Agg")
    if library == "torch":
        install_torchvision_stand_in()
    random.seed(0)
    np.random.seed(0)
    try:  # the library's own seed, so that runs repeat (a broken import is the script's to find)
        __import__(library).manual_seed(0)
    except Exception:
        pass
    statements = split_statements(script.read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(script)}
    signal.signal(signal.SIGALRM, _on_alarm)
    with open(results, "a", encoding="utf-8") as out:
        for statement in statements:
            node = rewrite_imports(statement.node) if library != "torch" else statement.node
            record: dict[str, Any] = {"index": statement.index, "status": "ok"}
            start = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, statement_timeout)
            try:
                code = compile(ast.Module(body=[node], type_ignores=[]), str(script), "exec")
                exec(code, namespace)
            except StatementTimeout as exc:
                record.update(status="timeout", type="Timeout", message=str(exc))
            except BaseException as exc:  # noqa: BLE001 - SystemExit too: the run goes on
                record.update(status="failed", type=type(exc).__name__,
                              message=str(exc).strip())
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            record["seconds"] = round(time.perf_counter() - start, 3)
            try:
                import matplotlib.pyplot as plt
                plt.close("all")
            except Exception:
                pass
            out.write(json.dumps(record) + "\n")
            out.flush()


# ---------------------------------------------------------------------------------------------
# the parent: a child per script and library, then the table, the JSON and the causes

def library_available(library: str) -> bool:
    """Whether the library can be imported here (PyTorch is optional)."""
    import importlib.util

    return importlib.util.find_spec(library) is not None


def run_script(script: Path, library: str, statement_timeout: float, time_limit: float,
               import_root: Path = ROOT) -> dict[str, Any]:
    """Runs one script with one library in a child process in a fresh folder holding the
    synthetic data, with `import_root` first on its sys.path (the checkout whose tinygrad_edu
    is measured); returns {"statements": [...one record each...], "seconds", "note", ...}.
    Statements the child did not reach (killed at `time_limit`, or crashed) are "not run"."""
    statements = split_statements(script.read_text(encoding="utf-8"))
    workdir = Path(tempfile.mkdtemp(prefix=f"tutorial_compat_{script.stem}_"))
    note = None
    start = time.perf_counter()
    try:
        write_synthetic_data(workdir)
        results = workdir / "results.jsonl"
        env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
                       [str(import_root)] + ([os.environ["PYTHONPATH"]]
                                      if os.environ.get("PYTHONPATH") else [])))
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(script.resolve()),
                   library, str(results), "--statement-timeout", str(statement_timeout)]
        with open(workdir / "output.txt", "wb") as output:
            try:
                completed = subprocess.run(command, cwd=workdir, env=env, stdout=output,
                                           stderr=subprocess.STDOUT, timeout=time_limit)
                if completed.returncode != 0:
                    note = f"the child process exited with status {completed.returncode}"
            except subprocess.TimeoutExpired:
                note = f"stopped at the time limit of {time_limit:.0f} s"
        done = {}
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                done[record["index"]] = record
        output_tail = (workdir / "output.txt").read_text(encoding="utf-8", errors="replace")
        records = []
        for statement in statements:
            record = done.get(statement.index, {"index": statement.index, "status": "not run",
                                                "type": "NotRun", "message": note or "not run"})
            record.update(line=statement.lineno, statement=statement.first_line)
            records.append(record)
        return {"statements": records, "seconds": round(time.perf_counter() - start, 1),
                "note": note, "output_tail": output_tail[-1500:]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bound_names(node: ast.AST) -> set[str]:
    """The names a top-level statement binds (assignments, imports, defs, loop targets...);
    the bodies of functions and classes are not looked into (their names are local)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Store) else set()
    if isinstance(node, ast.alias):
        return {(node.asname or node.name).split(".")[0]}
    names: set[str] = set()
    for child in ast.iter_child_nodes(node):
        names |= bound_names(child)
    return names


def mark_cascades(statements: list[Statement], records: list[dict[str, Any]]) -> None:
    """Marks a NameError as a cascade ("cascade": True) when the missing name is one that an
    earlier failed statement would have bound: it is that failure's consequence."""
    unbound: set[str] = set()
    for statement, record in zip(statements, records):
        record["cascade"] = False
        if record["status"] == "ok":
            continue
        missing = re.match(r"name '(\w+)' is not defined", record.get("message", ""))
        if record.get("type") == "NameError" and missing and missing.group(1) in unbound:
            record["cascade"] = True
        unbound |= bound_names(statement.node)


def cause_of(record: dict[str, Any]) -> str:
    """A failure's cause as "Type: message", first line, object addresses blanked."""
    message = (record.get("message") or "").splitlines()[0] if record.get("message") else ""
    message = re.sub(r"0x[0-9a-fA-F]+", "0x...", message)[:300]
    return f"{record.get('type')}: {message}" if message else str(record.get("type"))


def measure(folder: Path, libraries: tuple[str, ...] = LIBRARIES, statement_timeout: float = 120,
            total_timeout: float = 3600, import_root: Path = ROOT) -> dict[str, Any]:
    """Runs every `*.py` script in `folder` with each library; the report as a dict."""
    deadline = time.monotonic() + total_timeout
    scripts: dict[str, Any] = {}
    for script in sorted(folder.glob("*.py")):
        statements = split_statements(script.read_text(encoding="utf-8"))
        entry: dict[str, Any] = {"statements": len(statements)}
        for library in libraries:
            left = deadline - time.monotonic()
            if not library_available(library) or left <= 0:
                why = "not installed" if left > 0 else "the total time limit was reached"
                entry[library] = {"ok": None, "note": why, "failures": []}
                continue
            run = run_script(script, library, statement_timeout, left, import_root)
            mark_cascades(statements, run["statements"])
            entry[library] = {
                "ok": sum(r["status"] == "ok" for r in run["statements"]),
                "seconds": run["seconds"], "note": run["note"],
                "failures": [r for r in run["statements"] if r["status"] != "ok"],
                "output_tail": run["output_tail"],
            }
            entry[library]["statuses"] = [r["status"] for r in run["statements"]]
        scripts[script.name] = entry
    return {"folder": str(folder), "import_root": str(import_root),
            "statement_timeout_s": statement_timeout,
            "scripts": scripts, "totals": totals(scripts, libraries),
            "causes": group_causes(scripts)}


def totals(scripts: dict[str, Any], libraries: tuple[str, ...]) -> dict[str, Any]:
    """Statements in all scripts, how many ran with each library, and how many ran with
    PyTorch but not with tinygrad_edu."""
    result: dict[str, Any] = {"statements": sum(e["statements"] for e in scripts.values())}
    for library in libraries:
        counts = [e[library]["ok"] for e in scripts.values() if e[library]["ok"] is not None]
        result[library] = sum(counts) if counts else None
    result["torch ok, tinygrad_edu failed"] = sum(_regressions(e) for e in scripts.values())
    return result


def _regressions(entry: dict[str, Any]) -> int:
    """Statements of one script that ran with PyTorch but failed with tinygrad_edu."""
    torch_run, tg_run = entry.get("torch", {}), entry.get("tinygrad_edu", {})
    if "statuses" not in torch_run or "statuses" not in tg_run:
        return 0
    pairs = zip(torch_run["statuses"], tg_run["statuses"])
    return sum(a == "ok" and b != "ok" for a, b in pairs)


def group_causes(scripts: dict[str, Any]) -> list[dict[str, Any]]:
    """The distinct causes of tinygrad_edu's failures, most frequent first: each with its count,
    how many of those statements also failed with PyTorch, whether they are cascades (a
    NameError left by an earlier failure), and the scripts and statements."""
    groups: dict[tuple[str, bool], dict[str, Any]] = {}
    for name, entry in scripts.items():
        torch_status = entry.get("torch", {}).get("statuses")
        for record in entry.get("tinygrad_edu", {}).get("failures", []):
            key = (cause_of(record), record.get("cascade", False))
            group = groups.setdefault(key, {"cause": key[0], "cascade": key[1], "count": 0,
                                            "also_fails_with_torch": 0, "where": []})
            group["count"] += 1
            if torch_status is not None and torch_status[record["index"]] != "ok":
                group["also_fails_with_torch"] += 1
            group["where"].append(f"{name}:{record['line']}: {record['statement']}")
    return sorted(groups.values(), key=lambda g: (g["cascade"], -g["count"], g["cause"]))


def format_table(report: dict[str, Any], libraries: tuple[str, ...] = LIBRARIES) -> str:
    """The per-script table (Markdown) and the grouped causes of tinygrad_edu's failures."""
    names = {"torch": "run with PyTorch", "tinygrad_edu": "run with tinygrad_edu"}
    header = ["script", "statements"] + [names.get(lib, lib) for lib in libraries]
    rows = []
    for script, entry in report["scripts"].items():
        cells = [script, str(entry["statements"])]
        for library in libraries:
            run = entry[library]
            cell = "-" if run["ok"] is None else str(run["ok"])
            cells.append(cell + (" *" if run.get("note") else ""))
        rows.append(cells)
    total = report["totals"]
    rows.append(["**total**", str(total["statements"])]
                + ["-" if total[lib] is None else str(total[lib]) for lib in libraries])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    if any(entry[lib].get("note") for entry in report["scripts"].values() for lib in libraries):
        lines.append("(* the run was cut short or did not run; see its note in the JSON file)")
    if "torch" in libraries and "tinygrad_edu" in libraries:
        lines.append(f"statements that ran with PyTorch but not with tinygrad_edu: "
                     f"{total['torch ok, tinygrad_edu failed']}")
    if report["causes"]:
        lines.append("\ncauses of tinygrad_edu's failures "
                     "(count; 'both': how many also fail with PyTorch):")
        for group in report["causes"]:
            if not group["cascade"]:
                both = group["also_fails_with_torch"]
                both = f" (both {both})" if both else ""
                lines.append(f"  {group['count']:3d}  {group['cause']}{both}")
        cascades = [g for g in report["causes"] if g["cascade"]]
        if cascades:
            lines.append(f"  {sum(g['count'] for g in cascades):3d}  NameError of a name left "
                         f"unbound by an earlier failure ({len(cascades)} names; see the JSON)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder of PyTorch scripts (*.py)")
    parser.add_argument("--json", type=Path, default=Path("tutorial_compat.json"),
                        help="where to write the report (default: ./tutorial_compat.json)")
    parser.add_argument("--libraries", default=",".join(LIBRARIES),
                        help="comma-separated, of: torch, tinygrad_edu (default: both)")
    parser.add_argument("--statement-timeout", type=float, default=120.0,
                        help="seconds one statement may run (default 120)")
    parser.add_argument("--total-timeout", type=float, default=3600.0,
                        help="seconds the whole measurement may run (default 3600)")
    parser.add_argument("--import-root", type=Path, default=ROOT,
                        help="checkout whose tinygrad_edu is measured (default: this one)")
    parser.add_argument("--child", nargs=3, metavar=("SCRIPT", "LIBRARY", "RESULTS"),
                        help=argparse.SUPPRESS)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--child"]:  # the child process: no folder argument
        child = argparse.ArgumentParser()
        child.add_argument("--child", nargs=3)
        child.add_argument("--statement-timeout", type=float, default=120.0)
        args = child.parse_args(argv)
        script, library, results = args.child
        run_statements(Path(script), library, Path(results), args.statement_timeout)
        return 0
    args = parser.parse_args(argv)
    libraries = tuple(lib.strip() for lib in args.libraries.split(",") if lib.strip())
    unknown = set(libraries) - set(LIBRARIES)
    if unknown:
        parser.error(f"--libraries: unknown {sorted(unknown)}; choose from {list(LIBRARIES)}")
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    report = measure(args.folder, libraries, args.statement_timeout, args.total_timeout,
                     args.import_root.resolve())
    args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(format_table(report, libraries))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
