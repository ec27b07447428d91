"""`save` / `load` checkpoints in a format that cannot run code when loaded: no pickle.

A checkpoint is a zip archive (the layout of NumPy's `.npz`):

* `tinygrad_edu.json`: the structure of the saved object. Python scalars (None, bools,
  ints, floats, strings) are stored as themselves; containers and arrays as one-key
  objects: {"dict": [[key, value], ...]} (so int keys stay ints), {"list": [...]},
  {"tuple": [...]}, {"tensor": {"id": 0, "dtype": ..., "shape": ..., "device": "cuda:0",
  "requires_grad": ...}}, {"ndarray": {"id": 1, ...}}...
* `t0.npy`, `t1.npy`, ...: the arrays, in NumPy's `.npy` format, written and read with
  `allow_pickle=False` (an object array, which would need pickle, is refused).

Saving writes a temporary file `.NAME.PID.HEX.tmp` next to the target, flushes and fsyncs
it, then renames it over the target (`os.replace`, atomic), so a crash mid-save never leaves
a half-written file in place of a good checkpoint; the next save of the same target removes
what a killed save left behind. Loading checks everything and raises ValueError
("load: <path> is not a tinygrad_edu checkpoint: ...") for anything else; it decodes each
member once, so it never needs more memory than the file's size allows.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import stat
import zipfile
from collections import OrderedDict
from typing import Any, BinaryIO, Callable, Union

import numpy as np

from . import backend
from .backend import Device
from .tensor import Tensor

__all__ = ["save", "load"]

FORMAT_NAME = "tinygrad_edu"
FORMAT_VERSION = 1
STRUCTURE_MEMBER = "tinygrad_edu.json"
MAX_NESTING = 100  # containers inside containers: save refuses deeper, so load reads all

PathLike = Union[str, "os.PathLike[str]"]
MapLocation = Union[None, str, Device, dict, Callable[[Tensor, str], Any]]


# ---------------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into a JSON-able structure plus a list of NumPy arrays."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.tensor_ids: dict[int, int] = {}  # id(Tensor) -> array index: shared stays shared
        self.keep_alive: list[Any] = []

    def _add_array(self, array: np.ndarray) -> int:
        self.arrays.append(array)
        return len(self.arrays) - 1

    def encode(self, obj: Any, where: str, depth: int = 0) -> Any:
        if isinstance(obj, (np.bool_, np.number)):  # before float: np.float64 is a float
            self._check_array_dtype(obj.dtype, where)
            return {"npscalar": {"id": self._add_array(np.asarray(obj)),
                                 "dtype": obj.dtype.str}}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if isinstance(obj, Tensor):
            return {"tensor": self._encode_tensor(obj)}
        if isinstance(obj, np.ndarray):
            self._check_array_dtype(obj.dtype, where)
            return {"ndarray": {"id": self._add_array(obj), "dtype": obj.dtype.str,
                                "shape": list(obj.shape)}}
        if backend.get_array_module(obj) is not np:  # a bare CuPy array
            raise TypeError(f"save: cannot save a bare device array ({type(obj).__module__}."
                            f"{type(obj).__name__} on {backend.device_of(obj)}) at {where}; "
                            "save it as a Tensor (tg.tensor(array)) to keep its device, or "
                            "as a NumPy array (tg.backend.to_numpy(array))")
        if isinstance(obj, (dict, list, tuple)) and depth == MAX_NESTING:
            raise ValueError(f"save: {where[:200]} is nested more than {MAX_NESTING} deep "
                             "(containers inside containers); a checkpoint holds at most that "
                             "many levels")
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                items.append([self._encode_key(key, where, depth + 1),
                              self.encode(value, f"{where}[{key!r}]", depth + 1)])
            tag = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {tag: items}
        if isinstance(obj, (list, tuple)):
            tag = "list" if isinstance(obj, list) else "tuple"
            return {tag: [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        if callable(getattr(obj, "state_dict", None)):  # a Module or an Optimizer
            raise TypeError(f"save: cannot save a whole {type(obj).__name__} at {where}: that "
                            "would need pickle, which can run code when loaded; save its "
                            "state_dict() instead (tg.save(model.state_dict(), path)) and "
                            "load it into a new one with model.load_state_dict(tg.load(path))")
        raise TypeError(f"save: cannot save an object of type {type(obj).__name__} at {where}; "
                        "a checkpoint holds (nested) dicts, lists and tuples of Tensors, NumPy "
                        "arrays, ints, floats, bools, strings and None")

    def _encode_key(self, key: Any, where: str, depth: int) -> Any:
        if key is None or isinstance(key, (bool, int, float, str)):
            return self.encode(key, where)
        if isinstance(key, tuple):
            if depth == MAX_NESTING:
                raise ValueError(f"save: a dict key at {where[:200]} is nested more than "
                                 f"{MAX_NESTING} deep")
            return {"tuple": [self._encode_key(k, where, depth + 1) for k in key]}
        raise TypeError(f"save: cannot save a dict key of type {type(key).__name__} ({key!r}) "
                        f"at {where}; keys must be strings, numbers, bools, None or tuples")

    def _encode_tensor(self, t: Tensor) -> dict[str, Any]:
        index = self.tensor_ids.get(id(t))
        if index is None:
            array = backend.to_numpy(t.array)
            index = self._add_array(array)
            self.tensor_ids[id(t)] = index
            self.keep_alive.append(t)  # ids stay unique while saving
        return {"id": index, "dtype": str(t.array.dtype), "shape": list(t.shape),
                "device": str(t.device), "requires_grad": bool(t.requires_grad)}

    @staticmethod
    def _check_array_dtype(dtype: np.dtype, where: str) -> None:
        if dtype.hasobject or dtype.kind not in "biufc":
            raise TypeError(f"save: cannot save an array of dtype {dtype} at {where}; only "
                            "numeric and bool arrays can be saved without pickle")


def _write_array(fp: BinaryIO, array: np.ndarray) -> None:
    np.lib.format.write_array(fp, array, allow_pickle=False)


def _write_archive(fp: BinaryIO, structure: Any, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "arrays": len(arrays),
                  "root": structure}
        archive.writestr(STRUCTURE_MEMBER, json.dumps(header, allow_nan=True))
        for i, array in enumerate(arrays):
            with archive.open(f"t{i}.npy", "w", force_zip64=array.nbytes > (1 << 30)) as member:
                _write_array(member, array)


def save(obj: Any, f: PathLike | BinaryIO) -> None:
    """Save `obj` (nested dicts/lists/tuples of Tensors, NumPy arrays, numbers, bools, strings
    and None: a `state_dict()`, an optimizer's, an epoch counter...) to the file `f`.

    Tensors on any device are copied to the host (reading a GPU tensor waits for the GPU) and
    written with the name of their device, where `load` puts them back unless told otherwise.
    Writing to a path is atomic: the old file stays intact until the new one is completely
    on disk, and the new one keeps the old one's permission bits. A symbolic link is written
    through, as `open(path, "wb")` would."""
    encoder = _Encoder()
    structure = encoder.encode(obj, "obj")
    if hasattr(f, "write"):
        _write_archive(f, structure, encoder.arrays)
        return
    directory, name = os.path.split(os.path.realpath(os.fspath(f)))
    path = os.path.join(directory, name)
    stem = _temporary_stem(name)
    _remove_stale_temporaries(directory, stem)
    fd, tmp = _create_temporary(directory, stem)
    try:
        _keep_permission_bits(path, fd)
        with os.fdopen(fd, "wb") as fp:
            _write_archive(fp, structure, encoder.arrays)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


# The temporary file of a save is ".STEM.PID.HEX.tmp": STEM is the target's name, shortened
# (with a hash of the full name) where the whole would not fit in a directory entry; PID says
# which process writes it, so the next save can remove what a killed one left behind.
_NAME_MAX = 255  # bytes in one directory entry, on every common file system
_TEMPORARY_EXTRA = len("." + "." + "4294967295" + "." + "0" * 12 + ".tmp")  # around STEM


def _temporary_stem(name: str) -> str:
    budget = _NAME_MAX - _TEMPORARY_EXTRA
    if len(os.fsencode(name)) <= budget:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    stem = name
    while len(os.fsencode(stem)) > budget - len(digest) - 1:
        stem = stem[:-1]
    return f"{stem}~{digest}"


def _create_temporary(directory: str, stem: str) -> tuple[int, str]:
    while True:
        tmp = os.path.join(directory, f".{stem}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def _remove_stale_temporaries(directory: str, stem: str) -> None:
    """Remove the temporary files of earlier saves of this target whose process is gone."""
    pattern = re.compile(r"\." + re.escape(stem) + r"\.(\d+)\.[0-9a-f]{12}\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for entry in names:
        match = pattern.fullmatch(entry)
        if match is None or _process_alive(int(match.group(1))):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be saving right now
    if os.name != "posix":
        return True  # no cheap check: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, OSError):  # PermissionError: alive, another user's
        pass
    return True


def _keep_permission_bits(path: str, fd: int) -> None:
    """A replaced file keeps its mode (a 0600 checkpoint stays 0600)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a new file: the usual mode, from the umask
    if stat.S_ISREG(mode) and hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(mode))


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories can't be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------
class _NotACheckpoint(Exception):
    """Internal: the reason a file is refused (turned into ValueError by `load`)."""


_PICKLE_HINT = ("it contains pickled data (e.g. a file from torch.save or pickle.dump), which "
                "is refused because unpickling can run arbitrary code")
_SUPPORTED_TENSOR_DTYPES = {str(d): d for d in backend.SUPPORTED_DTYPES}


def _describe_foreign(data: bytes, names: list[str] | None) -> str:
    if names is not None:
        return (f"it is a zip archive without a {STRUCTURE_MEMBER} member (members: "
                f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    if data[:1] == b"\x80":  # the first opcode of every binary pickle (protocol 2+)
        return _PICKLE_HINT
    if data[:6] == b"\x93NUMPY":
        return "it is a single .npy array, not a checkpoint archive"
    if not data:
        return "the file is empty"
    return "it is not a zip archive (unknown file type)"


class _PlacementError(Exception):
    """Internal: an error while moving a loaded tensor (re-raised as it is by `load`)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _parse_npy(raw: bytes, name: str) -> np.ndarray:
    """Read one .npy member without pickle, checking that the header (parsed by NumPy with a
    literal parser, never eval) matches the number of data bytes before allocating."""
    fp = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as exc:
        raise _NotACheckpoint(f"member {name} is not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise _NotACheckpoint(f"member {name} is an object array: {_PICKLE_HINT}")
    if dtype.kind not in "biufc":
        raise _NotACheckpoint(f"member {name} has unsupported dtype {dtype}")
    count = math.prod(shape)
    offset = fp.tell()
    if len(raw) - offset != count * dtype.itemsize:
        raise _NotACheckpoint(f"member {name} holds {len(raw) - offset} bytes of data, but its "
                              f"header describes {count * dtype.itemsize} ({dtype}, {shape})")
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran_order else "C").copy(order="C")


class _Decoder:
    def __init__(self, archive: zipfile.ZipFile, count: int, map_location: MapLocation) -> None:
        self.archive = archive
        self.count = count
        self.map_location = map_location
        self.members: dict[int, tuple[str, Any]] = {}  # id -> (kind, what it decoded to)

    def decoded(self, node: Any, kind: str) -> Any:
        """What member t{id}.npy was decoded to, if an earlier reference decoded it, else
        None: each member is read and parsed once, however often the structure names it."""
        if not isinstance(node, dict) or not isinstance(node.get("id"), int) \
                or isinstance(node.get("id"), bool) or not 0 <= node["id"] < self.count:
            raise _NotACheckpoint(f"bad {kind} entry {str(node)[:80]}")
        if node["id"] not in self.members:
            return None
        first_kind, value = self.members[node["id"]]
        name = f"t{node['id']}.npy"
        if first_kind != kind:
            raise _NotACheckpoint(f"member {name} is referenced as both {first_kind} and {kind}")
        array = value.array if isinstance(value, Tensor) else np.asarray(value)
        self._check_shape(name, tuple(array.shape), node)
        return value

    def read(self, node: dict) -> np.ndarray:
        """Read and check the array of member t{id}.npy."""
        name = f"t{node['id']}.npy"
        try:
            raw = self.archive.read(name)  # verifies the CRC
        except KeyError:
            raise _NotACheckpoint(f"member {name} is missing") from None
        array = _parse_npy(raw, name)
        del raw
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        self._check_shape(name, array.shape, node)
        return array

    @staticmethod
    def _check_shape(name: str, shape: tuple[int, ...], node: dict) -> None:
        if "shape" in node and list(shape) != node["shape"]:
            raise _NotACheckpoint(f"member {name} has shape {shape}, but the structure says "
                                  f"{node['shape']}")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise _NotACheckpoint(f"unexpected entry {str(node)[:80]!r} in the structure")
        ((tag, body),) = node.items()
        if tag in ("list", "tuple", "dict", "odict") and depth == MAX_NESTING:
            raise _NotACheckpoint(f"the structure is nested more than {MAX_NESTING} deep")
        if tag in ("list", "tuple"):
            if not isinstance(body, list):
                raise _NotACheckpoint(f"bad {tag} entry")
            items = [self.decode(v, depth + 1) for v in body]
            return items if tag == "list" else tuple(items)
        if tag in ("dict", "odict"):
            if not isinstance(body, list) or not all(
                    isinstance(kv, list) and len(kv) == 2 for kv in body):
                raise _NotACheckpoint("bad dict entry")
            out: dict = {} if tag == "dict" else OrderedDict()
            for key, value in body:
                key = self.decode(key, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise _NotACheckpoint(f"unhashable dict key {key!r}") from None
                out[key] = self.decode(value, depth + 1)
            return out
        if tag == "tensor":
            return self.tensor(body)
        if tag in ("ndarray", "npscalar"):
            value = self.decoded(body, tag)
            if value is None:
                value = self.read(body)
                if tag == "npscalar":
                    if value.ndim != 0:
                        raise _NotACheckpoint("a numpy scalar entry holds a non-scalar array")
                    value = value[()]
                self.members[body["id"]] = (tag, value)
            return value
        raise _NotACheckpoint(f"unknown entry type {tag!r}")

    def tensor(self, node: Any) -> Tensor:
        known = self.decoded(node, "tensor")
        if known is not None:
            return known
        array = self.read(node)
        index = node["id"]
        dtype = _SUPPORTED_TENSOR_DTYPES.get(str(array.dtype))
        if dtype is None:
            raise _NotACheckpoint(f"tensor t{index} has unsupported dtype {array.dtype}")
        if str(node.get("dtype", array.dtype)) != str(array.dtype):
            raise _NotACheckpoint(f"tensor t{index} is {array.dtype}, but the structure says "
                                  f"{node.get('dtype')}")
        saved_device = node.get("device", "cpu")
        try:
            saved_device = str(Device(saved_device))
        except (TypeError, ValueError):
            raise _NotACheckpoint(f"tensor t{index} has an unknown device "
                                  f"{str(saved_device)[:40]!r}") from None
        try:
            t = self._place(Tensor._make(array), saved_device)
        except Exception as exc:  # a missing GPU, an error in a map_location function...
            raise _PlacementError(exc) from exc
        if node.get("requires_grad") is True and backend.is_floating(t.dtype):
            t.requires_grad = True
        self.members[index] = ("tensor", t)
        return t

    def _place(self, t: Tensor, saved_device: str) -> Tensor:
        """Move a freshly read CPU tensor where `map_location` says, else back to the device
        it was saved from."""
        where = self.map_location
        if where is not None and not isinstance(where, (Device, dict)):
            result = where(t, saved_device)
            if result is not None:
                if not isinstance(result, Tensor):
                    raise TypeError(f"load: map_location returned {type(result).__name__}; "
                                    "it must return a Tensor or None")
                return result
            where = None
        if isinstance(where, dict):
            where = where.get(saved_device)
        if where is None:  # nothing said: the device it was saved from
            where = Device(saved_device)
            if where.type == "cuda" and not backend.cuda.is_available():
                raise RuntimeError(f"load: a tensor was saved from {saved_device}, but CUDA is "
                                   f"not available here ({backend.cuda.unavailable_reason()}); "
                                   "pass map_location='cpu' to load it on the CPU")
        if where.type == "cpu":
            return t
        return Tensor._make(backend.to_device(t.array, where))


def load(f: PathLike | BinaryIO, map_location: MapLocation = None, *,
         weights_only: bool | None = None) -> Any:
    """Load what `save` wrote. Tensors come back on the device they were saved from (as in
    PyTorch), or where `map_location` says: 'cpu', 'cuda', 'cuda:1', a Device, a dict
    {saved device: target device} (saved devices it does not list go back where they were
    saved from), or a function (tensor on the CPU, saved_device) -> Tensor, or None for
    the saved device. A tensor saved from the GPU, loaded without a GPU, needs
    map_location='cpu' (a RuntimeError says so).

    Never runs code from the file, and never needs more memory than its size allows: a file
    that is not a tinygrad_edu checkpoint (a pickle, a torch.save file, an .npz with object
    arrays, a truncated or corrupt file, a FIFO or device) raises ValueError
    "load: <path> is not a tinygrad_edu checkpoint: <why>". A path that does not exist or
    cannot be opened raises what `open` raises (FileNotFoundError, PermissionError...).

    `weights_only` is accepted as in PyTorch, and changes nothing: loading is always
    weights-only here (no pickle, so no code from the file can run), also with
    weights_only=False."""
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    map_location = _normalize_map_location(map_location)
    if hasattr(f, "read"):
        label = getattr(f, "name", "<file object>")
        fp = f if _seekable(f) else io.BytesIO(f.read())
        return _load_file(fp, label, map_location)
    label = os.fspath(f)
    with _open_regular_file(label) as fp:
        return _load_file(fp, label, map_location)


def _open_regular_file(path: str) -> BinaryIO:
    """Open `path` for reading without blocking (a FIFO with no writer would block `open`
    forever), and refuse anything that is not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise ValueError(f"load: {path} is not a tinygrad_edu checkpoint: it is not a "
                             "regular file (a FIFO, socket or device)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _normalize_map_location(where: MapLocation) -> MapLocation:
    """Check `map_location` before reading anything; device names become Devices."""
    if where is None or isinstance(where, Device):
        return where
    if isinstance(where, str):
        return Device(where)
    if isinstance(where, dict):
        return {str(Device(k)): v if isinstance(v, Device) else Device(v)
                for k, v in where.items()}
    if callable(where):
        return where
    raise TypeError(f"load: map_location must be None, a device string, a Device, a dict or a "
                    f"function, got {type(where).__name__}")


def _load_file(fp: BinaryIO, label: str, map_location: MapLocation) -> Any:
    try:
        return _load_archive(fp, map_location)
    except _NotACheckpoint as exc:
        raise ValueError(f"load: {label} is not a tinygrad_edu checkpoint: {exc}") from None
    except _PlacementError as exc:
        raise exc.error from None


def _load_archive(fp: BinaryIO, map_location: MapLocation) -> Any:
    start = fp.tell()
    head = fp.read(8)
    size = fp.seek(0, os.SEEK_END) - start
    fp.seek(start)
    if head[:4] != b"PK\x03\x04":
        raise _NotACheckpoint(_describe_foreign(head, None))
    try:
        archive = zipfile.ZipFile(fp)
    except Exception as exc:  # zipfile raises many types for a damaged directory
        raise _NotACheckpoint(f"the zip archive is truncated or corrupt "
                              f"({type(exc).__name__}: {exc})") from None
    with archive:
        try:
            count, root = _read_description(archive, head, size)
            return _Decoder(archive, count, map_location).decode(root)
        except (_NotACheckpoint, _PlacementError):
            raise
        except RecursionError:
            raise _NotACheckpoint("the structure is nested too deep") from None
        except Exception as exc:  # a damaged file: the one documented error, naming it
            raise _NotACheckpoint(f"the file is truncated or corrupt "
                                  f"({type(exc).__name__}: {exc})") from None


def _read_description(archive: zipfile.ZipFile, head: bytes, size: int) -> tuple[int, Any]:
    """Check the archive's members against what save writes (the description and t0.npy,
    t1.npy... uncompressed, each once, all fitting in the file); return the number of arrays
    and the structure the description holds."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if any(name.endswith(".pkl") for name in names):
        raise _NotACheckpoint(_PICKLE_HINT)
    if STRUCTURE_MEMBER not in names:
        raise _NotACheckpoint(_describe_foreign(head, names))
    seen: set[str] = set()
    total = 0
    for info in infos:
        if info.filename in seen:
            raise _NotACheckpoint(f"member {info.filename} is stored more than once")
        seen.add(info.filename)
        if info.compress_type != zipfile.ZIP_STORED:  # save never compresses: no zip bombs
            raise _NotACheckpoint(f"member {info.filename} is compressed; tinygrad_edu "
                                  "checkpoints are stored uncompressed")
        total += max(info.file_size, info.compress_size)
    if total > size:
        raise _NotACheckpoint(f"its members declare {total} bytes, but the file holds only "
                              f"{size}")
    header = json.loads(archive.read(STRUCTURE_MEMBER).decode("utf-8"),
                        parse_constant=_json_constant)
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise _NotACheckpoint(f"{STRUCTURE_MEMBER} does not describe a {FORMAT_NAME} "
                              "checkpoint")
    version = header.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise _NotACheckpoint(f"format version {version!r} is not supported (this "
                              f"tinygrad_edu reads version {FORMAT_VERSION})")
    count = header.get("arrays")
    if type(count) is not int or count < 0 or "root" not in header:
        raise _NotACheckpoint(f"{STRUCTURE_MEMBER} is incomplete")
    for name in names:
        match = re.fullmatch(r"t(0|[1-9][0-9]*)\.npy", name)
        if name != STRUCTURE_MEMBER and (match is None or int(match.group(1)) >= count):
            raise _NotACheckpoint(f"unexpected member {name[:80]} (a checkpoint holds "
                                  f"{STRUCTURE_MEMBER} and t0.npy ... t{count - 1}.npy)")
    if len(names) - 1 < count:
        missing = next(f"t{i}.npy" for i in range(count) if f"t{i}.npy" not in seen)
        raise _NotACheckpoint(f"member {missing} is missing")
    return count, header["root"]


def _json_constant(name: str) -> float:
    """JSON's non-standard constants, as Python's json writes them for inf and nan."""
    return {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}[name]
