"""The command line: parse flags, call the core, render, map the verdict to an exit code.

Exit codes: 0 pass (and warn unless --fail-on warn), 1 a gate failed, 2 bad input or
usage (an output that cannot be written included: the error says which outputs were written),
3 internal error, 130 SIGINT and 143 SIGTERM (the embedded vectors are cached first). Human
output goes to stderr, through one sanitizer; machine output to stdout or a file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.text import Text
from typer.exceptions import TyperException

from tecurate import __version__
from tecurate._shell import (
    PanelCommand,
    aborted,
    error_line,
    errors,
    panel,
    stderr,
    with_progress,
    with_settings,
)
from tecurate._signals import interruptible
from tecurate.config import (
    AUDIT,
    COMPARE,
    EMBED,
    SERIALIZE,
    Setting,
    read_config_file,
    resolve_config,
    settings_for,
)
from tecurate.errors import TecurateError
from tecurate.reporting import (
    check_outputs,
    dumps,
    read_report,
    schema,
    verdict_exit_code,
    write_atomic,
    write_outputs,
)
from tecurate.reporting._paths import write_error
from tecurate.status import EXIT_PASS, EXIT_USAGE

T = TypeVar("T")

app = typer.Typer(
    name="tecurate",
    help="Audit whether text embeddings of a tabular dataset can be trusted.",
    no_args_is_help=True,
    add_completion=True,  # tecurate --install-completion / --show-completion SHELL
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]": plain text, not rich markup
)

OUTPUT = panel("output")
ConfigFile = Annotated[Optional[Path], typer.Option("--config", help="TOML file of settings (else [tool.tecurate] in ./pyproject.toml).", rich_help_panel=panel("input"))]
HtmlFile = Annotated[Optional[Path], typer.Option("--html", help="Write a self-contained HTML report here (plots, no network).", rich_help_panel=OUTPUT)]
JunitFile = Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: one test case per gate, for CI.", rich_help_panel=OUTPUT)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line.", rich_help_panel=OUTPUT)]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]
Format = Annotated[str, typer.Option("--format", help="text: summary on stderr; json: the report on stdout.", rich_help_panel=OUTPUT)]


@app.command(cls=PanelCommand)
@with_settings(AUDIT)
def audit(
    data: Annotated[str, typer.Argument(help="Table to audit (CSV, Parquet, JSONL; '-' for stdin).")],
    settings: dict[str, Any],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the JSON report here (atomically).", rich_help_panel=OUTPUT)] = None,
    html: HtmlFile = None,
    junit: JunitFile = None,
    fmt: Format = "text",
    quiet: Quiet = False,
    config: ConfigFile = None,
    debug: Debug = False,
) -> None:
    """Audit DATA: serialize, embed, fit matched raw/te models, test collapse and accuracy-on-the-line."""
    with errors(debug):
        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        file_settings, _ = read_config_file(config)
        resolved = resolve_config(settings, file_settings)
        check_outputs({"--output": output, "--html": html, "--junit": junit},
                      inputs=(data, resolved.ood_path, config))

        from tecurate.pipeline import reuse_or_audit as run_audit

        console = stderr()
        report = with_progress(console, quiet, lambda bars: run_audit(data, resolved, progress=bars)).to_dict()
        written = write_outputs(report, {"json": output, "html": html, "junit": junit})
        if fmt == "json":
            sys.stdout.write(dumps(report))
        _show(console, report, written, quiet)
    raise typer.Exit(report["verdict"]["exit_code"])


def _show(console: Console, report: dict[str, Any], written: dict[str, str], quiet: bool) -> None:
    from tecurate.reporting import print_summary, verdict_line

    if quiet:
        console.print(verdict_line(report), soft_wrap=True)
    else:
        print_summary(console, report, written)


@app.command(cls=PanelCommand)
@with_settings(SERIALIZE)
def serialize(
    data: Annotated[str, typer.Argument(help="Table to preview (CSV, Parquet, JSONL; '-' for stdin).")],
    settings: dict[str, Any],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows to show.")] = 5,
    config: ConfigFile = None,
) -> None:
    """Print the text of the first rows exactly as the audit would embed it (one per line)."""
    with errors():
        from tecurate.pipeline import serialize_table

        file_settings, _ = read_config_file(config)
        texts = serialize_table(data, resolve_config(settings, file_settings), limit)
        sys.stdout.write("".join(t.replace("\n", " ") + "\n" for t in texts))


@app.command(cls=PanelCommand)
@with_settings(EMBED)
def embed(
    data: Annotated[str, typer.Argument(help="Table to embed (CSV, Parquet, JSONL; '-' for stdin).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the vectors here, one per input row: .npy (a float32 matrix) or .parquet (row_id, vector).")],
    settings: dict[str, Any],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    config: ConfigFile = None,
    debug: Debug = False,
) -> None:
    """Write the embeddings of every row of DATA to a .npy or Parquet file, exactly as the audit makes them.

    Row i of the matrix (row_id i of the Parquet file) is row i of the file. The target and shift column stay out of the text, so the vectors are the audit's, from the same cache. Rows are embedded and written a window at a time, so memory does not grow with the table beyond the table itself.
    """
    with errors(debug):
        from tecurate.embedding import VectorFile

        destination = VectorFile(output)
        check_outputs({"--output": output}, inputs=(data, config))
        file_settings, _ = read_config_file(config)
        resolved = resolve_config(settings, file_settings)

        from tecurate.pipeline import embed_table_into

        console = stderr()
        try:
            with destination:
                info = with_progress(console, quiet,
                                     lambda bars: embed_table_into(data, destination.write, resolved, progress=bars))
        except OSError as exc:
            raise TecurateError(write_error("--output", output, exc)) from None
        if not quiet:
            console.print(f"embedded {info.n_texts} rows ({info.n_unique_texts} distinct texts, "
                          f"{info.cache_hits} from the cache) with {info.model} (dim {info.dim}, "
                          f"{info.precision}, {info.device}) in {info.seconds:.1f} s -> {output}",
                          highlight=False, markup=False, soft_wrap=True)


@app.command("schema")
def schema_command(
    simulate: Annotated[bool, typer.Option("--simulate", help="The schema of 'tecurate simulate' reports instead.")] = False,
    sweep: Annotated[bool, typer.Option("--sweep", help="The schema of 'tecurate sweep' reports instead.")] = False,
) -> None:
    """Print the JSON Schema of the audit report."""
    with errors():
        if sweep:
            from tecurate.sweeps import schema as sweep_schema

            sys.stdout.write(json.dumps(sweep_schema(), indent=2, ensure_ascii=False) + "\n")
        elif simulate:
            from tecurate.simulate import schema as simulate_schema

            sys.stdout.write(json.dumps(simulate_schema(), indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(json.dumps(schema(), indent=2) + "\n")


@app.command()
def report(
    saved: Annotated[Path, typer.Argument(help="A JSON report written by 'tecurate audit'.")],
    html: HtmlFile = None,
    junit: JunitFile = None,
    quiet: Quiet = False,
) -> None:
    """Render a saved report (terminal, HTML, JUnit); exits with the code of its verdict's status."""
    with errors():
        check_outputs({"--html": html, "--junit": junit}, inputs=(saved,))
        data = read_report(saved)
        _show(stderr(), data, write_outputs(data, {"html": html, "junit": junit}), quiet)
    raise typer.Exit(verdict_exit_code(data))


@app.command(cls=PanelCommand)
@with_settings(COMPARE)
def compare(
    old: Annotated[Path, typer.Argument(help="The baseline JSON report (e.g. from the main branch).")],
    new: Annotated[Path, typer.Argument(help="The JSON report to judge against it.")],
    settings: dict[str, Any],
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here: one test case per check, for CI.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text: table on stderr; json: the comparison on stdout.")] = "text",
    quiet: Quiet = False,
) -> None:
    """Did NEW get worse than OLD? Exit 1 on a regression, 0 otherwise.

    A regression: a split's te collapse rate, te-only collapse rate or accuracy gap rose by more
    than its threshold, an accuracy-on-the-line fit became spurious, or the verdict worsened.
    """
    with errors():
        from tecurate.reporting import compare_reports, comparison_line, comparison_summary

        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        check_outputs({"--junit": junit}, inputs=(old, new))
        comparison = compare_reports(read_report(old), read_report(new), settings)
        written = write_outputs(comparison, {"junit": junit})
        if fmt == "json":
            sys.stdout.write(dumps(comparison.to_dict()))
        console = stderr()
        if quiet:
            console.print(comparison_line(comparison), soft_wrap=True)
        else:
            console.print(comparison_summary(comparison))
            for label, path in written.items():
                console.print(Text(f"{label} written to {path}", style="dim"))
    raise typer.Exit(comparison.exit_code)


def _deliver(console: Console, report: dict[str, Any], output: Path | None,
             html: tuple[Path | None, str, Callable[[dict[str, Any]], str]], fmt: str, quiet: bool,
             summary_table: Callable[[dict[str, Any]], Any], outcome_line: Callable[[dict[str, Any]], Any]) -> None:
    """Write, print and summarize the report of a command with its own report (simulate, sweep):
    JSON and HTML files atomically, JSON on stdout with ``--format json``, then its table and line."""
    html_path, html_label, render_html = html
    if output is not None:
        write_atomic(output, dumps(report))
    if html_path is not None:
        write_atomic(html_path, render_html(report))
    if fmt == "json":
        sys.stdout.write(dumps(report))
    if not quiet:
        console.print(summary_table(report))
        for label, path in (("JSON report", output), (html_label, html_path)):
            if path is not None:
                console.print(Text(f"{label} written to {path}", style="dim"))
    console.print(outcome_line(report), soft_wrap=True)


def _simulate_knobs() -> tuple[Setting, ...]:
    """The audit knobs simulate shares (input, split, embedding, seed, threshold), then its own."""
    from tecurate.config import BY_NAME
    from tecurate.simulate import SHARED, SIMULATE

    return (*(BY_NAME[name] for name in SHARED), *settings_for(SIMULATE))


@app.command("simulate")
@with_settings("simulate", knobs=_simulate_knobs())
def simulate_command(
    data: Annotated[str, typer.Argument(help="Table to simulate on (CSV, Parquet, JSONL; '-' for stdin).")],
    settings: dict[str, Any],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the JSON report here (atomically).")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write a self-contained HTML page of trajectory plots here.")] = None,
    fmt: Format = "text",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Retrain generation after generation on real and self-made rows; how fast does each route collapse?

    Exit codes: 0 done, 1 a run collapsed before --fail-if-collapse-before T, 2 bad input, 3 internal error.
    """
    with errors(debug):
        from tecurate.simulate import SHARED, outcome_line, render_html, simulate, simulate_config, summary_table

        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        check_outputs({"--output": output, "--html": html}, inputs=(data,))
        sim = simulate_config(settings)
        resolved = resolve_config({name: settings[name] for name in SHARED}, {})
        console = stderr()
        report = with_progress(console, quiet, lambda bars: simulate(data, resolved, sim, progress=bars)).to_dict()
        _deliver(console, report, output, (html, "HTML page", render_html), fmt, quiet, summary_table, outcome_line)
    raise typer.Exit(report["exit_code"])


def _sweep_knobs() -> tuple[Setting, ...]:
    """Every audit knob but the three the sweep lists instead (template, curations, embedder), then its own."""
    from tecurate.sweeps import REPLACED, SWEEP

    return (*(s for s in settings_for(AUDIT) if s.name not in REPLACED), *settings_for(SWEEP))


@app.command("sweep", cls=PanelCommand)
@with_settings("sweep", knobs=_sweep_knobs())
def sweep_command(
    data: Annotated[str, typer.Argument(help="Table to sweep (CSV, Parquet, JSONL).")],
    settings: dict[str, Any],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the JSON report here (atomically).", rich_help_panel=OUTPUT)] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write a self-contained HTML leaderboard here.", rich_help_panel=OUTPUT)] = None,
    fmt: Format = "text",
    quiet: Quiet = False,
    config: ConfigFile = None,
    debug: Debug = False,
) -> None:
    """Which template, curation and embedder make DATA's text embeddings trustworthy? One audit per combination, ranked.

    Exit codes: 0 done, 1 the best combination fails a gate with --fail-if-best-fails, 2 bad input (before any embedding), 3 internal error.
    """
    with errors(debug):
        from tecurate.sweeps import SETTINGS as OWN
        from tecurate.sweeps import outcome_line, render_html, summary_table, sweep, sweep_config

        if fmt not in ("text", "json"):
            raise TecurateError("--format must be 'text' or 'json'")
        check_outputs({"--output": output, "--html": html}, inputs=(data, config))
        file_settings, _ = read_config_file(config)
        own = {s.name for s in OWN}
        resolved = resolve_config({k: v for k, v in settings.items() if k not in own}, file_settings)
        lists = sweep_config({**{k: v for k, v in file_settings.items() if k in own},
                              **{k: v for k, v in settings.items() if k in own and v is not None}})
        console = stderr()
        report = with_progress(console, quiet, lambda bars: sweep(data, resolved, lists, progress=bars)).to_dict()
        _deliver(console, report, output, (html, "HTML leaderboard", render_html), fmt, quiet, summary_table,
                 outcome_line)
    raise typer.Exit(report["exit_code"])


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
        with interruptible():
            code = command.main(args=argv, prog_name="tecurate", standalone_mode=False)
    except typer.Abort as exc:  # a signal outside a command's own handling (while parsing flags)
        sys.exit(aborted(exc.__cause__ if isinstance(exc.__cause__, KeyboardInterrupt) else KeyboardInterrupt()))
    except TyperException as exc:  # usage errors: bad flag, bad value, missing argument
        context = getattr(exc, "ctx", None)
        command = f"tecurate {context.info_name}" if context is not None and context.parent else "tecurate"
        if exc.format_message():  # empty when no arguments printed the help instead
            error_line(f"{exc.format_message()} (see '{command} --help')")
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    sys.exit(code if isinstance(code, int) else EXIT_PASS)
