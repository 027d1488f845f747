"""Tables in memory: ``tecurate.audit`` on a pandas or polars DataFrame or a pyarrow Table gives
the report the same data gives from a file, takes the settings as keywords, and fails on the
frame as it fails on a file (one ``TecurateError``, the same message)."""

from __future__ import annotations

import jsonschema
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conftest import NumbersEmbedder, make_frame
from test_pipeline import comparable as same_run

from tecurate import AuditConfig, TecurateError, audit
from tecurate.data import FRAME_FORMATS, INPUT_FORMATS, load_table
from tecurate.pipeline import embed_table, serialize_table
from tecurate.reporting import schema

FAST = dict(families=("logreg", "xgboost"), n_configs=2, n_jobs=1, use_cache=False, min_domain_rows=100,
            n_bootstrap=100)


def comparable(report) -> dict:
    """The report without what differs between two runs on the same data, or names the source."""
    data = same_run(report)
    for key in ("path", "sha256", "format"):
        data["input"].pop(key)
    return data


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    frame = make_frame()
    frame.loc[::50, "x"] = np.nan  # missing values travel through every library
    return frame


@pytest.fixture(scope="module")
def from_file(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("frames") / "table.csv"
    frame.to_csv(path, index=False)
    return audit(str(path), AuditConfig(target="label", shift_col="region", **FAST), embedder=NumbersEmbedder())


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_a_frame_gives_the_report_of_the_same_data_as_a_file(kind, frame, from_file):
    """On main, audit(df, ...) failed with pandas' 'truth value of a DataFrame is ambiguous'."""
    data = {"pandas": lambda: frame, "polars": lambda: pl.from_pandas(frame),
            "arrow": lambda: pa.Table.from_pandas(frame, preserve_index=False)}[kind]()
    report = audit(data, target="label", shift_col="region", embedder=NumbersEmbedder(), **FAST)
    assert comparable(report) == comparable(from_file)
    assert report.input["format"] == kind
    assert report.input["path"] == {"pandas": "<pandas.DataFrame>", "polars": "<polars.DataFrame>",
                                    "arrow": "<pyarrow.Table>"}[kind]
    jsonschema.validate(report.to_dict(), schema())


def test_the_schema_names_every_format_a_report_can_record():
    assert schema()["properties"]["input"]["properties"]["format"]["enum"] == [*INPUT_FORMATS, *FRAME_FORMATS]


def test_the_content_hash_ignores_the_index_and_the_library_but_not_the_data(frame):
    digest = load_table(frame).sha256
    assert load_table(frame.copy()).sha256 == digest
    shuffled_index = frame.set_axis(np.random.default_rng(0).permutation(len(frame)))
    assert load_table(shuffled_index).sha256 == digest
    assert load_table(pl.from_pandas(frame)).sha256 == digest
    assert load_table(pa.Table.from_pandas(frame)).sha256 == digest
    edited = frame.copy()
    edited.loc[3, "plan"] = "other"
    assert load_table(edited).sha256 != digest
    assert load_table(frame.iloc[::-1]).sha256 != digest  # row order is data: it places rows in splits
    assert load_table(frame.rename(columns={"plan": "tier"})).sha256 != digest
    assert load_table(frame.astype({"x": "float32"})).sha256 != digest


def test_any_arrow_stream_is_read_and_the_callers_frame_is_left_as_it_was(frame):
    reader = pa.Table.from_pandas(frame, preserve_index=False).to_reader()
    table = load_table(reader)
    assert (table.path, table.input_format) == ("<pyarrow.RecordBatchReader>", "arrow")
    mine = frame.set_axis(range(100, 100 + len(frame)))
    before = mine.copy()
    audit(mine, target="label", shift_col="region", embedder=NumbersEmbedder(), **{**FAST, "max_rows": 400, "min_domain_rows": 50})
    pd.testing.assert_frame_equal(mine, before)


def test_column_names_become_text_like_a_files_header():
    numbered = pd.DataFrame({0: [1, 2, 3], 1: ["a", "b", "a"]})
    assert list(load_table(numbered).frame.columns) == ["0", "1"]
    with pytest.raises(TecurateError, match=r"duplicate column names: '1'"):
        load_table(pd.DataFrame([[1, 2]], columns=[1, "1"]))


def _file_error(tmp_path, frame: pd.DataFrame, **settings) -> str:
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(TecurateError) as caught:
        audit(str(path), embedder=NumbersEmbedder(), **settings)
    return str(caught.value).replace(f"'{path}'", "<pandas.DataFrame>")


@pytest.mark.parametrize("settings", [dict(target="lable"), dict(target="label", shift_col="label"),
                                      dict(target="x"), dict(target="label", drop_cols="nope")])
def test_a_frame_fails_with_the_message_of_the_same_data_in_a_file(settings, tmp_path):
    frame = make_frame(200)
    with pytest.raises(TecurateError) as caught:
        audit(frame, embedder=NumbersEmbedder(), **settings)
    assert str(caught.value) == _file_error(tmp_path, frame, **settings)


def test_an_empty_frame_fails_like_an_empty_file(tmp_path):
    header_only = make_frame(10).iloc[:0]
    with pytest.raises(TecurateError, match=r"^input <pandas.DataFrame> has a header but no data rows$"):
        audit(header_only, target="label")
    with pytest.raises(TecurateError, match=r"^input <pyarrow.Table> has no columns"):
        audit(pa.table({}), target="label")


@pytest.mark.parametrize("data, message", [
    ([1, 2, 3], r"^cannot audit a list; pass a file path, '-' for stdin, a pandas or polars DataFrame"),
    (pd.Series([1, 2]), r"^cannot audit a Series \(one column: pass the DataFrame\)"),
    (pl.DataFrame({"a": [1]}).lazy(), r"^cannot audit a LazyFrame \(a LazyFrame: \.collect\(\) it first\)"),
    (pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])),
     r"multi-level column names"),
])
def test_what_is_not_a_table_is_one_clear_error(data, message):
    with pytest.raises(TecurateError, match=message):
        audit(data, target="label")


def test_input_format_is_for_files_only(frame):
    with pytest.raises(TecurateError, match=r"--input-format csv is for files; DATA is a DataFrame"):
        audit(frame, target="label", input_format="csv")


def test_keyword_settings_are_the_settings_tables_names(frame):
    with pytest.raises(TecurateError, match=r"^unknown setting 'n_config' \(did you mean 'n_configs'\?\)"):
        audit(frame, target="label", n_config=3)
    with pytest.raises(TecurateError, match=r"^'max_regression' is a setting of compare, not of an audit"):
        audit(frame, target="label", max_regression=0.1)
    with pytest.raises(TecurateError, match=r"^give either an AuditConfig or settings \(shift_col\), not both"):
        audit(frame, AuditConfig(target="label"), shift_col="region")
    with pytest.raises(TecurateError, match=r"^target is required"):
        audit(frame, shift_col="region")
    with pytest.raises(TecurateError, match=r"^--min-domain-rows must be at least 1$"):
        audit(frame, target="label", min_domain_rows=0)


def test_list_settings_take_a_list_a_tuple_or_a_comma_separated_string(frame):
    texts = {}
    for drop in (["plan"], ("plan",), "plan"):
        texts[repr(drop)] = serialize_table(frame, target="label", shift_col="region", drop_cols=drop, limit=3)
    assert len({tuple(t) for t in texts.values()}) == 1
    assert all("plan" not in text for text in texts["'plan'"])


def test_serialize_and_embed_read_a_frame_as_the_audit_does(frame, tmp_path):
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    config = AuditConfig(target="label", shift_col="region", use_cache=False)
    assert serialize_table(pl.from_pandas(frame), config) == serialize_table(str(path), config)
    from_frame, _ = embed_table(frame, config, embedder=NumbersEmbedder())
    from_path, _ = embed_table(path, config, embedder=NumbersEmbedder())
    np.testing.assert_array_equal(from_frame, from_path)


def test_arrow_backed_pandas_columns_are_read_like_a_parquet_files(frame):
    """A frame from pd.read_parquet(..., dtype_backend="pyarrow"): its list column crashed the
    audit with `unhashable type: 'numpy.ndarray'`; now it is text, as in a Parquet file."""
    assert load_table(frame.convert_dtypes(dtype_backend="pyarrow")).sha256 == load_table(frame).sha256
    tags = pd.Series([[1], [2, 3], []] * 200, dtype=pd.ArrowDtype(pa.list_(pa.int64())))
    texts = serialize_table(frame.assign(tags=tags), target="label", shift_col="region", limit=2)
    assert texts[0].endswith("The tags is [1].") and texts[1].endswith("The tags is [2, 3].")
