"""Tiny Shakespeare: 40,000 lines of Shakespeare's plays in one plain-text file (about 1.1 MB),
the usual corpus for character-level language models (Karpathy's char-rnn), and
`CharTokenizer`, the character vocabulary that the text examples share.

    text = load_tiny_shakespeare("data/tinyshakespeare", download=True)
    tok = CharTokenizer(text)             # 65 characters, sorted
    ids = tok.encode(text)                # int64 Tensor (1115394,)
    tok.decode(ids[:20])                  # 'First Citizen:\\nBefor'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor, tensor
from ._base import CorruptDatasetError, DatasetNotFoundError, PathLike, download_file

__all__ = ["load_tiny_shakespeare", "CharTokenizer", "ROOT_ENV", "URLS", "MD5", "MAX_BYTES"]

ROOT_ENV = "TINYGRAD_EDU_SHAKESPEARE_ROOT"
FILENAME = "input.txt"
URLS = ["https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
        "input.txt"]
MD5: str | None = "6fb458f1232090904fb40fe944165e91"  # the 1,115,394-byte file of char-rnn
MAX_BYTES = 64 * 1024 * 1024  # the real file is 1.1 MB: anything this big is not it


def _resolve_root(root: PathLike | None) -> Path:
    if root is None:
        root = os.environ.get(ROOT_ENV) or None
    if root is None:
        raise DatasetNotFoundError(
            "load_tiny_shakespeare: no folder given: pass root=<folder holding input.txt> or set "
            f"the environment variable {ROOT_ENV}; with download=True the file is fetched into "
            f"that folder from {URLS[0]}")
    return Path(root).expanduser()


def load_tiny_shakespeare(root: PathLike | None = None, download: bool = False) -> str:
    """The text of Tiny Shakespeare, read from `root/input.txt`.

    `root` defaults to the environment variable TINYGRAD_EDU_SHAKESPEARE_ROOT. With
    `download=True` a missing file is fetched into `root` from char-rnn's repository (MD5-checked,
    never a half file). Raises `DatasetNotFoundError` when the file is not there (saying where it
    looked and how to get it) and `CorruptDatasetError` when it is not UTF-8 text (undecodable
    bytes or NUL characters), is empty, or is larger than MAX_BYTES (64 MiB; the real file has
    1.1 MB), which is checked before anything is read.
    """
    folder = _resolve_root(root)
    path = folder / FILENAME
    if not path.is_file():
        if not download:
            raise DatasetNotFoundError(
                f"load_tiny_shakespeare: {path} not found; pass download=True to fetch it from "
                f"{URLS[0]}, or download that file and put it in {folder}")
        try:
            download_file(URLS, path, MD5)
        except DatasetNotFoundError as exc:
            raise DatasetNotFoundError(f"load_tiny_shakespeare: downloading failed: {exc}\n\n"
                                       f"Download {URLS[0]} by hand and put it in {folder}") \
                from exc
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise CorruptDatasetError(f"load_tiny_shakespeare: {path} has {size} bytes, more than the "
                                  f"{MAX_BYTES} accepted (the real file has about 1.1 MB)")
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)  # bounded even if the file grows while we read it
    if len(data) > MAX_BYTES:
        raise CorruptDatasetError(f"load_tiny_shakespeare: {path} is larger than {MAX_BYTES} "
                                  "bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptDatasetError(f"load_tiny_shakespeare: {path} is not UTF-8 text ({exc}); "
                                  "delete it and download it again") from exc
    if not text:
        raise CorruptDatasetError(f"load_tiny_shakespeare: {path} is empty")
    if "\x00" in text:
        raise CorruptDatasetError(f"load_tiny_shakespeare: {path} is not text (it holds NUL "
                                  f"bytes, the first at offset {data.index(0)})")
    return text


class CharTokenizer:
    """A character-level vocabulary: the distinct characters of a text, sorted, numbered 0, 1, ...

    - `chars`: the sorted characters; `stoi` / `itos`: character -> id and id -> character;
      `vocab_size` (also `len(tok)`).
    - `encode(text)` -> int64 Tensor of shape (len(text),); a character outside the vocabulary
      raises KeyError naming it.
    - `decode(ids)` -> str, from a Tensor (any device, any integer dtype and shape, read in
      row-major order), a NumPy array or a sequence of ints.
    """

    def __init__(self, text: str | Iterable[str]) -> None:
        chars = sorted(set(text))
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise TypeError(f"CharTokenizer: expected a text (or characters), got an element "
                                f"{c!r}")
        if not chars:
            raise ValueError("CharTokenizer: the text is empty, so there is no vocabulary")
        self.chars: list[str] = chars
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars)}
        self.itos: dict[int, str] = dict(enumerate(chars))
        self._table = np.array(chars, dtype=object)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, device: Any = None) -> Tensor:
        """The ids of the characters of `text`: an int64 Tensor (len(text),) on `device`."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        try:
            ids = np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise KeyError(f"CharTokenizer.encode: character {exc.args[0]!r} is not in the "
                           f"vocabulary of {self.vocab_size} characters") from None
        return tensor(ids, dtype=np.int64, device=device)

    def decode(self, ids: Any) -> str:
        """The text of the ids `ids` (a Tensor, NumPy array or sequence of ints)."""
        if isinstance(ids, Tensor):
            array = backend.to_numpy(ids.detach().array)
        else:
            array = np.asarray(ids)
        if array.size == 0:
            return ""
        if array.dtype.kind not in "iu":
            raise TypeError(f"CharTokenizer.decode: expected integer ids, got dtype {array.dtype}")
        array = array.reshape(-1)
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= self.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"CharTokenizer.decode: id {bad} is out of range for a vocabulary of "
                             f"{self.vocab_size} characters")
        return "".join(self._table[array])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
