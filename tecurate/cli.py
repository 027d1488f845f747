"""The command line: parse flags, call the core, render, map the verdict to an exit code.

Exit codes: 0 pass (and warn unless --fail-on warn), 1 a gate failed, 2 bad input or
usage, 3 internal error. Human output goes to stderr; machine output to stdout or a file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from typer.exceptions import TyperException

from tecurate import __version__
from tecurate.config import read_config_file, resolve_config
from tecurate.errors import TecurateError
from tecurate.reporting import dumps, read_report, schema, write_atomic

EXIT_PASS, EXIT_GATE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
T = TypeVar("T")

app = typer.Typer(
    name="tecurate",
    help="Audit whether text embeddings of a tabular dataset can be trusted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]": plain text, not rich markup
)


def _stderr() -> Console:
    """Human output; NO_COLOR (https://no-color.org) turns off every ANSI style, not just colour."""
    plain = os.environ.get("NO_COLOR", "") != ""
    return Console(stderr=True, color_system=None if plain else "auto",
                   width=100 if not sys.stderr.isatty() else None)


def _error_line(message: str) -> None:
    """Every error the user sees is this one line on stderr (message text is data, not markup)."""
    line = Text.assemble(("tecurate: error: ", "bold red"), " ".join(message.split()))
    _stderr().print(line, highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    _error_line(message)
    return typer.Exit(code)


@contextmanager
def _errors(debug: bool = False) -> Iterator[None]:
    """User errors -> one line and exit 2; anything unexpected -> one line and exit 3."""
    try:
        yield
    except TecurateError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        raise _fail(f"internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)",
                    EXIT_INTERNAL) from None


def _split_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if not items:
        raise TecurateError("a comma-separated list must name at least one item")
    return items


class _RichProgress:
    """Draws the core's ``progress(stage, done, total)`` calls as rich progress bars."""

    LABELS = {"embed": "embedding texts", "fit": "fitting models"}

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(self.LABELS.get(stage, stage), total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


_BAR_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _with_progress(console: Console, quiet: bool, work: Callable[[_RichProgress | None], T]) -> T:
    """Run ``work`` with live progress bars on a terminal, and without them otherwise."""
    if quiet or not console.is_terminal:
        return work(None)
    with Progress(*_BAR_COLUMNS, console=console, transient=True) as bars:
        return work(_RichProgress(bars))


Target = Annotated[Optional[str], typer.Option("--target", "-t", help="Target (label) column.")]
Template = Annotated[Optional[str], typer.Option(
    "--template", help="Row-to-text template: sentence, kv, json, or a custom text with {column} fields.")]
DropCols = Annotated[Optional[str], typer.Option("--drop-cols", help="Comma-separated columns to leave out (ids).")]
ShiftCol = Annotated[Optional[str], typer.Option("--shift-col", help="Column whose values define domains.")]
InputFormat = Annotated[Optional[str], typer.Option("--input-format", help="csv, parquet or jsonl (default: by extension).")]
Encoding = Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of CSV/JSONL input [default: utf-8].")]
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="TOML file of settings (else [tool.tecurate] in ./pyproject.toml).")]
HtmlFile = Annotated[Optional[Path], typer.Option("--html", help="Write a self-contained HTML report here (plots, no network).")]
JunitFile = Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: one test case per gate, for CI.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line.")]
EmbedderName = Annotated[Optional[str], typer.Option("--embedder", help="sentence-transformers model name or local path [default: packaged all-MiniLM-L6-v2].")]
Device = Annotated[Optional[str], typer.Option("--device", help="auto, cpu or cuda [default: auto].")]
Precision = Annotated[Optional[str], typer.Option("--precision", help="Embedding precision: fp32, or int8 (CPU only, 1.5x to 2.7x faster embedding depending on AVX-512 VNNI, mean cosine 0.99 to fp32, own cache entries; needs 'tecurate[fast]') [default: fp32].")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", help="Embedding batch size [default: 16 on CPU, two batches at a time (64 with --precision int8); 256 on CUDA].")]
CacheDir = Annotated[Optional[str], typer.Option("--cache-dir", help="Cache folder for embeddings and model fits [default: ~/.cache/tecurate].")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the embedding and model-fit caches.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]


@app.command()
def audit(
    data: Annotated[str, typer.Argument(help="Table to audit (CSV, Parquet, JSONL; '-' for stdin).")],
    target: Target = None,
    shift_col: ShiftCol = None,
    id_values: Annotated[Optional[str], typer.Option("--id-values", help="Comma-separated ID values of --shift-col [default: most frequent].")] = None,
    ood: Annotated[Optional[str], typer.Option("--ood", help="A second file with the same columns: the OOD rows (without the target column: unlabelled).")] = None,
    ood_unlabeled: Annotated[bool, typer.Option("--ood-unlabeled", help="Ignore the --ood file's labels: estimate OOD accuracy by agreement-on-the-line.")] = False,
    min_domain_rows: Annotated[Optional[int], typer.Option("--min-domain-rows", help="Smallest domain that becomes its own OOD split [default: 200].")] = None,
    test_size: Annotated[Optional[float], typer.Option("--test-size", help="Share of ID rows held out as id_test [default: 0.3].")] = None,
    drop_cols: DropCols = None,
    template: Template = None,
    embedder: EmbedderName = None,
    device: Device = None,
    precision: Precision = None,
    batch_size: BatchSize = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    families: Annotated[Optional[str], typer.Option("--families", help="Comma-separated: logreg, xgboost, mlp, rf [default: logreg,xgboost,mlp].")] = None,
    n_configs: Annotated[Optional[int], typer.Option("--n-configs", help="Configurations sampled per family [default: 8].")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="One seed for sampling, splits and models [default: 0].")] = None,
    repeats: Annotated[Optional[int], typer.Option("--repeats", help="Re-run with seeds seed..seed+K-1 and report the spread; warn when the verdict differs [default: 1].")] = None,
    max_rows: Annotated[Optional[int], typer.Option("--max-rows", help="Stratified, seeded sample of at most N rows.")] = None,
    n_jobs: Annotated[Optional[int], typer.Option("--n-jobs", help="Parallel model fits [default: -1, all cores].")] = None,
    collapse_threshold: Annotated[Optional[float], typer.Option("--collapse-threshold", help="Majority-class rate at which a model counts as collapsed [default: 0.99].")] = None,
    max_collapse_rate: Annotated[Optional[float], typer.Option("--max-collapse-rate", help="Fail when more te models collapse on a split [default: 0.5].")] = None,
    max_te_only_collapse_rate: Annotated[Optional[float], typer.Option("--max-te-only-collapse-rate", help="Fail when more matched pairs collapse on te only [default: 0.2].")] = None,
    max_accuracy_gap: Annotated[Optional[float], typer.Option("--max-accuracy-gap", help="Warn when median ID accuracy raw - te exceeds this [default: 0.10].")] = None,
    n_bootstrap: Annotated[Optional[int], typer.Option("--n-bootstrap", help="Bootstrap resamples for the CI of r [default: 1000].")] = None,
    probit_eps: Annotated[Optional[float], typer.Option("--probit-eps", help="Accuracies are clipped to [eps, 1-eps] before the probit [default: 0.001].")] = None,
    min_collapsed_share: Annotated[Optional[float], typer.Option("--min-collapsed-share", help="collapse_inflated needs at least this share of collapsed points [default: 0.10].")] = None,
    min_r2_drop: Annotated[Optional[float], typer.Option("--min-r2-drop", help="collapse_inflated needs R²(all) - R²(healthy) of at least this [default: 0.20].")] = None,
    min_healthy: Annotated[Optional[int], typer.Option("--min-healthy", help="Fewer healthy models than this: insufficient_healthy [default: 5].")] = None,
    synthetic_quantile: Annotated[Optional[float], typer.Option("--synthetic-quantile", help="Without a shift, rows above this quantile of the first principal component are OOD [default: 0.8].")] = None,
    fail_on: Annotated[Optional[str], typer.Option("--fail-on", help="fail: only failures exit 1; warn: warnings too [default: fail].")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the JSON report here (atomically).")] = None,
    html: HtmlFile = None,
    junit: JunitFile = None,
    fmt: Annotated[str, typer.Option("--format", help="text: summary on stderr; json: the report on stdout.")] = "text",
    quiet: Quiet = False,
    input_format: InputFormat = None,
    encoding: Encoding = None,
    config: ConfigFile = None,
    debug: Debug = False,
) -> None:
    """Audit DATA: serialize, embed, fit matched raw/te models, test collapse and accuracy-on-the-line."""
    with _errors(debug):
        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        file_settings, _ = read_config_file(config)
        cli_settings = {
            "target": target, "shift_col": shift_col, "id_values": _split_list(id_values), "ood_path": ood,
            "ood_unlabeled": True if ood_unlabeled else None, "repeats": repeats,
            "min_domain_rows": min_domain_rows, "test_size": test_size, "drop_cols": _split_list(drop_cols),
            "template": template, "embedder": embedder, "device": device, "precision": precision, "batch_size": batch_size,
            "cache_dir": cache_dir, "use_cache": False if no_cache else None,
            "families": _split_list(families), "n_configs": n_configs, "seed": seed, "max_rows": max_rows,
            "n_jobs": n_jobs, "collapse_threshold": collapse_threshold,
            "max_collapse_rate": max_collapse_rate, "max_te_only_collapse_rate": max_te_only_collapse_rate,
            "max_accuracy_gap": max_accuracy_gap, "fail_on": fail_on, "n_bootstrap": n_bootstrap,
            "probit_eps": probit_eps, "min_collapsed_share": min_collapsed_share, "min_r2_drop": min_r2_drop,
            "min_healthy": min_healthy, "synthetic_quantile": synthetic_quantile, "input_format": input_format,
            "encoding": encoding,
        }
        settings = resolve_config(cli_settings, file_settings)
        _check_outputs(output=output, html=html, junit=junit)

        from tecurate.pipeline import audit as run_audit

        console = _stderr()
        report = _with_progress(console, quiet, lambda bars: run_audit(data, settings, progress=bars)).to_dict()
        text = dumps(report)
        written = {}
        if output is not None:
            write_atomic(output, text)
            written["JSON report"] = str(output)
        written.update(_write_renderings(report, html=html, junit=junit))
        if fmt == "json":
            sys.stdout.write(text)
        _show(console, report, written, quiet)
    raise typer.Exit(report["verdict"]["exit_code"])


def _check_outputs(**paths: Path | None) -> None:
    """Fail before the expensive work when an output path cannot be a file."""
    for flag, path in paths.items():
        if path is not None and path.is_dir():
            raise TecurateError(f"--{flag} {path} is a folder; give a file name")


def _write_renderings(report: dict[str, Any], *, html: Path | None, junit: Path | None) -> dict[str, str]:
    """Write the HTML page and the JUnit file that were asked for; returns what went where."""
    written = {}
    if html is not None:
        from tecurate.reporting import render_html

        write_atomic(html, render_html(report))
        written["HTML report"] = str(html)
    if junit is not None:
        from tecurate.reporting import audit_junit

        write_atomic(junit, audit_junit(report))
        written["JUnit XML"] = str(junit)
    return written


def _show(console: Console, report: dict[str, Any], written: dict[str, str], quiet: bool) -> None:
    from tecurate.reporting import print_summary, verdict_line

    if quiet:
        console.print(verdict_line(report), soft_wrap=True)
    else:
        print_summary(console, report, written)


@app.command()
def serialize(
    data: Annotated[str, typer.Argument(help="Table to preview (CSV, Parquet, JSONL; '-' for stdin).")],
    target: Target = None,
    shift_col: ShiftCol = None,
    drop_cols: DropCols = None,
    template: Template = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows to show.")] = 5,
    input_format: InputFormat = None,
    encoding: Encoding = None,
    config: ConfigFile = None,
) -> None:
    """Print the text of the first rows exactly as the audit would embed it (one per line)."""
    with _errors():
        from tecurate.pipeline import serialize_table

        file_settings, _ = read_config_file(config)
        settings = resolve_config({"target": target, "shift_col": shift_col,
                                   "drop_cols": _split_list(drop_cols), "template": template,
                                   "input_format": input_format, "encoding": encoding}, file_settings)
        texts = serialize_table(data, settings, limit)
        sys.stdout.write("".join(t.replace("\n", " ") + "\n" for t in texts))


@app.command()
def embed(
    data: Annotated[str, typer.Argument(help="Table to embed (CSV, Parquet, JSONL; '-' for stdin).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the float32 matrix here, one row per input row (.npy).")],
    target: Target = None,
    shift_col: ShiftCol = None,
    drop_cols: DropCols = None,
    template: Template = None,
    embedder: EmbedderName = None,
    device: Device = None,
    precision: Precision = None,
    batch_size: BatchSize = None,
    cache_dir: CacheDir = None,
    no_cache: NoCache = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    input_format: InputFormat = None,
    encoding: Encoding = None,
    config: ConfigFile = None,
    debug: Debug = False,
) -> None:
    """Write the embeddings of every row of DATA to a .npy file, exactly as the audit makes them.

    Row i of the matrix is row i of the file. The target and shift column stay out of the text, so the vectors are the audit's, from the same cache.
    """
    with _errors(debug):
        if output.suffix.lower() != ".npy":
            raise TecurateError(f"--output {output} must end in .npy (a float32 NumPy matrix)")
        _check_outputs(output=output)
        file_settings, _ = read_config_file(config)
        settings = resolve_config({"target": target, "shift_col": shift_col,
                                   "drop_cols": _split_list(drop_cols), "template": template,
                                   "embedder": embedder, "device": device, "precision": precision,
                                   "batch_size": batch_size, "cache_dir": cache_dir,
                                   "use_cache": False if no_cache else None,
                                   "input_format": input_format, "encoding": encoding}, file_settings)
        import io

        import numpy as np

        from tecurate.pipeline import embed_table

        console = _stderr()
        matrix, info = _with_progress(console, quiet, lambda bars: embed_table(data, settings, progress=bars))
        buffer = io.BytesIO()
        np.save(buffer, matrix, allow_pickle=False)
        write_atomic(output, buffer.getvalue())
        if not quiet:
            console.print(f"embedded {info.n_texts} rows ({info.n_unique_texts} distinct texts, "
                          f"{info.cache_hits} from the cache) with {info.model} (dim {info.dim}, "
                          f"{info.precision}, {info.device}) in {info.seconds:.1f} s -> {output}",
                          highlight=False, markup=False, soft_wrap=True)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the audit report."""
    with _errors():
        sys.stdout.write(json.dumps(schema(), indent=2) + "\n")


@app.command()
def report(
    saved: Annotated[Path, typer.Argument(help="A JSON report written by 'tecurate audit'.")],
    html: HtmlFile = None,
    junit: JunitFile = None,
    quiet: Quiet = False,
) -> None:
    """Render a saved report (terminal, HTML, JUnit); exits with the report's verdict code."""
    with _errors():
        _check_outputs(html=html, junit=junit)
        data = read_report(saved)
        _show(_stderr(), data, _write_renderings(data, html=html, junit=junit), quiet)
    raise typer.Exit(data["verdict"]["exit_code"])


@app.command()
def compare(
    old: Annotated[Path, typer.Argument(help="The baseline JSON report (e.g. from the main branch).")],
    new: Annotated[Path, typer.Argument(help="The JSON report to judge against it.")],
    max_regression: Annotated[float, typer.Option("--max-regression", help="Largest allowed rise of any rate or gap (0..1).")] = 0.05,
    max_collapse_regression: Annotated[Optional[float], typer.Option("--max-collapse-regression", help="Largest allowed rise of a split's te collapse rate (default: --max-regression).")] = None,
    max_te_only_regression: Annotated[Optional[float], typer.Option("--max-te-only-regression", help="Largest allowed rise of a split's te-only collapse rate (default: --max-regression).")] = None,
    max_gap_regression: Annotated[Optional[float], typer.Option("--max-gap-regression", help="Largest allowed rise of a split's median accuracy gap raw - te (default: --max-regression).")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: one test case per check, for CI.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text: table on stderr; json: the comparison on stdout.")] = "text",
    quiet: Quiet = False,
) -> None:
    """Did NEW get worse than OLD? Exit 1 on a regression, 0 otherwise.

    A regression: a split's te collapse rate, te-only collapse rate or accuracy gap rose by more
    than its threshold, an accuracy-on-the-line fit became spurious, or the verdict worsened.
    """
    with _errors():
        from tecurate.reporting import Thresholds, compare_reports, comparison_line, comparison_summary

        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        _check_outputs(junit=junit)
        thresholds = Thresholds(
            collapse_rate=_first_given(max_collapse_regression, max_regression),
            te_only_collapse_rate=_first_given(max_te_only_regression, max_regression),
            accuracy_gap=_first_given(max_gap_regression, max_regression))
        comparison = compare_reports(read_report(old), read_report(new), thresholds)
        if junit is not None:
            from tecurate.reporting import compare_junit

            write_atomic(junit, compare_junit(comparison))
        if fmt == "json":
            sys.stdout.write(dumps(comparison.to_dict()))
        console = _stderr()
        if quiet:
            console.print(comparison_line(comparison), soft_wrap=True)
        else:
            console.print(comparison_summary(comparison))
            if junit is not None:
                console.print(Text(f"JUnit XML written to {junit}", style="dim"))
    raise typer.Exit(comparison.exit_code)


def _first_given(value: float | None, default: float) -> float:
    return default if value is None else value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tecurate {__version__}")
        raise typer.Exit(EXIT_PASS)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """tecurate: model collapse and spurious accuracy-on-the-line in text embeddings of tables."""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: like the typer app, but usage errors are one line, exit 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="tecurate", standalone_mode=False)
    except typer.Abort:
        _error_line("aborted")
        sys.exit(130)
    except TyperException as exc:  # usage errors: bad flag, bad value, missing argument
        context = getattr(exc, "ctx", None)
        command = f"tecurate {context.info_name}" if context is not None and context.parent else "tecurate"
        if exc.format_message():  # empty when no arguments printed the help instead
            _error_line(f"{exc.format_message()} (see '{command} --help')")
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    sys.exit(code if isinstance(code, int) else EXIT_PASS)
