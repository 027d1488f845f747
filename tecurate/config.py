"""The resolved audit configuration: one frozen record, validated before any expensive work."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tecurate.errors import TecurateError
from tecurate.grid import FAMILIES, default_families

PRECISIONS = ("fp32", "int8")
"""Embedding precisions; int8 is a faster CPU path, see :mod:`tecurate.embedding._onnx_int8`."""
FAIL_ON = ("fail", "warn")


@dataclass(frozen=True)
class AuditConfig:
    """Everything that decides an audit's outcome; echoed verbatim into the report.

    The defaults are the documented defaults of the CLI; the CLI only overrides what the
    user passed, so ``audit(path, AuditConfig(target="y"))`` gives the CLI's report.
    """

    target: str
    shift_col: str | None = None
    id_values: tuple[str, ...] | None = None
    ood_path: str | None = None
    ood_unlabeled: bool = False
    min_domain_rows: int = 200
    synthetic_quantile: float = 0.8
    test_size: float = 0.3
    drop_cols: tuple[str, ...] = ()
    max_rows: int | None = None
    input_format: str | None = None
    encoding: str = "utf-8"

    template: str = "sentence"
    embedder: str | None = None
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int | None = None
    """None: chosen for the device (see :func:`tecurate.embedding._embed.default_batch_size`)."""
    cache_dir: str | None = None
    use_cache: bool = True

    families: tuple[str, ...] = default_families()
    n_configs: int = 8
    n_jobs: int = -1
    seed: int = 0
    repeats: int = 1

    collapse_threshold: float = 0.99
    max_collapse_rate: float = 0.5
    max_te_only_collapse_rate: float = 0.2
    """0.2, not 0.25: better recall on planted collapse and fewer flips over seeds (validation/RESULTS.md)."""
    max_accuracy_gap: float = 0.10
    fail_on: str = "fail"

    probit_eps: float = 1e-3
    n_bootstrap: int = 1000
    min_collapsed_share: float = 0.10
    min_r2_drop: float = 0.20
    min_healthy: int = 5

    def __post_init__(self) -> None:
        _check(bool(self.target), "--target must name a column")
        _check(not (self.shift_col and self.ood_path), "use either --shift-col or --ood, not both")
        _check(self.id_values is None or bool(self.shift_col), "--id-values needs --shift-col")
        _check(not self.ood_unlabeled or bool(self.ood_path), "--ood-unlabeled needs --ood")
        _check(1 <= self.repeats <= 100, "--repeats must be between 1 and 100")
        _check(self.min_domain_rows >= 1, "--min-domain-rows must be at least 1")
        _check(0.0 < self.synthetic_quantile < 1.0, "--synthetic-quantile must be in (0, 1)")
        _check(0.05 <= self.test_size <= 0.9, "--test-size must be between 0.05 and 0.9")
        _check(self.max_rows is None or self.max_rows >= 50, "--max-rows must be at least 50")
        _check(self.batch_size is None or self.batch_size >= 1, "--batch-size must be at least 1")
        _check(self.device in ("auto", "cpu", "cuda"), "--device must be auto, cpu or cuda")
        _check(self.precision in PRECISIONS, f"--precision must be {' or '.join(PRECISIONS)}")
        _check(self.precision == "fp32" or self.device != "cuda",
               "--precision int8 runs on the CPU; use --precision fp32 with --device cuda")
        _check(bool(self.families), "--families must name at least one family")
        unknown = [f for f in self.families if f not in FAMILIES]
        _check(not unknown, f"unknown model family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
        _check(len(set(self.families)) == len(self.families), "--families lists a family twice")
        _check(self.n_configs >= 1, "--n-configs must be at least 1")
        _check(0.5 < self.collapse_threshold <= 1.0, "--collapse-threshold must be in (0.5, 1]")
        for name in ("max_collapse_rate", "max_te_only_collapse_rate", "max_accuracy_gap",
                     "min_collapsed_share", "min_r2_drop"):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0, f"--{name.replace('_', '-')} must be between 0 and 1")
        _check(self.fail_on in FAIL_ON, "--fail-on must be 'fail' or 'warn'")
        _check(0.0 < self.probit_eps < 0.5, "--probit-eps must be in (0, 0.5)")
        _check(self.n_bootstrap >= 0, "--n-bootstrap must be at least 0")
        _check(self.min_healthy >= 3, "--min-healthy must be at least 3")

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain JSON data (tuples become lists)."""
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise TecurateError(message)


def _field_types() -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(AuditConfig)}


def _coerce(name: str, value: Any) -> Any:
    """File values to the field's type: lists (or comma strings) become tuples."""
    if "tuple" in _field_types()[name]:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise TecurateError(f"config key '{name}' must be a list or a comma-separated string")
        return tuple(str(v) for v in value)
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
        data = _read_toml(candidate)
        table = data.get("tool", {}).get("tecurate")
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
    known = _field_types()
    settings: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known:
            raise TecurateError(f"{source}: unknown setting '{key}'")
        settings[name] = _coerce(name, value)
    return settings, source


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TecurateError(f"cannot parse {path}: {exc}") from None


def resolve_config(cli: dict[str, Any], file_settings: dict[str, Any]) -> AuditConfig:
    """CLI flags over file settings over defaults; ``None`` in ``cli`` means 'not given'."""
    merged = {**file_settings, **{k: v for k, v in cli.items() if v is not None}}
    if "target" not in merged:
        raise TecurateError("--target is required (or set 'target' in the config file)")
    try:
        return AuditConfig(**merged)
    except TypeError as exc:
        raise TecurateError(f"bad configuration: {exc}") from None
