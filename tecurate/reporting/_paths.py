"""Output paths, checked before any expensive stage, and write failures that name the path.

An audit takes minutes; learning only after it that ``--html`` names the input file (which
would be overwritten), an unwritable folder or a full disk wastes them all, or loses data.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from tecurate.errors import TecurateError

MIN_FREE_BYTES = 8 * 2**20
"""Room an output folder must have before the audit starts: a report is well under a megabyte,
so less than this means the disk is as good as full."""


def _same(a: Path, b: Path) -> bool:
    """One file by resolved path, or by inode where both exist (hard links, bind mounts)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _existing_ancestor(path: Path) -> Path:
    """The nearest folder above ``path`` that exists (where its missing folders would be made)."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_outputs(outputs: Mapping[str, str | Path | None], inputs: Iterable[str | Path | None] = ()) -> None:
    """Fail with a :class:`TecurateError` naming the flag and path unless every output can be written.

    ``outputs`` maps a flag (``--html``) to its path (None: not asked for); ``inputs`` are the
    files the run reads (``-`` and None are skipped). An output must not be an input, nor another
    output, nor a folder; its folder must exist or be creatable, be writable, and have
    :data:`MIN_FREE_BYTES` free.
    """
    read = [Path(path) for path in inputs if path is not None and str(path) != "-"]
    seen: list[tuple[str, Path]] = []
    for flag, given in outputs.items():
        if given is None:
            continue
        path = Path(given)
        if path.is_dir():
            raise TecurateError(f"{flag} {path} is a folder; give a file name")
        for source in read:
            if _same(path, source):
                raise TecurateError(f"{flag} {path} is an input of this run; writing it would overwrite it")
        for other_flag, other in seen:
            if _same(path, other):
                raise TecurateError(f"{flag} {path} is also the path of {other_flag}; give each output its own file")
        seen.append((flag, path))
        _check_folder(flag, path)


def _check_folder(flag: str, path: Path) -> None:
    folder = _existing_ancestor(path)
    if not folder.is_dir():
        raise TecurateError(f"{flag} {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TecurateError(f"{flag} {path}: folder {folder} is not writable")
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise TecurateError(f"{flag} {path}: cannot check folder {folder}: {exc.strerror or exc}") from None
    if free < MIN_FREE_BYTES:
        raise TecurateError(f"{flag} {path}: only {free // 1024} KiB free on the disk of {folder}; "
                            f"need at least {MIN_FREE_BYTES // 2**20} MiB")


def write_error(flag: str | None, path: str | Path, exc: OSError) -> str:
    """One line for a failed write that names the path (and the flag), never a temp file's name."""
    named = f"{flag} {path}" if flag else str(path)
    reason = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "read-only file system"}.get(exc.errno or 0, exc.strerror or str(exc))
    return f"cannot write {named}: {reason}"
