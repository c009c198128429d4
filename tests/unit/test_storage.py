"""Unit tests for mailbot.desk.storage: blobs are fsynced (file, then directories) and a cut-short blob is rewritten."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.desk.storage import blob_path, durable_together, store_blob

MAIL = b"From: cliente@example.org\r\nSubject: Clave bloqueada\r\n\r\nBuenos dias, no puedo entrar.\r\n" * 40


@dataclass(frozen=True)
class Fsync:
    inode: int
    is_dir: bool
    blob_named: bool  # whether the blob's final name existed when this fsync ran


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Fsync]:
    """Every os.fsync store_blob makes, recorded by inode (a file keeps its inode through the rename)."""
    calls: list[Fsync] = []
    real_fsync = os.fsync
    final = blob_path(tmp_path / "storage", "raw", hashlib.sha256(MAIL).hexdigest(), ".eml")

    def recording_fsync(fd: int) -> None:
        info = os.fstat(fd)
        calls.append(Fsync(info.st_ino, stat.S_ISDIR(info.st_mode), final.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return calls


def test_new_blob_is_fsynced_before_its_name_then_every_new_directory_entry(
        tmp_path: Path, fsyncs: list[Fsync]) -> None:
    root = tmp_path / "storage"  # nothing exists yet: storage/, raw/ and ab/ are all created
    digest = store_blob(root, "raw", MAIL, ".eml")

    path = blob_path(root, "raw", digest, ".eml")
    assert path.read_bytes() == MAIL
    file_syncs = [call for call in fsyncs if not call.is_dir]
    assert file_syncs == [Fsync(path.stat().st_ino, False, False)]  # the data, before the rename made it visible
    assert fsyncs[0] == file_syncs[0]
    # Its directory (the new name) and the parents of the three directories made (their new names).
    assert {call.inode for call in fsyncs[1:]} == {d.stat().st_ino for d in (path.parent, root / "raw", root, tmp_path)}
    assert all(call.is_dir and call.blob_named for call in fsyncs[1:])


def test_blob_in_an_existing_directory_syncs_the_file_and_that_directory_only(
        tmp_path: Path, fsyncs: list[Fsync]) -> None:
    root = tmp_path / "storage"
    path = blob_path(root, "raw", hashlib.sha256(MAIL).hexdigest(), ".eml")
    path.parent.mkdir(parents=True)

    store_blob(root, "raw", MAIL, ".eml")

    assert fsyncs == [Fsync(path.stat().st_ino, False, False), Fsync(path.parent.stat().st_ino, True, True)]


def test_present_good_blob_is_not_rewritten(tmp_path: Path, fsyncs: list[Fsync]) -> None:
    root = tmp_path / "storage"
    digest = store_blob(root, "raw", MAIL, ".eml")
    path = blob_path(root, "raw", digest, ".eml")
    before = path.stat()
    fsyncs.clear()

    assert store_blob(root, "raw", MAIL, ".eml") == digest

    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # Only its directory is fsynced again, in case the writer died between its rename and that fsync.
    assert fsyncs == [Fsync(path.parent.stat().st_ino, True, True)]


@pytest.mark.parametrize("damaged", [
    pytest.param(b"", id="empty-after-power-loss"),
    pytest.param(MAIL[: len(MAIL) // 2], id="cut-in-half"),
    pytest.param(MAIL[:-1], id="one-byte-short"),
    pytest.param(MAIL + b"\0" * 4096, id="longer-than-the-data"),
    pytest.param(b"\0" * len(MAIL), id="zero-filled-of-the-right-size"),
])
def test_a_damaged_blob_is_rewritten(tmp_path: Path, damaged: bytes) -> None:
    root = tmp_path / "storage"
    digest = store_blob(root, "raw", MAIL, ".eml")
    path = blob_path(root, "raw", digest, ".eml")
    path.write_bytes(damaged)

    assert store_blob(root, "raw", MAIL, ".eml") == digest

    assert path.read_bytes() == MAIL


def test_failed_fsync_raises_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")  # what a dying disk answers

    monkeypatch.setattr(os, "fsync", failing_fsync)
    root = tmp_path / "storage"
    with pytest.raises(OSError, match="Input/output error"):
        store_blob(root, "attachments", MAIL)

    path = blob_path(root, "attachments", hashlib.sha256(MAIL).hexdigest())
    assert list(path.parent.iterdir()) == []


def test_blobs_stored_together_are_named_only_once_durable_files_then_directories(
        tmp_path: Path, fsyncs: list[Fsync]) -> None:
    root = tmp_path / "storage"
    other = MAIL.replace(b"Clave", b"Token")
    with durable_together():
        digests = [store_blob(root, "raw", data, ".eml") for data in (MAIL, other, MAIL)]
        paths = [blob_path(root, "raw", digest, ".eml") for digest in digests]
        assert fsyncs == [] and not any(path.exists() for path in paths), "nothing named before it is durable"

    assert [path.read_bytes() for path in paths] == [MAIL, other, MAIL]
    file_syncs = [call for call in fsyncs if not call.is_dir]
    assert sorted(call.inode for call in file_syncs) == sorted({path.stat().st_ino for path in paths})
    assert not any(call.blob_named for call in file_syncs)  # each file's data before its rename
    assert fsyncs[:len(file_syncs)] == file_syncs  # then the directories, each once
    directories = [call.inode for call in fsyncs[len(file_syncs):]]
    assert sorted(directories) == sorted({d.stat().st_ino for p in paths for d in (p.parent, root / "raw", root,
                                                                                    tmp_path)})
    assert [p.name for p in paths[0].parent.iterdir()] == [paths[0].name]


def test_a_block_that_raises_names_no_blob_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    with pytest.raises(RuntimeError), durable_together():
        digest = store_blob(root, "raw", MAIL, ".eml")
        raise RuntimeError("the batch failed")

    assert list(blob_path(root, "raw", digest, ".eml").parent.iterdir()) == []


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(["", ".eml"]))
def test_stored_blob_reads_back_by_its_sha256_and_storing_again_changes_nothing(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        digest = store_blob(root, "attachments", data, suffix)
        assert digest == hashlib.sha256(data).hexdigest()
        assert store_blob(root, "attachments", data, suffix) == digest
        path = blob_path(root, "attachments", digest, suffix)
        assert path.read_bytes() == data
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
