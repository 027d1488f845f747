"""The curation stage: each operation, fitted on ID-train only, applied to every row, never
showing the target, the shift column or the --id-col; composition; the audit's --curations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import NumbersEmbedder, make_frame

import tecurate.curation
from tecurate import audit
from tecurate.curation import CURATIONS, curate, humanize, is_identifier, parse_curation
from tecurate.errors import TecurateError

SECRET_TARGET, SECRET_SHIFT, SECRET_ID = "TARGETYES", "SHIFTREGION", "ROWIDENT"


def secret_frame(n: int = 120) -> pd.DataFrame:
    """Features of every kind, plus a target, shift and id column whose values must never reach a text."""
    rng = np.random.default_rng(0)
    income = rng.lognormal(10, 1, n).round(2)
    income[::7] = np.nan
    return pd.DataFrame({
        "capital_gain": income,
        "age": rng.integers(18, 90, n),
        "job": rng.choice(["clerk", "nurse", None], n),
        "customer_code": [f"C{i:07d}" for i in range(n)],
        "row_number": rng.permutation(n) + 1,
        "flag": rng.random(n) > 0.5,
        "label": np.where(income > 22000, SECRET_TARGET, "TARGETNO"),
        "region": [SECRET_SHIFT + str(i % 3) for i in range(n)],
        "rid": [SECRET_ID + str(i) for i in range(n)],
    })


FEATURES = ["capital_gain", "age", "job", "customer_code", "row_number", "flag"]
TRAIN = np.arange(0, 80)


def texts_of(curation: str, frame: pd.DataFrame | None = None, template: str = "sentence", **kwargs) -> tuple[list[str], dict]:
    frame = secret_frame() if frame is None else frame
    codes = (frame["label"] == SECRET_TARGET).to_numpy(int)
    result = curate(frame, FEATURES, curation, template=template, train=TRAIN, codes=codes, **kwargs)
    return result.serializer.serialize(result.frame), result.record


def test_the_registry_holds_every_operation_and_the_api_is_pinned():
    assert set(CURATIONS.names()) == {"round", "bin", "describe", "drop-ids", "order", "missing"}
    assert set(tecurate.curation.__all__) == {
        "CURATIONS", "NONE", "OPERATIONS", "Chain", "Curated", "Description", "FitContext", "Fitted", "Operation",
        "TextTable", "curate", "humanize", "is_identifier", "parse_curation", "read_descriptions"}
    assert all(hasattr(tecurate.curation, name) for name in tecurate.curation.__all__)
    for operation in tecurate.curation.OPERATIONS:
        assert operation.description and operation.syntax.startswith(operation.name)


CASES = ["none", "round:2", "bin", "bin:10", "describe", "drop-ids", "order", "missing", "missing:skip",
         "round:3+bin:4+describe+drop-ids+order+missing:n/a"]


@pytest.mark.parametrize("curation", CASES)
@pytest.mark.parametrize("template", ["sentence", "kv", "json", "{capital_gain} and {job}"])
def test_no_operation_leaks_the_target_shift_or_id_column(curation, template):
    texts, _ = texts_of(curation, template=template)
    joined = "\n".join(texts)
    assert len(texts) == 120
    for secret in (SECRET_TARGET, SECRET_SHIFT, SECRET_ID, "TARGETNO", "label", "region", "rid"):
        assert secret not in joined


@pytest.mark.parametrize("curation", CASES)
def test_every_operation_is_deterministic_and_row_by_row(curation):
    """Same input, same texts; a row's text depends on the fitted step and that row alone."""
    frame = secret_frame()
    first, record = texts_of(curation, frame)
    again, record_again = texts_of(curation, frame)
    assert first == again and record == record_again
    shuffled = frame.iloc[list(range(80)) + list(range(119, 79, -1))].reset_index(drop=True)
    moved, _ = texts_of(curation, shuffled)
    assert moved[80:] == first[80:][::-1]


def test_round_keeps_k_significant_digits_of_every_number_column():
    frame = pd.DataFrame({"capital_gain": [48213.7, 0.012345, np.nan] * 30, "age": [39, 1234, 7] * 30,
                          "job": ["a"] * 90, "customer_code": ["x"] * 90, "row_number": [1] * 90,
                          "flag": [True] * 90, "label": ["TARGETNO"] * 90})
    texts, record = texts_of("round:2", frame)
    assert texts[0].startswith("The capital gain is 48000. The age is 39.")
    assert texts[1].startswith("The capital gain is 0.012. The age is 1200.")
    assert "capital gain" not in texts[2] and "The age is 7." in texts[2]
    assert "true" in texts[0] and record["steps"][0]["columns"] == ["capital_gain", "age", "row_number"]
    with pytest.raises(TecurateError, match="from 1 to 6"):
        parse_curation("round:9")
    with pytest.raises(TecurateError, match="from 1 to 6"):
        parse_curation("round:x")


def test_bin_edges_are_fitted_on_id_train_only():
    """Test rows far outside the training range move no edge: they fall in the top bin."""
    frame = secret_frame()
    _, before = texts_of("bin:3", frame)
    frame.loc[100:, "capital_gain"] = 1e12
    texts, after = texts_of("bin:3", frame)
    assert before["steps"][0]["edges"] == after["steps"][0]["edges"]
    assert all("The capital gain is high." in t for t in texts[100:])
    words = {t.split(". ")[0] for t in texts}
    assert words <= {"The capital gain is low", "The capital gain is medium", "The capital gain is high",
                     "The age is low", "The age is medium", "The age is high"}
    assert "flag" not in after["steps"][0]["edges"]  # bools are not numbers to bin


def test_bin_ten_gives_deciles_and_a_missing_value_stays_missing():
    texts, record = texts_of("bin:10")
    assert any("The capital gain is decile 10." in t for t in texts)
    assert len(record["steps"][0]["edges"]["capital_gain"]) == 9
    assert not texts[0].startswith("The capital gain")  # row 0 has no income


def test_describe_humanizes_or_reads_the_file_with_units(tmp_path):
    assert humanize("capital_gain") == humanize("CapitalGain") == humanize("capital.gain") == "capital gain"
    assert humanize("GDP_per_capita") == "GDP per capita"
    texts, _ = texts_of("describe", template="kv")
    assert texts[1].startswith("capital gain: ") and "customer code: C0000001" in texts[1]
    described = tmp_path / "cols.toml"
    described.write_text('age = { phrase = "age of the applicant", unit = "years" }\njob = "occupation"\n')
    texts, record = texts_of("describe", template="sentence", describe_file=described)
    assert "The age of the applicant is " in texts[1] and " years." in texts[1] and "The occupation is" in texts[1]
    assert record["steps"][0]["units"] == {"age": "years"}
    custom, _ = texts_of("describe", template="{age} old", describe_file=described)
    assert custom[1].endswith("years old")  # a custom template writes its own labels; the unit stays


@pytest.mark.parametrize(("content", "message"), [
    ('label = "the answer"\n', "not feature column"),
    ('age = 3\n', "must be a phrase"),
    ('age = { phrase = "x", colour = "red" }\n', "must be a phrase"),
    ('age = \n', "cannot read"),
])
def test_a_bad_describe_file_is_one_user_error(tmp_path, content, message):
    described = tmp_path / "cols.toml"
    described.write_text(content)
    with pytest.raises(TecurateError, match=message):
        texts_of("describe", describe_file=described)
    with pytest.raises(TecurateError, match="does not exist"):
        texts_of("describe", describe_file=tmp_path / "missing.toml")


def test_drop_ids_drops_codes_and_counters_but_not_measurements():
    texts, record = texts_of("drop-ids")
    assert record["steps"][0]["dropped"] == ["customer_code", "row_number"]
    assert "customer code" not in texts[3] and "row number" not in texts[3] and "The age is" in texts[3]
    n = 50
    assert not is_identifier(pd.Series(np.random.default_rng(1).normal(size=n)))  # continuous floats
    assert not is_identifier(pd.Series(np.random.default_rng(1).integers(0, 10**6, n)))  # incomes, not a counter
    assert not is_identifier(pd.Series(["a", "b"] * 25))
    assert not is_identifier(pd.Series([f"c{i}" for i in range(10)]))  # too few rows to tell


def test_order_puts_the_most_informative_column_first_fitted_on_train():
    frame = secret_frame()
    texts, record = texts_of("order", frame)
    order = record["steps"][0]["order"]
    assert order[0] == "capital_gain"  # the target is a threshold of it
    assert set(order) == set(FEATURES)
    assert texts[1].startswith("The capital gain is")
    assert all(record["steps"][0]["importance"][order[i]] >= record["steps"][0]["importance"][order[i + 1]]
               for i in range(len(order) - 1))


def test_missing_marks_or_skips_missing_cells():
    marked, _ = texts_of("missing")
    assert marked[0].startswith("The capital gain is unknown.")
    own, _ = texts_of("missing:n/a", template="kv")
    assert own[0].startswith("capital_gain: n/a;")
    skipped, _ = texts_of("missing:skip")
    plain, _ = texts_of("none")
    assert skipped == plain and not plain[0].startswith("The capital gain")


def test_composition_is_written_with_plus_or_a_list_and_runs_in_order():
    assert parse_curation("round:3+describe").spec == parse_curation(["round:3", "describe"]).spec == "round:3+describe"
    assert parse_curation("none").spec == "none" and parse_curation("bin").spec == "bin:3"
    texts, record = texts_of("round:2+describe+drop-ids")
    assert [s["operation"] for s in record["steps"]] == ["round:2", "describe", "drop-ids"]
    assert "customer code" not in texts[1] and texts[1].startswith("The capital gain is ")
    for bad, message in [("nope", "unknown curation 'nope'"), ("none+round", "cannot be combined"),
                         ("round+round:2", "twice"), ("describe:3", "takes no parameter"), ("round++bin", "empty")]:
        with pytest.raises(TecurateError, match=message):
            parse_curation(bad)


def test_audit_records_the_curation_and_fits_the_raw_route_unchanged(tmp_path):
    frame = make_frame(300)
    frame["row_id"] = np.arange(300)
    common = dict(target="label", shift_col="region", min_domain_rows=50, n_configs=2, families="logreg",
                  use_cache=False, embedder=NumbersEmbedder())
    plain = audit(frame, **common).to_dict()
    curated = audit(frame, curations="drop-ids+describe", **common).to_dict()
    assert plain["serialization"]["curation"] == {"name": "none", "steps": []}
    assert curated["serialization"]["curation"]["name"] == "drop-ids+describe"
    assert curated["serialization"]["columns"] == ["x", "plan"]
    assert "row_id" not in curated["serialization"]["example"]
    assert curated["config"]["curations"] == "drop-ids+describe"
    raw = [m["splits"] for m in plain["models"] if m["representation"] == "raw"]
    assert raw == [m["splits"] for m in curated["models"] if m["representation"] == "raw"]
    with pytest.raises(TecurateError, match="unknown curation"):
        audit(frame, curations="sharpen", **common)


def test_an_unused_describe_file_is_a_warning(tmp_path):
    described = tmp_path / "cols.toml"
    described.write_text('x = "the x value"\n')
    report = audit(make_frame(300), target="label", shift_col="region", min_domain_rows=50, n_configs=1,
                   families="logreg", use_cache=False, embedder=NumbersEmbedder(), describe_file=str(described))
    assert any("is unused" in w for w in report.warnings)
    json.dumps(report.to_dict())


class RecordingEmbedder(NumbersEmbedder):
    """Keeps every text the audit embeds."""

    identity = "fake-recording@1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts, batch_size):
        self.seen.extend(texts)
        return super().encode(texts, batch_size)


@pytest.mark.parametrize("curation", ["round:1", "bin:10", "describe", "drop-ids", "order", "missing",
                                      "order+missing+describe+bin:5"])
def test_no_text_an_audit_embeds_holds_the_target_shift_or_id_column(curation, tmp_path):
    frame = secret_frame(400)
    described = tmp_path / "cols.toml"
    described.write_text('age = { phrase = "age", unit = "years" }\n')
    recorder = RecordingEmbedder()
    audit(frame, target="label", shift_col="region", id_col="rid", min_domain_rows=50, n_configs=1,
          families="logreg", use_cache=False, embedder=recorder, curations=curation, describe_file=str(described))
    joined = "\n".join(recorder.seen)
    assert len(recorder.seen) > 100
    for secret in (SECRET_TARGET, "TARGETNO", SECRET_SHIFT, SECRET_ID):
        assert secret not in joined


def test_serialize_and_embed_write_the_audits_curated_texts(tmp_path):
    """The preview is the audit's text: fitted on the audit's ID-train rows, applied to every row."""
    from typer.testing import CliRunner

    from tecurate.cli import app
    from tecurate.pipeline import serialize_table

    frame = make_frame(300)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    common = dict(target="label", shift_col="region", min_domain_rows=50)
    texts = serialize_table(str(path), curations="bin:3+describe", **common)
    assert len(texts) == 300 and {t.split(". ")[0] for t in texts} == {"The x is low", "The x is medium", "The x is high"}
    recorder = RecordingEmbedder()
    audit(str(path), **common, curations="bin:3+describe", n_configs=1, families="logreg", use_cache=False,
          embedder=recorder)
    assert set(recorder.seen) <= set(texts)
    big = tmp_path / "big.csv"
    make_frame(1000).to_csv(big, index=False)
    result = CliRunner().invoke(app, ["serialize", str(big), "--target", "label", "--shift-col", "region",
                                      "--curations", "bin:3", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == serialize_table(str(big), curations="bin:3", target="label",
                                                         shift_col="region")[:2]
    assert result.stdout.startswith("The x is ")
