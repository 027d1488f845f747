"""Report plumbing: atomic writes and JSON-safe conversion."""

from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pytest

from tecurate.reporting._report import _plain, dumps, write_atomic


def test_write_atomic_replaces_whole_file_with_umask_permissions(tmp_path):
    target = tmp_path / "sub" / "report.json"
    write_atomic(target, "first\n")
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_plain_makes_json_safe_data():
    data = _plain({"a": np.float32(0.5), "b": (1, np.int64(2)), "c": math.nan, "d": np.bool_(True)})
    assert data == {"a": 0.5, "b": [1, 2], "c": None, "d": True}
    assert json.loads(dumps(data)) == data
