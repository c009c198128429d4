"""Keep raw messages and attachments on disk once each, named by their sha256, durably."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def store_blob(root: Path, kind: str, data: bytes, suffix: str = "") -> str:
    """Write `data` under root/kind/ab/<sha256><suffix> unless it is there already; return the sha256.

    Called before the database commit that refers to the blob, so the blob is on disk (fsynced, file and
    directory) by the time the reference is: a power loss leaves at most an unreferenced file, never a reference
    to nothing. A blob already there is trusted only if its content hashes to its name: one cut short or zero-filled
    by a power loss before it was durable is written again (reading it back costs only for a blob seen before).
    """
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, kind, digest, suffix)
    created = _make_dirs(path.parent)
    if _size(path) != len(data) or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        _write_synced(path, data)
    # A name is durable once the directory holding it is fsynced: the blob's in its directory, each directory we
    # created in its parent. A blob already there gets its directory fsynced too (nearly free when clean): its
    # writer may have died between its rename and that fsync.
    for directory in (path.parent, *(new.parent for new in created)):
        _fsync_directory(directory)
    return digest


def blob_path(root: Path, kind: str, digest: str, suffix: str = "") -> Path:
    return root / kind / digest[:2] / f"{digest}{suffix}"


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _make_dirs(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; return those that were missing (a racing writer's included)."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
    return missing


def _write_synced(path: Path, data: bytes) -> None:
    """Write a uniquely named temporary file, fsync it, then rename it over `path` (atomic on POSIX).

    A reader, or a power loss, sees the whole blob or no blob; the unique name keeps two writers of one blob
    (threads or daemons) out of each other's way."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
