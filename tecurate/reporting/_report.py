"""The audit report: one dataclass tree, turned into plain JSON data in one place.

Renderers (JSON file, terminal summary) read the plain data, so a saved report renders
exactly like a fresh one. In a notebook the report shows itself (``_repr_html_``: the HTML
report), ``models_frame`` puts the model table in pandas, and ``save``/``load`` round-trip the JSON. Field names here are a contract other tools parse: a change
must bump ``SCHEMA_VERSION`` and the schema file in ``tecurate/reporting/schema/``.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tecurate.errors import TecurateError
from tecurate.reporting._paths import write_error
from tecurate.status import exit_code

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "2.0"

NOTEBOOK_HEIGHT = 720
"""Pixels of a notebook cell the report takes; the page scrolls inside it."""

_ORDER = ("schema_version", "tool_version", "created_at", "input", "config", "target", "shift",
          "serialization", "embedding", "grid", "models", "summary", "aotl", "agreement", "ood_estimates",
          "verdict", "stability", "engine", "timings", "warnings")
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
    ood_estimates: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Every label-free OOD accuracy estimator, tecurate's estimate and its interval, per model
    (tecurate.analysis._ood)."""
    grid: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The configurations' design (tecurate.grid._design): its name, its seed and the configurations
    fitted per family (fewer than ``--n-configs`` where a family's grid holds fewer)."""
    stability: Any = None
    """Spread of the headline figures over ``--repeats`` seeds (tecurate.analysis._stability);
    None for one seed."""
    engine: Any = None
    """Where embedding and fitting ran (tecurate.engines.EngineRecord); None in reports made before it."""
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: nested dataclasses flattened, class codes replaced by labels."""
        classes = self.target["classes"]
        data = plain_data(self)
        if isinstance(data["summary"], dict) and not data["summary"].get("paired_routes", True):
            del data["summary"]["paired_routes"]  # only raw+te (or another extra route) has any
        for model in data["models"]:
            for metrics in model["splits"].values():
                metrics["predicted_distribution"] = dict(zip(classes, metrics["predicted_distribution"]))
        for fits in data["aotl"].values():
            for fit in fits.values():
                point = fit.get("base_rate_point")
                if point is not None:
                    point["class"] = classes[point["class"]]
        return {key: data[key] for key in _ORDER}

    @classmethod
    def load(cls, path: str | Path) -> AuditReport:
        """A saved JSON report, validated against the schema (:func:`read_report`).

        Its parts are the JSON's plain data (dicts and lists, not the dataclasses of a fresh
        report); ``to_dict`` gives back exactly the file's data, so it saves and renders the same.
        """
        return cls.from_dict(read_report(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditReport:
        """The report of :meth:`to_dict`'s plain data (checked already: a read report, a cached one)."""
        classes = data["target"]["classes"]
        for model in data["models"]:
            for metrics in model["splits"].values():
                metrics["predicted_distribution"] = [metrics["predicted_distribution"][c] for c in classes]
        for fits in data["aotl"].values():
            for fit in fits.values():
                point = fit.get("base_rate_point")
                if point is not None:
                    point["class"] = classes.index(point["class"])
        return cls(**data)

    def save(self, path: str | Path) -> None:
        """Write the JSON report to ``path`` atomically (all or nothing), as ``audit --output`` does."""
        try:
            write_atomic(path, dumps(self.to_dict()))
        except OSError as exc:
            raise TecurateError(write_error(None, path, exc)) from None

    def models_frame(self) -> pd.DataFrame:
        """One row per (model, representation, split): the grid's metrics as a pandas DataFrame.

        Columns: ``family``, ``config_id``, ``representation`` (raw, te or raw+te), ``split``, every
        metric of the split (an unlabelled split has no accuracy: NaN), ``fit_seconds``,
        ``cached`` and ``params`` (a dict). The predicted class distribution stays in the JSON.
        """
        import pandas as pd  # noqa: PLC0415 - only the notebook helpers need pandas here

        rows = []
        for model in self.to_dict()["models"]:
            for split, metrics in model["splits"].items():
                scores = {name: value for name, value in metrics.items() if not isinstance(value, (dict, list))}
                rows.append({"family": model["family"], "config_id": model["config_id"],
                             "representation": model["representation"], "split": split, **scores,
                             "fit_seconds": model["fit_seconds"], "cached": model.get("cached", False),
                             "params": model["params"]})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """The HTML report inside a notebook cell: an ``<iframe srcdoc>`` of the very page
        ``audit --html`` writes, sandboxed (no script can run, whatever the data holds).

        A frame and not the page inline: the page's stylesheet and Content-Security-Policy are
        written for a document of its own and would restyle (or not protect) the notebook
        around it; in a frame of fixed height the report scrolls instead of filling the notebook.
        """
        from tecurate.reporting._html import render_html  # noqa: PLC0415 - _html imports this module

        page = render_html(self.to_dict())
        return (f"<iframe srcdoc=\"{html.escape(page, quote=True)}\" sandbox=\"\" "
                f"title=\"tecurate audit report\" style=\"width:100%;height:{NOTEBOOK_HEIGHT}px;"
                "border:1px solid #d0d7de;border-radius:6px\"></iframe>")


def plain_data(value: Any, *, digits: int | None = None) -> Any:
    """Dataclasses, tuples and numpy scalars to JSON types; NaN/inf become None (JSON has none).

    ``digits`` rounds floats (the simulation report keeps 6); the audit report keeps them whole.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_data(getattr(value, f.name), digits=digits) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain_data(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v, digits=digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return value if digits is None else round(value, digits)
    return value


def created_now() -> str:
    """A report's ``created_at``: now, in UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


MAX_DEPTH = 64
"""Nesting a saved report may have (a real one has about 8): deeper is crafted, and would
exhaust the recursion of the parser, the validator or a renderer."""
_MAX_INT_DIGITS = 19
"""Integers beyond 64 bits are no count or seed a report holds; reject before ``int()`` spends
time on a million digits."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(f"the integer {text[:20]}... is too large")
    return int(text)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion (stops once past :data:`MAX_DEPTH`)."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_DEPTH:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _where(path: Any) -> str:
    """A validation error's location as ``verdict.gates[0].status``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def read_report(path: str | Path) -> dict[str, Any]:
    """A saved report as plain data, valid against the shipped schema; anything else is a user error.

    NaN, Infinity and out-of-range numbers are refused while parsing (a NaN rate would compare
    as "no regression"), nesting deeper than :data:`MAX_DEPTH` is refused before validation,
    and the first schema violation is named.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TecurateError(f"report {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TecurateError(f"cannot read report {path}: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_bounded_int)
    except RecursionError:
        raise TecurateError(f"{path} is not a tecurate report: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # json.JSONDecodeError included
        raise TecurateError(f"{path} is not a tecurate report: {exc}") from None
    if not isinstance(data, dict):
        raise TecurateError(f"{path} is not a tecurate report: its top level is not an object")
    if "schema_version" in data and data["schema_version"] != SCHEMA_VERSION:
        raise TecurateError(f"{path} has report schema version {str(data['schema_version'])[:40]}; this "
                            f"tecurate reads version {SCHEMA_VERSION}")
    if _depth(data) > MAX_DEPTH:
        raise TecurateError(f"{path} is not a tecurate report: nested more than {MAX_DEPTH} levels deep")
    violation = _first_violation(data)
    if violation is not None:
        raise TecurateError(f"{path} is not a tecurate report: {violation}")
    return data


def _first_violation(data: dict[str, Any]) -> str | None:
    """The most relevant schema violation (``jsonschema.exceptions.best_match``), or None."""
    import jsonschema
    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(schema())
    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return f"{_where(error.absolute_path)}: {message}"


def verdict_exit_code(report: Mapping[str, Any]) -> int:
    """The exit code a saved report's verdict means, from its status and its ``fail_on``
    (never from the file's own ``exit_code``, which a hand-edited file could set to anything)."""
    return exit_code(report["verdict"]["status"], report["config"].get("fail_on", "fail"))


def split_names(report: Mapping[str, Any]) -> list[str]:
    """The test splits a report scored, in its order: id_test first, then every OOD split."""
    reps = report["summary"]["representations"]
    return list(reps.get("te") or reps.get("raw") or {})


def packaged_schema(package: str, name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``package``'s ``schema/`` folder (the audit's, simulate's, sweep's)."""
    return json.loads(resources.files(package).joinpath("schema", name).read_text("utf-8"))


def command_report_dict(report: Any, schema_version: str, kind: str, exit_code: int) -> dict[str, Any]:
    """A command's own report (simulate, sweep) as plain JSON data: its version and kind, each
    field rounded to 6 digits, then the exit code it stands for."""
    data: dict[str, Any] = {"schema_version": schema_version, "kind": kind}
    for field in dataclasses.fields(report):
        data[field.name] = plain_data(getattr(report, field.name), digits=6)
    data["exit_code"] = exit_code
    return data


def schema() -> dict[str, Any]:
    """The JSON Schema that every report validates against (shipped in the package)."""
    return packaged_schema("tecurate.reporting", "report.schema.json")
