"""Tiny Shakespeare (load_tiny_shakespeare: root, environment variable, download over a file://
URL, refusing files that are not UTF-8 text or are too large) and CharTokenizer. The real file is
read from ../shared/data/tinyshakespeare (skipped when absent)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.datasets import (
    CharTokenizer,
    CorruptDatasetError,
    DatasetNotFoundError,
    load_tiny_shakespeare,
    shakespeare,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tinyshakespeare"
SAMPLE = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


def write(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.txt").write_bytes(data)
    return folder


def test_real_file():
    if not (SHARED / "input.txt").is_file():
        pytest.skip("../shared/data/tinyshakespeare/input.txt is not here")
    text = load_tiny_shakespeare(SHARED)
    assert len(text) == 1115394 and text.startswith("First Citizen:\nBefore we proceed")
    tok = CharTokenizer(text)
    assert tok.vocab_size == 65 and tok.chars[0] == "\n" and tok.chars[1] == " "
    ids = tok.encode(text[:1000])
    assert tok.decode(ids) == text[:1000]


def test_root_and_environment_variable(tmp_path, monkeypatch):
    write(tmp_path / "a", SAMPLE.encode())
    assert load_tiny_shakespeare(tmp_path / "a") == SAMPLE
    assert load_tiny_shakespeare(str(tmp_path / "a")) == SAMPLE
    monkeypatch.setenv(shakespeare.ROOT_ENV, str(tmp_path / "a"))
    assert load_tiny_shakespeare() == SAMPLE
    monkeypatch.delenv(shakespeare.ROOT_ENV)
    with pytest.raises(DatasetNotFoundError, match=shakespeare.ROOT_ENV):
        load_tiny_shakespeare()
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        load_tiny_shakespeare(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()  # nothing is created without download


def test_download_over_a_file_url(tmp_path, monkeypatch):
    source = write(tmp_path / "server", SAMPLE.encode()) / "input.txt"
    monkeypatch.setattr(shakespeare, "URLS", [source.as_uri()])
    monkeypatch.setattr(shakespeare, "MD5", hashlib.md5(SAMPLE.encode()).hexdigest())
    assert load_tiny_shakespeare(tmp_path / "root", download=True) == SAMPLE
    assert (tmp_path / "root" / "input.txt").read_bytes() == SAMPLE.encode()
    assert not (tmp_path / "root" / "input.txt.part").exists()
    # a second call reads the file without downloading
    monkeypatch.setattr(shakespeare, "URLS", [(tmp_path / "gone.txt").as_uri()])
    assert load_tiny_shakespeare(tmp_path / "root", download=True) == SAMPLE


def test_download_failures_leave_nothing(tmp_path, monkeypatch):
    source = write(tmp_path / "server", b"tampered\n") / "input.txt"
    monkeypatch.setattr(shakespeare, "URLS", [source.as_uri()])
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        load_tiny_shakespeare(tmp_path / "root", download=True)
    monkeypatch.setattr(shakespeare, "URLS", [(tmp_path / "nothing.txt").as_uri()])
    with pytest.raises(DatasetNotFoundError, match="downloading failed"):
        load_tiny_shakespeare(tmp_path / "root", download=True)
    assert list((tmp_path / "root").iterdir()) == []


def test_download_uses_the_shared_helper(tmp_path, monkeypatch):
    calls = []

    def fake_download(urls, destination, md5):
        calls.append((list(urls), destination, md5))
        destination.write_text("To be, or not to be\n")

    monkeypatch.setattr(shakespeare, "download_file", fake_download)
    root = tmp_path / "r"
    root.mkdir()
    assert load_tiny_shakespeare(root, download=True) == "To be, or not to be\n"
    assert calls == [(shakespeare.URLS, root / "input.txt", shakespeare.MD5)]
    assert "karpathy/char-rnn" in shakespeare.URLS[0]


@pytest.mark.parametrize("data, message", [
    (b"caf\xe9 latin-1\n", "not UTF-8"), (b"", "empty"), (b"text\x00binary", "NUL"),
])
def test_refuses_files_that_are_not_text(tmp_path, data, message):
    with pytest.raises(CorruptDatasetError, match=message):
        load_tiny_shakespeare(write(tmp_path, data))


def test_refuses_a_huge_file(tmp_path, monkeypatch):
    monkeypatch.setattr(shakespeare, "MAX_BYTES", 50)
    with pytest.raises(CorruptDatasetError, match="more than the 50"):
        load_tiny_shakespeare(write(tmp_path, b"x" * 51))
    assert load_tiny_shakespeare(write(tmp_path, b"y" * 50)) == "y" * 50


def test_utf8_text_is_kept_exactly(tmp_path):
    text = "Ça va?\r\nnaïve — ok\n"
    assert load_tiny_shakespeare(write(tmp_path, text.encode())) == text


def test_char_tokenizer(device):
    tok = CharTokenizer(SAMPLE)
    assert tok.chars == sorted(set(SAMPLE)) and len(tok) == tok.vocab_size == len(set(SAMPLE))
    assert all(tok.stoi[c] == i and tok.itos[i] == c for i, c in enumerate(tok.chars))
    ids = tok.encode(SAMPLE, device=device)
    assert ids.dtype == tg.int64 and ids.shape == (len(SAMPLE),) and ids.device.type in device
    assert ids.tolist() == [tok.stoi[c] for c in SAMPLE]
    assert tok.decode(ids) == SAMPLE
    assert tok.decode(ids[:80].reshape(8, 10)) == SAMPLE[:80]  # row-major order
    assert tok.decode([tok.stoi["F"], tok.stoi["i"]]) == "Fi"
    assert tok.decode(np.array([], dtype=np.int64)) == "" and tok.encode("").shape == (0,)
    assert repr(tok) == f"CharTokenizer(vocab_size={tok.vocab_size})"


def test_char_tokenizer_errors():
    tok = CharTokenizer("abc")
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="id 3 is out of range"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="id -1"):
        tok.decode(tg.tensor([-1, 0]))
    with pytest.raises(TypeError, match="integer ids"):
        tok.decode(tg.tensor([0.5]))
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(["a"])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer("")
