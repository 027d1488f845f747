"""Content digests shared by the stages that key work by what it reads: one way to hash a file."""

from __future__ import annotations

import hashlib
import os

_BLOCK = 1 << 22


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 4 MiB blocks so a large file never sits in memory.

    Raises :class:`OSError` as ``open`` does: callers say which of the user's files it was."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
