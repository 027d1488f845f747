"""The audit report: one dataclass tree, turned into plain JSON data in one place.

Renderers (JSON file, terminal summary) read the plain data, so a saved report renders
exactly like a fresh one. Field names here are a contract other tools parse: a change
must bump ``SCHEMA_VERSION`` and the schema file in ``tecurate/reporting/schema/``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tecurate.errors import TecurateError

SCHEMA_VERSION = "1.0"

_ORDER = ("schema_version", "tool_version", "created_at", "input", "config", "target", "shift",
          "serialization", "embedding", "grid", "models", "summary", "aotl", "agreement", "verdict", "stability",
          "timings", "warnings")
"""The top-level keys of a report, in the order the JSON file lists them."""


@dataclass(frozen=True)
class AuditReport:
    """Everything an audit found; ``to_dict`` gives the JSON contract."""

    tool_version: str
    created_at: str
    input: dict[str, Any]
    config: dict[str, Any]
    target: dict[str, Any]
    shift: Any
    serialization: dict[str, Any]
    embedding: Any
    models: list[Any]
    summary: Any
    aotl: Mapping[str, Mapping[str, Any]]
    verdict: Any
    timings: dict[str, float]
    warnings: list[str]
    agreement: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Agreement-on-the-line estimates of OOD accuracy (tecurate.analysis._agreement)."""
    grid: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The configurations' design (tecurate.grid._design): its name, seed and count per family."""
    stability: Any = None
    """Spread of the headline figures over ``--repeats`` seeds (tecurate.analysis._stability);
    None for one seed."""
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: nested dataclasses flattened, class codes replaced by labels."""
        classes = self.target["classes"]
        data = _plain(self)
        for model in data["models"]:
            for metrics in model["splits"].values():
                metrics["predicted_distribution"] = dict(zip(classes, metrics["predicted_distribution"]))
        for fits in data["aotl"].values():
            for fit in fits.values():
                point = fit.get("base_rate_point")
                if point is not None:
                    point["class"] = classes[point["class"]]
        return {key: data[key] for key in _ORDER}


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and numpy scalars to JSON types; NaN/inf become None (JSON has none)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(data: Mapping[str, Any]) -> str:
    """The canonical JSON text of a report (stable key order, UTF-8, indented)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, content: str | bytes) -> None:
    """Write via a temp file in the same folder and rename: a reader sees all or nothing.

    Text is written as UTF-8; bytes (an embedding matrix) as they are.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_OPTIONAL = ("agreement", "stability")
"""Parts a renderer shows only when present (a report may predate them)."""

_RENDERED = tuple(key for key in _ORDER if key not in _OPTIONAL)
"""What every renderer (terminal, HTML, JUnit, compare) reads from a saved report."""


def read_report(path: str | Path) -> dict[str, Any]:
    """A saved report as plain data; anything else (or another schema version) is a user error."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TecurateError(f"report {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TecurateError(f"cannot read report {path}: {exc}") from None
    if not isinstance(data, dict) or any(key not in data for key in _RENDERED):
        raise TecurateError(f"{path} is not a tecurate report")
    if data["schema_version"] != SCHEMA_VERSION:
        raise TecurateError(f"{path} has report schema version {data['schema_version']}; this tecurate "
                            f"reads version {SCHEMA_VERSION}")
    return data


def split_names(report: Mapping[str, Any]) -> list[str]:
    """The test splits a report scored, in its order: id_test first, then every OOD split."""
    reps = report["summary"]["representations"]
    return list(reps.get("te") or reps.get("raw") or {})


def schema() -> dict[str, Any]:
    """The JSON Schema that every report validates against (shipped in the package)."""
    text = resources.files("tecurate.reporting").joinpath("schema/report.schema.json").read_text("utf-8")
    return json.loads(text)
