"""torchvision.datasets.utils: what the dataset readers share: their errors, label checks,
and careful downloading (MD5-checked, never a half file) and extracting (nothing written
outside `root`, no links)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

PathLike = str | os.PathLike


class DatasetNotFoundError(FileNotFoundError, RuntimeError):
    """The dataset's files are not where we looked (or could not be downloaded).
    The message says where we looked and how to get them. (A RuntimeError too, the class
    torchvision raises for "Dataset not found".)"""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is not what it should be (bad header, wrong size, ...)."""


def check_labels(targets: np.ndarray, num_classes: int, source: Any) -> None:
    if targets.size and (targets.min() < 0 or targets.max() >= num_classes):
        raise CorruptDatasetError(f"{source}: labels must be in 0..{num_classes - 1}, found "
                                  f"values from {targets.min()} to {targets.max()}")


# ---------------------------------------------------------------------------------------------
# Downloading and extracting
# ---------------------------------------------------------------------------------------------
def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(urls: Sequence[str], destination: Path, md5: str | None) -> None:
    """Fetch the first of `urls` that works into `destination`, checking its MD5.

    The file is written to `destination.part` and renamed only once complete and verified, so
    an interrupted download never leaves a half file under the real name. Raises
    `DatasetNotFoundError` listing every URL tried and why it failed.
    """
    import urllib.request  # only when downloading: it pulls in http and ssl (~50 ms)

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    failures = []
    for url in urls:
        print(f"Downloading {url} -> {destination}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            failures.append(f"{url}: {exc}")
            partial.unlink(missing_ok=True)
            continue
        if md5 is not None and (actual := md5sum(partial)) != md5:
            failures.append(f"{url}: checksum mismatch (MD5 {actual}, expected {md5})")
            partial.unlink(missing_ok=True)
            continue
        os.replace(partial, destination)
        return
    raise DatasetNotFoundError(f"could not download {destination.name}:\n  "
                               + "\n  ".join(failures))


def _unsafe_member_name(name: str) -> bool:
    """Whether a tar member's name could write outside the destination on some system: an
    absolute path, a `..` component, or anything Windows reads as a path (a backslash, which
    Windows takes as a separator as in `..\\..\\evil`, or a colon: a drive letter as in
    `C:evil` or an NTFS stream)."""
    path = PurePosixPath(name)
    return (not name or path.is_absolute() or ".." in path.parts or "\\" in name
            or ":" in name)


def safe_extract_tar(archive: Path, destination: Path) -> None:
    """Extract a tar archive into `destination`, refusing the whole archive if any member has an
    unsafe name (see `_unsafe_member_name`) or is a link or a device (only plain files and
    folders)."""
    destination = destination.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                if _unsafe_member_name(member.name):
                    raise CorruptDatasetError(f"refusing to extract {archive}: member "
                                              f"{member.name!r} has an unsafe path")
                if not (member.isfile() or member.isdir()):
                    raise CorruptDatasetError(f"refusing to extract {archive}: member "
                                              f"{member.name!r} is not a plain file or folder")
            for member in members:
                target = destination.joinpath(*PurePosixPath(member.name).parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a plain file always has contents
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError) and not archive.exists():
            raise
        raise CorruptDatasetError(f"{archive} is not a readable tar archive ({exc}); delete it "
                                  "and download it again") from exc
