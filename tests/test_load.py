import gzip
import hashlib
import io

import pandas as pd
import pytest

import tecurate.data
from tecurate.data import INPUT_FORMATS, LoadedTable, read_table
from tecurate.errors import TecurateError

CSV = b"age,workclass,income\n39,State-gov,<=50K\n50,Self-emp,>50K\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_data_public_api_is_pinned():
    """The data stage's contract: exactly these names, each importable."""
    assert set(tecurate.data.__all__) == {
        "BUILTIN_TEMPLATES", "ColumnKind", "FRAME_FORMATS", "ID_TEST", "INPUT_FORMATS", "MAX_CLASSES", "LoadedTable", "OodSplit",
        "Serializer", "ShiftInfo", "Source", "Splits", "Target", "check_column", "check_columns", "column_kind", "column_texts",
        "column_names", "ChunkedFile", "Pooled", "open_chunked", "pooled_sample",
        "feature_columns", "format_value", "id_keys", "load_table", "make_serializer", "prepare_target", "read_table",
        "row_keys", "split_by_column", "split_by_mask",
        "split_synthetic", "stratified_sample",
    }
    assert all(hasattr(tecurate.data, name) for name in tecurate.data.__all__)


def test_csv_round_trip_and_hash(tmp_path):
    path = write(tmp_path, "adult.csv", CSV)
    table = read_table(path)
    assert isinstance(table, LoadedTable)
    assert table.sha256 == hashlib.sha256(CSV).hexdigest()
    assert (table.n_rows, table.n_columns, table.input_format) == (2, 3, "csv")
    assert table.path == path
    assert list(table.frame.columns) == ["age", "workclass", "income"]
    assert table.frame["age"].tolist() == [39, 50]


def test_input_is_never_modified(tmp_path):
    path = write(tmp_path, "adult.csv", CSV)
    read_table(path)
    assert (tmp_path / "adult.csv").read_bytes() == CSV


def test_bom_is_accepted(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + CSV)
    table = read_table(path)
    assert list(table.frame.columns)[0] == "age"


def test_latin1_file_needs_encoding(tmp_path):
    data = "name,label\ncafé,a\nthé,b\n".encode("latin-1")
    path = write(tmp_path, "latin.csv", data)
    with pytest.raises(TecurateError, match="re-save it as UTF-8 or pass --encoding") as err:
        read_table(path)
    assert "latin.csv" in str(err.value) and "\n" not in str(err.value)
    table = read_table(path, encoding="latin-1")
    assert table.frame["name"].tolist() == ["café", "thé"]


def test_unknown_encoding(tmp_path):
    path = write(tmp_path, "a.csv", CSV)
    with pytest.raises(TecurateError, match="unknown --encoding 'klingon'"):
        read_table(path, encoding="klingon")


@pytest.mark.parametrize("data", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, data):
    path = write(tmp_path, "empty.csv", data)
    with pytest.raises(TecurateError, match="empty.csv.*is empty"):
        read_table(path)


def test_header_only_csv(tmp_path):
    path = write(tmp_path, "header.csv", b"age,workclass\n")
    with pytest.raises(TecurateError, match="header but no data rows"):
        read_table(path)


def test_duplicate_csv_columns(tmp_path):
    path = write(tmp_path, "dup.csv", b"a,b,a\n1,2,3\n")
    with pytest.raises(TecurateError, match="duplicate column names: 'a'"):
        read_table(path)


def test_blank_header_cells_are_not_duplicates(tmp_path):
    path = write(tmp_path, "blank.csv", b"a,,\n1,2,3\n")
    assert read_table(path).n_columns == 3


def test_unparseable_csv(tmp_path):
    path = write(tmp_path, "bad.csv", b'a,b\n1,2\n3,4,5,6\n"unterminated\n')
    with pytest.raises(TecurateError, match="cannot parse CSV '.*bad.csv'"):
        read_table(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(TecurateError, match="not found"):
        read_table(str(tmp_path / "nope.csv"))
    with pytest.raises(TecurateError, match="is a directory"):
        read_table(str(tmp_path))


def test_unknown_extension_needs_input_format(tmp_path):
    path = write(tmp_path, "data.txt", CSV)
    with pytest.raises(TecurateError, match=r"cannot tell the format.*--input-format"):
        read_table(path)
    assert read_table(path, input_format="csv").n_rows == 2


def test_unknown_input_format(tmp_path):
    path = write(tmp_path, "a.csv", CSV)
    with pytest.raises(TecurateError, match="unknown --input-format 'xlsx'"):
        read_table(path, input_format="xlsx")


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"age": [39, 50], "workclass": ["State-gov", None], "y": [0.0, 1.0]})
    for name in ("t.parquet", "t.pq"):
        path = str(tmp_path / name)
        frame.to_parquet(path)
        table = read_table(path)
        assert table.input_format == "parquet"
        pd.testing.assert_frame_equal(table.frame, frame)


def test_parquet_duplicate_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = str(tmp_path / "dup.parquet")
    pq.write_table(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"]), path)
    with pytest.raises(TecurateError, match="duplicate column names: 'a'"):
        read_table(path)


def test_parquet_damaged(tmp_path):
    path = write(tmp_path, "bad.parquet", b"PAR1 not really parquet")
    with pytest.raises(TecurateError, match="cannot parse Parquet"):
        read_table(path)


def test_parquet_named_csv_gets_a_hint(tmp_path):
    path = str(tmp_path / "really.csv")
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(TecurateError, match="--input-format parquet"):
        read_table(path)


def test_jsonl_round_trip(tmp_path):
    data = b'{"age": 39, "workclass": "State-gov"}\n\n{"age": 50, "income": ">50K"}\n'
    for name in ("t.jsonl", "t.ndjson"):
        table = read_table(write(tmp_path, name, data))
        assert table.input_format == "jsonl"
        assert list(table.frame.columns) == ["age", "workclass", "income"]
        assert table.frame["age"].tolist() == [39, 50]
        assert table.frame["workclass"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}\n{"a": \n', "line 2 is not valid JSON"),
        (b'{"a": 1}\n[1, 2]\n', "line 2 is a JSON list, not an object"),
        (b"{}\n{}\n", "no columns"),
    ],
)
def test_jsonl_errors(tmp_path, data, message):
    with pytest.raises(TecurateError, match=message):
        read_table(write(tmp_path, "t.jsonl", data))


def test_gzipped_csv(tmp_path):
    table = read_table(write(tmp_path, "t.csv.gz", gzip.compress(CSV)))
    assert table.n_rows == 2 and table.input_format == "csv"


def test_stdin_defaults_to_csv():
    table = read_table("-", stdin=io.BytesIO(CSV))
    assert (table.path, table.input_format, table.n_rows) == ("-", "csv", 2)
    assert table.sha256 == hashlib.sha256(CSV).hexdigest()


def test_stdin_jsonl_and_empty():
    table = read_table("-", input_format="jsonl", stdin=io.BytesIO(b'{"a": 1}\n{"a": 2}\n'))
    assert table.frame["a"].tolist() == [1, 2]
    with pytest.raises(TecurateError, match="<stdin> is empty"):
        read_table("-", stdin=io.BytesIO(b""))


def test_formats_constant():
    assert INPUT_FORMATS == ("csv", "parquet", "jsonl")


@pytest.mark.parametrize(
    ("codec", "advice"),
    [("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("utf-32", "utf-32")],
)
@pytest.mark.parametrize("given", ["utf-8", "latin-1"])
def test_wide_unicode_gets_advice_that_works(tmp_path, codec, advice, given):
    """latin-1, the old advice, "decoded" UTF-16 into a NUL between every letter."""
    text = "name,label\ncafé,a\nthé,b\n" * 20
    path = write(tmp_path, "wide.csv", text.encode(codec))
    with pytest.raises(TecurateError, match=f"looks like {advice.upper()} text, not {given}; "
                                            f"pass --encoding {advice}$") as err:
        read_table(path, encoding=given)
    assert "\x00" not in str(err.value)
    table = read_table(path, encoding=advice)
    assert list(table.frame.columns) == ["name", "label"]
    assert table.frame["name"].tolist()[:2] == ["café", "thé"]


def test_utf16_csv_audits_with_the_advised_encoding(tmp_path, fake_embedder):
    from conftest import make_frame
    from typer.testing import CliRunner

    from tecurate.cli import app

    path = tmp_path / "excel.csv"
    make_frame().to_csv(path, index=False, encoding="utf-16")
    args = ["audit", str(path), "--target", "label", "--shift-col", "region", "--min-domain-rows", "100",
            "--no-cache", "--n-jobs", "1", "--families", "logreg", "--n-configs", "2", "--quiet"]
    first = CliRunner().invoke(app, [*args, "--encoding", "latin-1"])
    assert first.exit_code == 2 and "pass --encoding utf-16" in first.stderr
    assert CliRunner().invoke(app, [*args, "--encoding", "utf-16"]).exit_code in (0, 1)


def test_a_pipe_is_read_once_for_every_repeat(tmp_path, fake_embedder):
    """`<(cat t.csv)` with --repeats: the second seed read the drained pipe and found it empty."""
    import json
    import os
    import threading

    from conftest import make_frame
    from typer.testing import CliRunner

    from tecurate.cli import app

    data = make_frame().to_csv(index=False).encode()
    read_end, write_end = os.pipe()  # what bash's <(...) hands over: /dev/fd/N, a pipe

    def feed() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        result = CliRunner().invoke(app, [
            "audit", f"/dev/fd/{read_end}", "--input-format", "csv", "--target", "label", "--shift-col",
            "region", "--min-domain-rows", "100", "--no-cache", "--n-jobs", "1", "--families", "logreg",
            "--n-configs", "2", "--repeats", "2", "--format", "json", "--quiet"])
    finally:
        writer.join(timeout=10)
        os.close(read_end)
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["stability"]["seeds"] == [0, 1]
    assert report["input"]["sha256"] == hashlib.sha256(data).hexdigest()
