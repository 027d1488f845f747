"""``--precision auto`` and the torch-free ONNX path (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tecurate.embedding._factory as factory
from tecurate.embedding import resolve_precision
from tecurate.embedding._onnx_fast import cpu_threads, load_tokenizer, unsupported_reason

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers")


def test_auto_is_int8_only_on_a_cpu_with_vnni(monkeypatch):
    monkeypatch.setattr(factory, "_onnx_installed", lambda: True)
    precision, device, reason = resolve_precision("auto", "cpu", flags=frozenset({"avx2", "avx512_vnni"}))
    assert (precision, device) == ("int8", "cpu") and "avx512_vnni" in reason
    assert resolve_precision("auto", "cpu", flags=frozenset({"avx2", "avx512f"}))[0] == "fp32"
    assert "cannot be read" in resolve_precision("auto", "cpu", flags=None)[2]
    assert resolve_precision("auto", "cpu", flags=frozenset({"avx_vnni"}))[0] == "int8"


def test_auto_stays_fp32_without_the_evidence_or_the_packages(monkeypatch):
    vnni = frozenset({"avx512_vnni"})
    monkeypatch.setattr(factory, "_onnx_installed", lambda: False)
    precision, _, reason = resolve_precision("auto", "cpu", flags=vnni)
    assert precision == "fp32" and "onnxruntime" in reason
    monkeypatch.setattr(factory, "_onnx_installed", lambda: True)
    monkeypatch.setattr(factory, "INT8_WITHIN_TOLERANCE", False)
    precision, _, reason = resolve_precision("auto", "cpu", flags=vnni)
    assert precision == "fp32" and "tolerance" in reason


def test_auto_on_cuda_is_fp32(monkeypatch):
    monkeypatch.setattr(factory, "_cuda_available", lambda: True)
    assert resolve_precision("auto", "auto", flags=frozenset({"avx512_vnni"}))[:2] == ("fp32", "cuda")


def test_an_explicit_precision_or_backend_passes_through():
    assert resolve_precision("int8", "cpu") == ("int8", "cpu", "--precision int8 asked for")
    assert resolve_precision("onnx-fp32", "auto")[:2] == ("onnx-fp32", "auto")


def test_the_report_says_which_backend_ran_and_why(tmp_path, monkeypatch):
    from tecurate.embedding import make_embedder

    monkeypatch.setattr(factory, "cpu_flags", lambda: frozenset({"avx2"}))
    embedder = make_embedder(device="cpu", precision="auto", store=None)
    assert embedder.precision == "fp32"
    assert embedder.precision_reason.startswith("torch-fp32-threads: auto: fp32, the CPU has no VNNI")


def test_cpu_threads_honours_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert cpu_threads() >= 1


def test_the_fast_path_takes_only_models_it_reproduces(tmp_path):
    from tecurate.embedding import resolve_model

    assert unsupported_reason(resolve_model(None)) is None
    assert unsupported_reason(str(tmp_path / "missing")) == "not a local model folder"
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "modules.json").write_text(json.dumps([
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert "not mean pooling" in unsupported_reason(str(tmp_path))


def test_fast_tokenization_pads_to_the_batch_not_to_128_and_truncates_at_256():
    """The packaged tokenizer.json pads every text to 128 tokens; the fast path pads to the longest."""
    from tokenizers import Tokenizer

    from tecurate.embedding import resolve_model

    folder = Path(resolve_model(None))
    assert len(Tokenizer.from_file(str(folder / "tokenizer.json")).encode("a b").ids) == 128
    tokenizer = load_tokenizer(folder)
    assert [len(e.ids) for e in tokenizer.encode_batch(["a b", "a b c d"])] == [6, 6]
    assert len(tokenizer.encode("word " * 400).ids) == 256


_WARM_AUDIT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tecurate.cli import main
    try:
        main(sys.argv[1:-1])
    except SystemExit as exit:
        code = exit.code
    from tecurate.embedding import ContentStore, make_embedder
    texts = json.load(open(sys.argv[-1]))
    embedder = make_embedder(device="cpu", precision="int8", store=ContentStore(sys.argv[sys.argv.index("--cache-dir") + 1]))
    np.save(sys.argv[-1] + ".npy", embedder.encode(texts, 64))
    print(json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules],
                      "encoder": type(embedder._encoder).__name__}))
""" % (HEAVY,))


@pytest.mark.slow
def test_a_cached_export_audit_at_int8_imports_no_torch(tmp_path, table):
    """The first int8 run exports the model (with torch); a later cold-vector audit of another table
    runs on onnxruntime + tokenizers alone, and its vectors are the torch-assisted int8 path's."""
    from sentence_transformers import SentenceTransformer

    from tecurate.embedding import ContentStore, make_embedder, resolve_model
    from tecurate.embedding._onnx_int8 import Int8Encoder

    cache = tmp_path / "cache"
    store = ContentStore(cache)
    make_embedder(device="cpu", precision="int8", store=store).encode(["warm up the export"], 8)
    texts = [f"The age is {age}. The plan is {plan}." for age in range(20, 40) for plan in ("basic", "pro")]
    texts += ["  Leading and trailing spaces, UPPER case  ", "word " * 300]  # strip, lower case, truncation
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-c", _WARM_AUDIT, "audit", str(table), "--target", "label", "--shift-col", "region",
               "--min-domain-rows", "100", "--n-configs", "2", "--precision", "int8", "--cache-dir", str(cache),
               "--output", str(tmp_path / "report.json"), "--quiet", str(tmp_path / "texts.json")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] in (0, 1)
    assert outcome["heavy"] == [] and outcome["encoder"] == "FastOnnxEncoder"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["embedding"]["precision"] == "int8"
    assert report["embedding"]["precision_reason"] == "onnx-int8: --precision int8 asked for"
    fast = np.load(tmp_path / "texts.json.npy")
    model = SentenceTransformer(resolve_model(None), device="cpu")
    identity = make_embedder(device="cpu", precision="int8", store=store).identity
    torch_int8 = Int8Encoder(model, 384, identity, True, store).encode(texts, 64)
    assert float(np.min(np.sum(fast * torch_int8, axis=1))) > 0.99999
    fp32 = model.encode(texts, batch_size=64, normalize_embeddings=True)
    assert float(np.mean(np.sum(fast * fp32, axis=1))) > 0.98
