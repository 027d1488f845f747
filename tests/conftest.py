"""Shared fixtures: small tables on disk and tiny fake embedders for unit tests of code around
the embedding stage. End-to-end tests use the real packaged model instead (tests/test_e2e.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test that forgets --no-cache writes into a throwaway folder, never the user's cache."""
    import os

    os.environ.setdefault("TECURATE_CACHE_DIR", str(tmp_path_factory.mktemp("tecurate-cache")))


class NumbersEmbedder:
    """An informative fake: the numbers in the text, squashed to small magnitudes like real TEs."""

    name = "fake-numbers"
    identity = "fake-numbers@1"
    device = "cpu"
    dim = 4

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        rows = []
        for text in texts:
            numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)][: self.dim]
            rows.append(numbers + [0.0] * (self.dim - len(numbers)))
        return np.tanh(np.asarray(rows, dtype=np.float32) / 10.0)


class ConstantEmbedder:
    """A useless fake: every text gets the same vector, so every te model must collapse."""

    name = "fake-constant"
    identity = "fake-constant@1"
    device = "cpu"
    dim = 4

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32)


class HashEmbedder:
    """Deterministic noise per text (uninformative but not constant)."""

    name = "fake-hash"
    identity = "fake-hash@1"
    device = "cpu"
    dim = 8

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out


def make_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A labelled table with a learnable signal and a 'region' shift column (A: half, B, C: quarters)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 15, n).round(1)
    plan = rng.choice(["basic", "plus", "pro"], n)
    region = np.array(["A"] * (n // 2) + ["B"] * (n // 4) + ["C"] * (n - n // 2 - n // 4))
    noise = rng.normal(0, 5, n)
    label = np.where(x + noise + (region == "B") * 5 > 50, "yes", "no")
    return pd.DataFrame({"x": x, "plan": plan, "region": region, "label": label})


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    make_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch):
    """Swap the sentence-transformers model for a fake one inside the pipeline."""

    def install(kind: type) -> None:
        monkeypatch.setattr("tecurate.pipeline.SentenceTransformerEmbedder",
                            lambda *args, **kwargs: kind())

    install(NumbersEmbedder)
    return install
