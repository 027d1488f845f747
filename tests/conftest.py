"""Shared fixtures: small tables on disk and tiny fake embedders for unit tests of code around
the embedding stage. End-to-end tests use the real packaged model instead (tests/test_e2e.py)."""

from __future__ import annotations

import os

# Before anything imports Ray (tests/test_engines.py): keep its clusters on 127.0.0.1, offline and
# without auth or a drain wait (ENVIRONMENT.md). A user's own setting wins.
for _name, _value in {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                      "RAY_AUTH_MODE": "disabled", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}.items():
    os.environ.setdefault(_name, _value)

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tecurate.embedding import BACKENDS, PRECISIONS, Backend, ContentStore, Embedder


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A test that forgets --no-cache writes into a throwaway folder, never the user's cache."""
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


class FakeBackend:
    """A backend that builds ``kind()`` whatever the model, device or cache asked for."""

    devices = ("cpu", "cuda")

    def __init__(self, precision: str, kind: type) -> None:
        self.precision = precision
        self.kind = kind

    def check(self) -> None:
        """Needs nothing."""

    def build(self, name_or_path: str | None, *, device: str, store: ContentStore | None) -> Embedder:
        return self.kind()


@contextmanager
def backends_for_every_precision(make: Callable[[str], Backend]) -> Iterator[None]:
    """Register ``make(precision)`` for every precision, after the built-ins, so that it takes
    their place (:data:`tecurate.embedding.BACKENDS`); unregister them afterwards."""
    names = [f"test-{precision}" for precision in PRECISIONS]
    for name, precision in zip(names, PRECISIONS):
        BACKENDS.register(name, make(precision))
    try:
        yield
    finally:
        for name in names:
            BACKENDS.unregister(name)


@pytest.fixture
def fake_embedder() -> Iterator[Callable[[type], None]]:
    """Every audit and embed built from a config (the CLI's) gets a fake embedder, by default
    :class:`NumbersEmbedder`; ``fake_embedder(ConstantEmbedder)`` switches to another fake."""
    with ExitStack() as stack:

        def install(kind: type) -> None:
            stack.close()
            stack.enter_context(backends_for_every_precision(lambda precision: FakeBackend(precision, kind)))

        install(NumbersEmbedder)
        yield install
