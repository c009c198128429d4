"""Keep raw messages and attachments on disk once each, named by their sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def store_blob(root: Path, kind: str, data: bytes, suffix: str = "") -> str:
    """Write `data` under root/kind/ab/<sha256><suffix> unless it is there already; return the sha256.

    Written before the database commit: a crash leaves at most an unreferenced file, never a reference to nothing.
    """
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, kind, digest, suffix)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return digest


def blob_path(root: Path, kind: str, digest: str, suffix: str = "") -> Path:
    return root / kind / digest[:2] / f"{digest}{suffix}"
