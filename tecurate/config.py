"""The settings table and the resolved audit configuration.

Every knob is declared once, as a :class:`Setting` (name, type, default, bounds, help, group and
the commands that take it). Everything else is derived from the table: the fields of
:class:`AuditConfig` and their validation, the CLI options and their help, the keys a config
file may hold, and the README's flag table. Plug-ins (gates) declare their own thresholds the
same way; they join the table here. No other module states a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from tecurate.analysis import BASELINE, GATES, SPURIOUS_SETTINGS
from tecurate.curation import parse_curation
from tecurate.embedding import precision_choices
from tecurate.engines import ENGINES
from tecurate.errors import TecurateError
from tecurate.grid import FAMILIES, MAX_SEED, default_families
from tecurate.settings import AUDIT, AUDIT_COMMANDS, COMPARE, EMBED, SERIALIZE, Setting, parse_list, require
from tecurate.simulate import SETTINGS as SIMULATE_SETTINGS
from tecurate.sweeps import SETTINGS as SWEEP_SETTINGS
from tecurate.status import FAIL_ON


def _family_names() -> tuple[str, ...]:
    return FAMILIES.names()


def _engine_names() -> tuple[str, ...]:
    return ENGINES.names()


CORE_SETTINGS: tuple[Setting, ...] = (
    Setting("target", None, "Target (label) column: 2 to 50 classes; rows with a missing label are dropped "
            "and counted.", "input", required=True, short="-t", commands=(AUDIT, SERIALIZE, EMBED),
            shown_default="required"),
    Setting("shift_col", None, "Column whose values are domains: ID = --id-values, every other value with at "
            "least --min-domain-rows rows is its own OOD split ood:<value>.", "split", optional=True,
            commands=(AUDIT, SERIALIZE, EMBED)),
    Setting("id_values", None, "Comma-separated ID values of --shift-col.", "split", kind="list",
            optional=True, shown_default="most frequent"),
    Setting("ood_path", None, "A second file with the same columns: the OOD rows (without the target "
            "column: unlabelled). A copy of DATA is an error.", "split", optional=True, flag="--ood"),
    Setting("ood_unlabeled", False, "Ignore the --ood file's labels: estimate OOD accuracy without them "
            "(ood_estimates, agreement).", "split", kind="bool"),
    Setting("min_domain_rows", 200, "Smallest domain that becomes its own OOD split.", "split", kind="int",
            low=1),
    Setting("synthetic_quantile", 0.8, "Without a shift, rows above this quantile of the first principal "
            "component of the raw features are OOD.", "split", kind="float", low=0.0, high=1.0,
            open_low=True, open_high=True),
    Setting("test_size", 0.3, "Share of ID rows held out (stratified, seeded) as id_test.", "split",
            kind="float", low=0.05, high=0.9),
    Setting("id_col", None, "Column naming each row: the id_test split and the --max-rows sample hash it "
            "instead of the row's content, so an edited row keeps its place; never a feature.", "split",
            optional=True, commands=(AUDIT, SERIALIZE, EMBED), shown_default="row content"),
    Setting("drop_cols", (), "Comma-separated columns to leave out (ids, free text).", "input", kind="list",
            commands=(AUDIT, SERIALIZE, EMBED), shown_default=""),
    Setting("strict", False, "Stop (exit 2, before embedding) instead of warning when a feature column "
            "leaks the target: a copy of it, or a perfect predictor of it on ID-train that holds on ID-test.",
            "input", kind="bool"),
    Setting("max_rows", 20_000, "Stratified (target x domain), seeded sample of at most N rows, drawn before "
            "any row is embedded; 0: every row. The report says how many rows it used and why "
            "(validation/RESULTS.md §9: 20,000 rows gave the verdict and gate statuses of a 50,000-row audit).",
            "input", kind="int", optional=True, low=0),
    Setting("input_format", None, "csv, parquet or jsonl.", "input", optional=True,
            choices=("csv", "parquet", "jsonl"), commands=(AUDIT, SERIALIZE, EMBED),
            shown_default="by extension"),
    Setting("encoding", "utf-8", "Text encoding of CSV/JSONL input.", "input",
            commands=(AUDIT, SERIALIZE, EMBED)),
    Setting("template", "sentence", "Row-to-text template: sentence, kv, json, or a custom text with "
            "{column} fields.", "embedding", commands=(AUDIT, SERIALIZE, EMBED)),
    Setting("curations", "none", "Curation of the text before embedding: none, or operations joined by +: "
            "round[:k], bin[:k], describe, drop-ids, order, missing[:word|skip] (docs/sweep.md); fitted on "
            "ID-train, the raw route unchanged.", "embedding", commands=(AUDIT, SERIALIZE, EMBED)),
    Setting("describe_file", None, "TOML file of column descriptions for the describe curation: "
            "name = \"phrase\" or name = { phrase = \"...\", unit = \"...\" }.", "embedding", optional=True,
            flag="--describe", shown_default="humanized names", commands=(AUDIT, SERIALIZE, EMBED)),
    Setting("embedder", None, "sentence-transformers model name or local folder.", "embedding",
            optional=True, commands=(AUDIT, EMBED), shown_default="packaged all-MiniLM-L6-v2"),
    Setting("embeddings", None, "A .npy matrix of your own vectors, row i for row i of DATA (e.g. written by "
            "'tecurate embed', or by any embedder): audited as the te representation instead of embedding "
            "the rows; the report records its path and sha256.", "embedding", optional=True,
            shown_default="embed the rows"),
    Setting("embedding_col", None, "Column of DATA holding each row's vector (a Parquet list or fixed-size "
            "list), or a pattern such as 'emb_*' naming one numeric column per dimension: audited like "
            "--embeddings; never serialized, never a raw feature.", "embedding", optional=True),
    Setting("device", "auto", "Embedding device.", "embedding", choices=("auto", "cpu", "cuda"),
            commands=(AUDIT, EMBED)),
    Setting("precision", "auto", "Embedding precision: auto (int8 on a CPU with VNNI int8 instructions, "
            "where int8 audits agree with fp32 within the seed-to-seed tolerance; fp32 elsewhere and on "
            "CUDA; the report says which and why), fp32, int8 (CPU only, 1.5x to 2.7x faster embedding "
            "depending on AVX-512 VNNI, mean cosine 0.99 to fp32, own cache entries; needs "
            "'tecurate[fast]'), or a backend by name (onnx-fp32: torch-free fp32); a plug-in backend adds its own (docs/embeddings.md).", "embedding",
            choices=precision_choices, commands=(AUDIT, EMBED)),
    Setting("batch_size", None, "Embedding batch size.", "embedding", kind="int", optional=True, low=1,
            commands=(AUDIT, EMBED),
            shown_default="16 on CPU, two batches at a time (64 with int8); 256 on CUDA"),
    Setting("cache_dir", None, "Cache folder for embeddings, model fits and the reports of audits, which an "
            "identical audit (same input bytes, settings, model and code) reuses ($TECURATE_CACHE_DIR also works).", "embedding", optional=True, commands=(AUDIT, EMBED),
            shown_default="~/.cache/tecurate"),
    Setting("use_cache", True, "Neither read nor write the caches (embeddings, model fits, reports).", "embedding",
            kind="bool", flag="--no-cache", commands=(AUDIT, EMBED)),
    Setting("families", default_families(), "Comma-separated model families.", "grid",
            kind="list", choices=_family_names, item="model family"),
    Setting("n_configs", 12, "Configurations of the fixed design per family (every one of a smaller grid: the "
            "report says how many); each is fitted on every route of --representations.", "grid",
            kind="int", low=1),
    Setting("n_jobs", -1, "Parallel model fits (threads, one BLAS/OpenMP thread each); -1: all cores.",
            "grid", kind="int"),
    Setting("engine", "local", "Where embedding and model fits run: local (this process), or ray (a Ray cluster: "
            "--ray-address, else $RAY_ADDRESS, else a Ray started on this machine for the run; needs "
            "'tecurate[ray]'). The report is the same.", "engine", choices=_engine_names, item="engine",
            commands=(AUDIT, EMBED)),
    Setting("ray_address", None, "Running Ray cluster for --engine ray (host:port, or ray://host:port for Ray "
            "Client).", "engine", optional=True, commands=(AUDIT, EMBED),
            shown_default="$RAY_ADDRESS, else a local Ray"),
    Setting("max_fit_rows", 20_000, "Fit every model on a stratified, seeded sample of at most N ID-train rows "
            "(the same for raw and te); every test row is still scored, and the report says when it "
            "sampled. At or below N nothing changes; a number above the ID-train rows fits on all.", "grid",
            kind="int", low=100),
    Setting("seed", 0, "One seed for sampling, splits, configurations and models.", "grid", kind="int",
            low=0, high=MAX_SEED),
    Setting("repeats", 1, "Re-run with seeds seed..seed+K-1 and report the spread; warn when the verdict "
            "differs.", "grid", kind="int", low=1, high=100),
    Setting("collapse_threshold", 0.99, "Majority-class rate at which a model counts as collapsed.", "gates",
            kind="float", low=0.5, high=1.0, open_low=True),
    Setting("fail_on", "fail", "fail: only failures exit 1; warn: warnings too.", "gates", choices=FAIL_ON),
    Setting("max_regression", 0.05, "Largest allowed rise of any rate or gap (0..1).", "compare",
            kind="float", low=0.0, high=1.0, commands=(COMPARE,)),
)
"""The audit's own knobs, in report order."""


def plugin_settings() -> tuple[Setting, ...]:
    """Knobs declared by the stages that use them: the spurious test's, then each registered gate's."""
    return (*SPURIOUS_SETTINGS, *(setting for gate in GATES.values() for setting in gate.settings))


def _table() -> tuple[Setting, ...]:
    table = (*CORE_SETTINGS, *plugin_settings(), *SIMULATE_SETTINGS, *SWEEP_SETTINGS)
    names = [s.name for s in table]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"settings declared twice: {', '.join(duplicated)}")
    return table


SETTINGS: tuple[Setting, ...] = _table()
"""Every knob, core first; :data:`AUDIT_SETTINGS` are the fields of :class:`AuditConfig`."""
AUDIT_SETTINGS = tuple(s for s in SETTINGS if set(s.commands) & set(AUDIT_COMMANDS))
BY_NAME = {s.name: s for s in SETTINGS}


def settings_for(command: str) -> tuple[Setting, ...]:
    """The knobs a command takes, in table order."""
    return tuple(s for s in SETTINGS if command in s.commands)


def _annotation(setting: Setting) -> str:
    base = "tuple[str, ...]" if setting.kind == "list" else setting.kind
    return f"{base} | None" if setting.optional else base


def _post_init(self: Any) -> None:
    for setting in AUDIT_SETTINGS:
        setting.check(getattr(self, setting.name))
    require(bool(self.target), "--target must name a column")
    require(not (self.shift_col and self.ood_path), "use either --shift-col or --ood, not both")
    require(self.id_values is None or bool(self.shift_col), "--id-values needs --shift-col")
    require(self.id_col is None or self.id_col not in (self.target, self.shift_col),
            f"--id-col '{self.id_col}' is the {'target' if self.id_col == self.target else 'shift'} column; "
            "it must be a column of its own")
    require(not self.ood_unlabeled or bool(self.ood_path), "--ood-unlabeled needs --ood")
    require(not self.max_rows or self.max_rows >= 50, "--max-rows must be 0 (every row) or at least 50")
    require(self.seed + self.repeats - 1 <= MAX_SEED,
            f"--repeats {self.repeats} runs seeds up to --seed + {self.repeats - 1}, which must be at most "
            f"{MAX_SEED}")
    require(self.ray_address is None or self.engine == "ray", "--ray-address needs --engine ray")
    parse_curation(self.curations)  # a bad --curations fails now, not after the split
    require(BASELINE in self.representations, f"--representations must include {BASELINE}: the gates judge "
            "every other route against it")
    require(len(self.representations) > 1, f"--representations needs a route besides {BASELINE} to audit "
            "(te, raw+te)")
    require(self.precision in ("auto", "fp32", "torch-fp32") or self.device != "cuda",
            f"--precision {self.precision} runs on the CPU; use --precision fp32 with --device cuda")
    _check_brought_vectors(self)


_BUILT_IN_ONLY = ("embedder", "precision", "device", "batch_size", "curations", "describe_file")
"""Settings of the built-in embedder and of the text it reads: with vectors the user brings,
setting one would mislead."""


def _check_brought_vectors(config: Any) -> None:
    """--embeddings / --embedding-col: one of them, and nothing that only the built-in embedder reads."""
    flag = "--embeddings" if config.embeddings else "--embedding-col" if config.embedding_col else None
    if flag is None:
        return
    require(not (config.embeddings and config.embedding_col), "use either --embeddings or --embedding-col, not both")
    given = [BY_NAME[name].cli_flag for name in _BUILT_IN_ONLY if getattr(config, name) != BY_NAME[name].default]
    require(not given, f"{flag} brings its own vectors, so {', '.join(given)} would change nothing; leave "
            f"{'it' if len(given) == 1 else 'them'} out")
    require(not config.ood_path, f"{flag} gives vectors for the rows of DATA only; put the OOD rows in DATA and "
            "split with --shift-col instead of --ood")
    value = config.embedding_col
    require(value is None or value not in (config.target, config.shift_col, config.id_col),
            f"--embedding-col {value} is the {'target' if value == config.target else 'shift' if value == config.shift_col else '--id-col'} "
            "column; the vectors need a column of their own")


def _to_dict(self: Any) -> dict[str, Any]:
    """The resolved configuration as plain JSON data (tuples become lists)."""
    data = dataclasses.asdict(self)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _make_config_class() -> type:
    required = [s for s in AUDIT_SETTINGS if s.required]
    fields = [(s.name, _annotation(s), dataclasses.field(metadata={"setting": s})) for s in required]
    fields += [(s.name, _annotation(s), dataclasses.field(default=s.default, metadata={"setting": s}))
               for s in AUDIT_SETTINGS if not s.required]
    doc = ("Everything that decides an audit's outcome; echoed verbatim into the report.\n\n"
           "Fields and defaults are the settings table (:data:`SETTINGS`); the CLI only overrides what\n"
           "the user passed, so ``audit(path, AuditConfig(target=\"y\"))`` gives the CLI's report.")
    cls = dataclasses.make_dataclass("AuditConfig", fields, frozen=True,
                                     namespace={"__post_init__": _post_init, "to_dict": _to_dict,
                                                "__doc__": doc})
    cls.__module__ = __name__
    return cls


AuditConfig = _make_config_class()


def coerce(setting: Setting, value: Any, source: str) -> Any:
    """A config-file value to the knob's type; a wrong type names the key and the file."""
    if setting.kind == "list":
        if not isinstance(value, (str, list)):
            raise TecurateError(f"{source}: '{setting.name}' must be a list or a comma-separated string")
        return parse_list(value)
    if setting.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def read_config_file(path: str | Path | None, *, cwd: str | Path = ".") -> tuple[dict[str, Any], str | None]:
    """Settings from ``path`` (a TOML file) or else ``[tool.tecurate]`` of ``cwd/pyproject.toml``.

    Returns the settings and where they came from. A standalone file may hold them at
    top level or under ``[tool.tecurate]``. Unknown keys are errors, not silently ignored:
    a misspelled threshold must not quietly fall back to its default.
    """
    if path is None:
        candidate = Path(cwd) / "pyproject.toml"
        if not candidate.is_file():
            return {}, None
        table = _read_toml(candidate).get("tool", {}).get("tecurate")
        if table is None:
            return {}, None
        source = f"{candidate} [tool.tecurate]"
    else:
        candidate = Path(path)
        if not candidate.is_file():
            raise TecurateError(f"config file {path} does not exist")
        data = _read_toml(candidate)
        table = data.get("tool", {}).get("tecurate", data)
        source = str(candidate)
    if not isinstance(table, dict):
        raise TecurateError(f"{source}: expected a table of settings")
    settings: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in BY_NAME:
            raise TecurateError(f"{source}: unknown setting '{key}'")
        settings[name] = _file_value(BY_NAME[name], key, value, source)
    return settings, source


def _file_value(setting: Setting, key: str, value: Any, source: str) -> Any:
    """A config-file value, checked here so that a bad one names the file and the key, not a flag."""
    value = coerce(setting, value, source)
    try:
        setting.check(value, label=f"'{key}'")
    except TecurateError as exc:
        raise TecurateError(f"{source}: {exc}") from None
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TecurateError(f"cannot parse {path}: {exc}") from None


def resolve_config(cli: dict[str, Any], file_settings: dict[str, Any]) -> Any:
    """CLI flags over file settings over defaults; ``None`` in ``cli`` means 'not given'.

    Returns an :class:`AuditConfig`; keys that are not audit settings (compare's) are ignored.
    """
    merged = {**file_settings, **{k: v for k, v in cli.items() if v is not None}}
    if "target" not in merged:
        raise TecurateError("--target is required (or set 'target' in the config file)")
    fields = {s.name for s in AUDIT_SETTINGS}
    return AuditConfig(**{k: v for k, v in merged.items() if k in fields})


def settings_markdown() -> str:
    """The README's flag table, generated from :data:`SETTINGS` (a test keeps the two equal)."""
    rows = ["| flag | default | allowed | commands | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        flag = f"`{s.cli_flag}`" + (f" / `{s.short}`" if s.short else "")
        allowed = s.allowed()
        values = ", ".join(allowed) if allowed else s.bounds_text() if (s.low, s.high) != (None, None) else ""
        default = s.default_text()
        rows.append(f"| {flag} | {f'`{default}`' if default else ''} | {values} | {', '.join(s.commands)} | "
                    f"{s.help} |")
    return "\n".join(rows) + "\n"


README_MARKERS = ("<!-- settings-table: generated from tecurate.config.SETTINGS -->", "<!-- /settings-table -->")


def with_settings_table(readme: str) -> str:
    """``readme`` with the block between :data:`README_MARKERS` replaced by :func:`settings_markdown`."""
    start, end = README_MARKERS
    head, rest = readme.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{settings_markdown()}{end}{tail}"
