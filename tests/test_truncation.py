"""The model's token budget: texts it cuts are counted, their lost columns named, and gated."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from conftest import HashEmbedder

from tecurate import audit
from tecurate.data import make_serializer
from tecurate.embedding import TokenBudget, measure_truncation, resolve_model
from tecurate.embedding._sentence_transformer import SentenceTransformerEmbedder

FAST = dict(families=("logreg",), n_configs=2, n_jobs=1, use_cache=False)
CREDIT = Path(__file__).resolve().parent.parent / "examples" / "credit_data.csv"
SCHEMA = Path(__file__).resolve().parent.parent / "tecurate" / "reporting" / "schema" / "report.schema.json"


@pytest.fixture(scope="module")
def budget() -> TokenBudget:
    """The packaged MiniLM's own tokenizer and limit, read without loading the model."""
    found = TokenBudget.from_folder(resolve_model(None))
    assert found is not None
    return found


class BudgetedEmbedder(HashEmbedder):
    """A fast fake that reads as many tokens as the packaged model does."""

    def __init__(self, budget: TokenBudget) -> None:
        self.token_budget = budget


def wide_table(n_rows: int = 240, n_columns: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"measure_{j:02d}": rng.normal(size=n_rows).round(3) for j in range(n_columns)})
    frame["label"] = np.where(frame["measure_00"] + rng.normal(size=n_rows) > 0, "yes", "no")
    return frame


def test_the_budget_is_the_packaged_models_own(budget):
    """256 tokens from sentence_bert_config.json; [CLS] and [SEP] count, padding and the file's
    own 128-token truncation do not."""
    assert budget.max_tokens == 256
    assert budget.counts(["hello world"]).tolist() == [4]
    long_text = " ".join(["word"] * 400)
    assert budget.counts([long_text]).tolist() == [402]
    cut, _ = budget.cuts([long_text, "hello world"])
    assert cut.tolist() == [len("word ") * 254, len("hello world")]


def test_texts_counted_by_the_last_call_are_not_tokenized_again():
    """The embed stage sorts its misses by tokens and the truncation report then counts the same
    texts: the second count is a lookup, and a text the last call did not see is tokenized."""
    fresh = TokenBudget.from_folder(resolve_model(None))
    texts = ["hello world", "The age is 39.", "hello world"]
    assert fresh.counts(texts).tolist() == [4, 7, 4]
    tokenized = []
    encode = fresh.tokenizer.encode_batch_fast

    class Spy:
        def encode_batch_fast(self, batch):
            tokenized.extend(batch)
            return encode(batch)

    fresh = TokenBudget(Spy(), fresh.max_tokens, fresh.lower_case, fresh._recent)
    assert fresh.counts(texts[::-1]).tolist() == [4, 7, 4] and tokenized == []
    assert fresh.counts(["The age is 39.", "a new text"]).tolist() == [7, 5] and tokenized == ["a new text"]


def test_a_wide_table_is_cut_and_the_suggestion_fits_when_re_audited(budget):
    frame = wide_table()
    report = audit(frame, target="label", embedder=BudgetedEmbedder(budget), **FAST).to_dict()
    truncation = report["embedding"]["truncation"]
    assert truncation["max_tokens"] == 256
    assert truncation["n_truncated"] == truncation["n_texts"] == len(frame)
    assert truncation["share_truncated"] == 1.0 and truncation["tokens"]["max"] > 256
    beyond = {c["column"] for c in truncation["columns_beyond"]}
    assert "measure_59" in beyond and "measure_00" not in beyond
    # A column counts as beyond exactly when its text starts after the model stops reading.
    texts = make_serializer("sentence", [c for c in frame.columns if c != "label"]).serialize(frame)
    cut, _ = budget.cuts(texts)
    assert texts[0].index("The measure 59 is") >= cut[0] > texts[0].index("The measure 00 is")
    gate = {g["gate"]: g for g in report["verdict"]["gates"]}["truncation"]
    assert gate["status"] == "warn" and gate["value"] == 1.0
    assert "240 of 240" in gate["message"] and truncation["columns_beyond"][0]["column"] in gate["message"]
    assert any("exceed the model's 256 tokens" in w for w in report["warnings"])
    assert report["verdict"]["status"] in ("warn", "fail")
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))

    dropped = truncation["drop_cols"]
    assert dropped and "label" not in dropped
    again = audit(frame, target="label", embedder=BudgetedEmbedder(budget), drop_cols=dropped, **FAST).to_dict()
    assert again["embedding"]["truncation"]["n_truncated"] == 0
    assert {g["gate"]: g["status"] for g in again["verdict"]["gates"]}["truncation"] == "pass"


def test_a_template_that_fits_is_suggested_and_does_fit(budget):
    """24 columns: the json template (quotes, braces) cuts, kv reads them all."""
    frame = wide_table(n_columns=24)
    report = audit(frame, target="label", embedder=BudgetedEmbedder(budget), template="json", **FAST).to_dict()
    truncation = report["embedding"]["truncation"]
    assert truncation["n_truncated"] > 0 and truncation["templates"]["kv"] == 0.0
    assert "--template kv still cuts 0%" in report["warnings"][-1]
    again = audit(frame, target="label", embedder=BudgetedEmbedder(budget), template="kv", **FAST).to_dict()
    assert again["embedding"]["truncation"]["n_truncated"] == 0


def test_custom_template_columns_are_located_too(budget):
    frame = wide_table(n_rows=20, n_columns=60)
    columns = [c for c in frame.columns if c != "label"]
    serializer = make_serializer(" | ".join(f"{{{c}}}" for c in columns), columns)
    truncation = measure_truncation(serializer.serialize(frame), budget, serializer, frame)
    beyond = [c["column"] for c in truncation.columns_beyond]
    assert "measure_59" in beyond and "measure_00" not in beyond
    assert truncation.drop_cols is None  # dropping a column a template names is no suggestion


def test_credit_rows_fit_and_the_gate_passes(budget):
    report = audit(str(CREDIT), target="Status", embedder=BudgetedEmbedder(budget), **FAST).to_dict()
    truncation = report["embedding"]["truncation"]
    assert truncation["n_truncated"] == 0 and truncation["columns_beyond"] == []
    assert 0 < truncation["tokens"]["max"] <= 256
    gate = {g["gate"]: g for g in report["verdict"]["gates"]}["truncation"]
    assert gate["status"] == "pass" and "every text fits" in gate["message"]
    assert not any("tokens" in w for w in report["warnings"])


def test_an_embedder_without_a_budget_records_null_and_passes_unknown():
    report = audit(str(CREDIT), target="Status", embedder=HashEmbedder(), **FAST).to_dict()
    assert report["embedding"]["truncation"] is None
    gate = {g["gate"]: g for g in report["verdict"]["gates"]}["truncation"]
    assert gate["status"] == "pass" and gate["message"].startswith("unknown")


def test_a_fail_threshold_fails_only_above_it(budget):
    frame = wide_table(n_rows=80)
    statuses = {limit: {g["gate"]: g["status"] for g in audit(
        frame, target="label", embedder=BudgetedEmbedder(budget), fail_truncated_share=limit, **FAST
    ).to_dict()["verdict"]["gates"]}["truncation"] for limit in (0.5, 1.0)}
    assert statuses == {0.5: "fail", 1.0: "warn"}


def test_the_production_embedder_offers_its_budget_without_loading_the_model(tmp_path):
    from tecurate.embedding import ContentStore, make_embedder

    store = ContentStore(tmp_path)
    make_embedder(device="cpu", store=store)  # remembers the identity: the next one loads nothing
    warm = make_embedder(device="cpu", store=store)
    assert isinstance(warm, SentenceTransformerEmbedder)
    assert warm.token_budget is not None and warm.token_budget.max_tokens == 256
    assert warm._model is None


def test_a_folder_without_a_tokenizer_has_no_budget(tmp_path):
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 256}')
    assert TokenBudget.from_folder(tmp_path) is None


def _hub_cache_with(tmp_path: Path, repo_id: str, files: list[Path]) -> Path:
    """A Hugging Face cache laid out as huggingface_hub writes it, holding ``files`` of one snapshot."""
    repo = tmp_path / "hub" / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    for file in files:
        (snapshot / file.name).write_bytes(file.read_bytes())
    return tmp_path / "hub"


def test_a_hub_id_in_the_local_hugging_face_cache_has_its_budget(tmp_path):
    from tecurate.embedding._model import hub_snapshot

    packaged = Path(resolve_model(None))
    files = [packaged / name for name in ("tokenizer.json", "sentence_bert_config.json")]
    cache = _hub_cache_with(tmp_path, "sentence-transformers/my-model", files)
    folder = hub_snapshot("my-model", cache)  # a bare name lives under the sentence-transformers organisation
    assert folder is not None and Path(folder, "tokenizer.json").is_file()
    found = TokenBudget.from_folder(folder)
    assert found is not None and found.max_tokens == 256
    assert hub_snapshot("someone/not-cached", cache) is None
