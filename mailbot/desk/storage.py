"""Keep raw messages and attachments on disk once each, named by their sha256, durably."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

SYNC_THREADS = 8  # fsyncs in flight at once at the end of a batch: the file system merges their journal commits


@dataclass
class _Together:
    """Blobs written in a `durable_together` block and not yet durable: temporary files to fsync and rename, and
    the directories to fsync after that."""

    pending: dict[Path, Path] = field(default_factory=dict)  # the blob's name → its temporary file
    directories: set[Path] = field(default_factory=set)


_together: ContextVar[_Together | None] = ContextVar("blobs_together", default=None)


def store_blob(root: Path, kind: str, data: bytes, suffix: str = "") -> str:
    """Write `data` under root/kind/ab/<sha256><suffix> unless it is there already; return the sha256.

    Called before the database commit that refers to the blob, so the blob is on disk (fsynced, file and
    directory) by the time the reference is: a power loss leaves at most an unreferenced file, never a reference
    to nothing. A blob already there is trusted only if its content hashes to its name: one cut short or zero-filled
    by a power loss before it was durable is written again (reading it back costs only for a blob seen before).
    Inside `durable_together` the blob becomes durable, and visible under its name, when the block ends.
    """
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, kind, digest, suffix)
    created = _make_dirs(path.parent)
    together = _together.get()
    if together is not None and path in together.pending:
        pass  # stored earlier in the block (the same attachment twice): written once
    elif _size(path) != len(data) or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        if together is None:
            _write_synced(path, data)
        else:
            together.pending[path] = _write_temporary(path, data)
    # A name is durable once the directory holding it is fsynced: the blob's in its directory, each directory we
    # created in its parent. A blob already there gets its directory fsynced too (nearly free when clean): its
    # writer may have died between its rename and that fsync.
    directories = (path.parent, *(new.parent for new in created))
    if together is not None:
        together.directories.update(directories)
        return digest
    for directory in directories:
        _fsync_directory(directory)
    return digest


@contextmanager
def durable_together() -> Iterator[None]:
    """Blobs stored in the block are made durable together as it ends: their files fsynced in parallel, renamed
    into place, then their directories fsynced in parallel. A batch of mails waits for the disk about twice, not
    twice per blob, and still no blob is under its name before its content is durable. A block that raises leaves
    no temporary file behind."""
    together = _Together()
    token = _together.set(together)
    try:
        yield
    except BaseException:
        _discard(together)
        raise
    finally:
        _together.reset(token)
    try:
        with ThreadPoolExecutor(SYNC_THREADS) as pool:
            list(pool.map(_fsync_file, together.pending.values()))
            for path, temporary in together.pending.items():
                os.replace(temporary, path)
            list(pool.map(_fsync_directory, together.directories))
    except BaseException:
        _discard(together)
        raise


def _discard(together: _Together) -> None:
    for temporary in together.pending.values():
        temporary.unlink(missing_ok=True)


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
    tmp = _write_temporary(path, data)
    try:
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_temporary(path: Path, data: bytes) -> Path:
    """`data` in a uniquely named temporary file beside `path`, not yet fsynced."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
