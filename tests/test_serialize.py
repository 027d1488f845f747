import json
import time

import numpy as np
import pandas as pd
import pytest

from tecurate.data import BUILTIN_TEMPLATES, Serializer, feature_columns, format_value, make_serializer
from tecurate.errors import TecurateError


@pytest.fixture
def adult():
    return pd.DataFrame(
        {
            "age": [39, 50, 38],
            "workclass": ["State-gov", None, "Private"],
            "total_day_minutes": [265.1, 161.6, np.nan],
            "smoker": [True, False, True],
        }
    )


COLUMNS = ["age", "workclass", "total_day_minutes", "smoker"]


def test_builtin_templates():
    assert BUILTIN_TEMPLATES == ("sentence", "kv", "json")


def test_sentence(adult):
    texts = make_serializer("sentence", COLUMNS).serialize(adult)
    assert texts == [
        "The age is 39. The workclass is State-gov. The total day minutes is 265.1. "
        "The smoker is true.",
        "The age is 50. The total day minutes is 161.6. The smoker is false.",
        "The age is 38. The workclass is Private. The smoker is true.",
    ]


def test_kv(adult):
    texts = make_serializer("kv", COLUMNS).serialize(adult)
    assert texts == [
        "age: 39; workclass: State-gov; total_day_minutes: 265.1; smoker: true",
        "age: 50; total_day_minutes: 161.6; smoker: false",
        "age: 38; workclass: Private; smoker: true",
    ]


def test_json(adult):
    texts = make_serializer("json", COLUMNS).serialize(adult)
    assert texts[0] == (
        '{"age": 39, "workclass": "State-gov", "total_day_minutes": 265.1, "smoker": true}'
    )
    assert texts[1] == '{"age": 50, "total_day_minutes": 161.6, "smoker": false}'
    assert [list(json.loads(t)) for t in texts] == [
        COLUMNS,
        ["age", "total_day_minutes", "smoker"],
        ["age", "workclass", "smoker"],
    ]


def test_custom_template(adult):
    serializer = make_serializer("{age} y/o, {workclass} {{literal}} {smoker}", COLUMNS)
    assert serializer.serialize(adult) == [
        "39 y/o, State-gov {literal} true",
        "50 y/o,  {literal} false",
        "38 y/o, Private {literal} true",
    ]


def test_all_missing_row():
    df = pd.DataFrame({"a": [np.nan, 1.0], "b": [None, "x"]})
    assert make_serializer("sentence", ["a", "b"]).serialize(df)[0] == ""
    assert make_serializer("kv", ["a", "b"]).serialize(df)[0] == ""
    assert make_serializer("json", ["a", "b"]).serialize(df)[0] == "{}"


def test_empty_frame():
    df = pd.DataFrame({"a": pd.Series([], dtype=float)})
    assert make_serializer("sentence", ["a"]).serialize(df) == []


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{age} {income}", r"'\{income\}' is not a feature column; use one of: age, workclass"),
        ("no fields here", "unknown template 'no fields here'"),
        ("{{only literal}}", "has no \\{column\\} fields"),
        ("{age} {", "unmatched '\\{'"),
        ("{age} }", "unmatched '\\}'"),
        ("{}", "'\\{\\}' is not a feature column"),
        ("{age.__class__}", "is not a feature column"),
        ("{age[0]}", "is not a feature column"),
    ],
)
def test_custom_template_errors(template, message):
    with pytest.raises(TecurateError, match=message):
        make_serializer(template, COLUMNS)


def test_template_cannot_name_the_target():
    df = pd.DataFrame({"age": [1], "income": [">50K"]})
    features = feature_columns(df, "income")
    with pytest.raises(TecurateError, match="not a feature column"):
        make_serializer("{age} {income}", features)


def test_template_escapes_braces_in_a_column_name():
    """The error listed 'a{b}' as usable, but no field could name it."""
    df = pd.DataFrame({"a{b}": [1], "c\\d": ["x"], " pad ": [2], "e}": [3]})
    columns = list(df.columns)
    with pytest.raises(TecurateError, match=r"use one of: a\\\{b\\\}, c\\\\d,  pad , e\\\}$") as err:
        make_serializer("{a}", columns)
    assert "\n" not in str(err.value)
    with pytest.raises(TecurateError, match=r"unmatched '\{' .* \\\{ or \\\} for one in a column name"):
        make_serializer("{a{b}}", columns)
    texts = make_serializer(r"{a\{b\}} {c\\d} {c\d} [{ pad }] [{pad}] {e\}} {{lit}}", columns).serialize(df)
    assert texts == ["1 x x [2] [2] 3 {lit}"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.array([1, 2]), "[1, 2]"),
        (np.array([0.1 + 0.2, np.nan]), "[0.3, null]"),
        ([np.array(["a", "b"]), []], '[["a", "b"], []]'),
        ({"b": 1, "a": [True, None]}, '{"a": [true, null], "b": 1}'),
        ([" padded ", "", "q\"uote"], '[" padded ", "", "q\\"uote"]'),
        ([float("inf"), pd.Timestamp("2020-01-05")], '["inf", "2020-01-05"]'),
        ({3, 1, 2}, "[1, 2, 3]"),
        (b"caf\xc3\xa9", "café"),
    ],
)
def test_nested_and_binary_values(value, text):
    assert format_value(value) == text


def test_non_utf8_bytes_have_no_text():
    with pytest.raises(TecurateError, match="not UTF-8"):
        format_value(b"\xff")
    df = pd.DataFrame({"blob": pd.Series([b"ok", b"\xff"], dtype=object)})
    with pytest.raises(TecurateError, match="column 'blob' holds binary data .* --drop-cols 'blob'"):
        make_serializer("kv", ["blob"]).serialize(df)


def test_serializer_errors(adult):
    with pytest.raises(TecurateError, match="no feature columns"):
        make_serializer("kv", [])
    with pytest.raises(TecurateError, match="listed twice"):
        make_serializer("kv", ["age", "age"])
    with pytest.raises(TecurateError, match="not in the table: salary"):
        make_serializer("kv", ["age", "salary"]).serialize(adult)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (39, "39"),
        (np.int64(39), "39"),
        (129.0, "129"),
        (np.float32(129.0), "129"),
        (0.1 + 0.2, "0.3"),
        (265.1, "265.1"),
        (np.float32(265.1), "265.1"),
        (-2.5, "-2.5"),
        (1 / 3, "0.333333"),
        (123456.7, "123457"),
        (0.000123456789, "0.000123457"),
        (1e-7, "1e-07"),
        (1e20, "1e+20"),
        (-0.0, "0"),
        (0.99999999, "1"),
        (float("inf"), "inf"),
        (True, "true"),
        (np.bool_(False), "false"),
        ("  State-gov ", "State-gov"),
        (pd.Timestamp("2020-01-05"), "2020-01-05"),
        (pd.Timestamp("2020-01-05 13:45"), "2020-01-05 13:45:00"),
        ([1, "a"], '[1, "a"]'),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(
    "value", [None, np.nan, float("nan"), pd.NA, pd.NaT, "", "   ", np.float64("nan")]
)
def test_format_value_missing(value):
    assert format_value(value) is None


def test_column_formatting_matches_format_value():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(size=500) * 10.0 ** rng.integers(-6, 12, 500),
            [0.0, -0.0, 1e16, np.inf, np.nan],
        ]
    )
    df = pd.DataFrame({"x": values})
    texts = make_serializer("{x}", ["x"]).serialize(df)
    assert texts == [format_value(v) or "" for v in values]
    ints = pd.DataFrame({"n": pd.array([1, None, -7], dtype="Int64")})
    assert make_serializer("kv", ["n"]).serialize(ints) == ["n: 1", "", "n: -7"]


def test_integral_float_column_with_nans_prints_ints():
    df = pd.DataFrame({"cnt": [129.0, np.nan, 3.0]})
    assert make_serializer("kv", ["cnt"]).serialize(df) == ["cnt: 129", "", "cnt: 3"]


def test_values_stay_data():
    nasty = '<script>alert("x")</script>\n{age} {{ }} "quoted"'
    df = pd.DataFrame({"age": [39], "note": [nasty]})
    sentence = make_serializer("sentence", ["age", "note"]).serialize(df)[0]
    assert sentence == f"The age is 39. The note is {nasty}."
    custom = make_serializer("[{note}]", ["age", "note"]).serialize(df)[0]
    assert custom == f"[{nasty}]"
    decoded = json.loads(make_serializer("json", ["age", "note"]).serialize(df)[0])
    assert decoded == {"age": 39, "note": nasty}


def test_json_non_ascii_and_non_finite():
    df = pd.DataFrame({"city": ["Zürich"], "ratio": [np.inf]})
    text = make_serializer("json", ["city", "ratio"]).serialize(df)[0]
    assert text == '{"city": "Zürich", "ratio": "inf"}'
    assert json.loads(text)["ratio"] == "inf"


def test_shuffle_is_seeded():
    columns = [f"c{i}" for i in range(12)]
    first = make_serializer("kv", columns, shuffle_seed=3)
    assert first.columns == make_serializer("kv", columns, shuffle_seed=3).columns
    assert sorted(first.columns) == sorted(columns)
    assert first.columns != tuple(columns)
    assert first.columns != make_serializer("kv", columns, shuffle_seed=4).columns
    assert make_serializer("kv", columns).columns == tuple(columns)


def test_serializer_is_a_plain_value():
    serializer = make_serializer("kv", ["a", "b"])
    assert serializer == Serializer("kv", ("a", "b"))
    assert "_segments" not in repr(serializer)


def test_no_leakage_of_target_and_shift_column():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "hours_per_week": rng.normal(40, 5, n).round(1),
            "salary_bracket": rng.choice(["TARGETLOW", "TARGETHIGH"], n),
            "workclass": rng.choice(["State-gov", "Private"], n),
            "census_region": rng.choice(["SHIFTNORTH", "SHIFTSOUTH"], n),
        }
    )
    features = feature_columns(df, "salary_bracket", shift_col="census_region")
    for template in (*BUILTIN_TEMPLATES, "{age} {workclass}"):
        texts = make_serializer(template, features, shuffle_seed=1).serialize(df)
        blob = "\n".join(texts).lower()
        for leaked in ("salary", "bracket", "census", "region", "target", "shift"):
            assert leaked not in blob, (template, leaked)


def test_serialize_is_fast():
    rng = np.random.default_rng(0)
    n = 50_000
    columns = {}
    for i in range(7):
        columns[f"num_{i}"] = rng.normal(40, 10, n).round(2)
    for i in range(6):
        columns[f"int_{i}"] = rng.integers(0, 100, n)
    for i in range(7):
        columns[f"cat_{i}"] = rng.choice(["alpha", "beta", "gamma", "delta"], n)
    df = pd.DataFrame(columns)
    serializer = make_serializer("sentence", list(df.columns))
    start = time.perf_counter()
    texts = serializer.serialize(df)
    elapsed = time.perf_counter() - start
    assert len(texts) == n
    assert elapsed < 2.0, f"serializing 50k x 20 took {elapsed:.2f}s"
