"""SIGINT and SIGTERM: the vectors embedded before the signal are cached, one line says so, and
the exit code is 130 / 143. A real signal to a real ``python -m tecurate`` process; its slow fake
embedder comes from a plug-in (``sitecustomize``) registered in the backend registry."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import NumbersEmbedder, make_frame

from tecurate._signals import Interrupted, interruptible
from tecurate.embedding import ContentStore, embed_texts

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
"""Registers a fake embedder that stalls in its second encode call while STALL_MARKER is set."""
import os
import time

import numpy as np

from tecurate.embedding import BACKENDS, PRECISIONS


class StallingEmbedder:
    name = identity = "fake-stalling@1"
    device = "cpu"
    dim = 4
    calls = 0

    def encode(self, texts, batch_size):
        StallingEmbedder.calls += 1
        marker = os.environ.get("STALL_MARKER")
        if marker and StallingEmbedder.calls == 2:
            open(marker, "w").close()
            time.sleep(120)
        return np.array([[len(t), t.count("1"), t.count("a"), t.count(".")] for t in texts], dtype=np.float32)


class StallingBackend:
    devices = ("cpu", "cuda")

    def __init__(self, precision):
        self.precision = precision

    def check(self):
        pass

    def build(self, name_or_path, *, device, store):
        return StallingEmbedder()


for precision in PRECISIONS:
    BACKENDS.register(f"stalling-{precision}", StallingBackend(precision))
'''

AUDIT = ["audit", "--target", "label", "--shift-col", "region", "--min-domain-rows", "100", "--n-jobs", "1",
         "--families", "logreg", "--n-configs", "2", "--n-bootstrap", "50", "--batch-size", "8"]


def _tecurate(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tecurate", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_embedding_caches_the_finished_vectors_and_says_so(tmp_path, signum, code):
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(PLUGIN)
    table = tmp_path / "table.csv"
    make_frame(2000).to_csv(table, index=False)  # over 1,000 distinct texts: three encode calls
    marker = tmp_path / "stalling"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin), str(ROOT)]), "NO_COLOR": "1",
           "TECURATE_CACHE_DIR": str(tmp_path / "cache"), "STALL_MARKER": str(marker)}

    process = _tecurate([*AUDIT, str(table), "--output", str(tmp_path / "report.json")], env)
    deadline = time.monotonic() + 90
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.communicate()[1]
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    found = re.fullmatch(r"tecurate: aborted: (\d+) of (\d+) texts embedded and cached", lines[0])
    assert found, stderr
    kept, total = map(int, found.groups())
    assert kept == 512 < total  # the first call (64 batches of 8) was flushed; the stalled one was not
    assert not (tmp_path / "report.json").exists()

    env.pop("STALL_MARKER")
    rerun = _tecurate([*AUDIT, str(table), "--format", "json", "--quiet"], env)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode in (0, 1), stderr
    embedding = json.loads(stdout)["embedding"]
    assert embedding["cache_hits"] == kept
    assert embedding["n_unique_texts"] == total


class _InterruptedOnSecondCall(NumbersEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, batch_size):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return super().encode(texts, batch_size)


def test_an_interrupt_flushes_the_finished_calls_and_reports_how_many(tmp_path):
    texts = [f"row {i}" for i in range(600)]
    store = ContentStore(tmp_path)
    with pytest.raises(Interrupted) as caught:
        embed_texts(texts, _InterruptedOnSecondCall(), batch_size=8, cache=store)
    assert caught.value.kept == (512, 600, True)
    assert caught.value.exit_code == 130
    assert caught.value.describe() == "aborted: 512 of 600 texts embedded and cached"
    _, info = embed_texts(texts, NumbersEmbedder(), batch_size=8, cache=store)
    assert info.cache_hits == 512


def test_without_a_cache_the_line_says_nothing_was_kept():
    with pytest.raises(Interrupted) as caught:
        embed_texts([f"row {i}" for i in range(600)], _InterruptedOnSecondCall(), batch_size=8)
    assert caught.value.describe() == "aborted: 512 of 600 texts embedded, none cached (the cache is off)"


def test_interruptible_turns_sigterm_into_interrupted_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as caught, interruptible():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert caught.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before
    assert caught.value.signum == signal.SIGTERM
