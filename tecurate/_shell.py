"""The CLI's shell: options built from the settings table, help panels, the stderr console,
one-line errors with their exit codes, and progress bars. The commands live in :mod:`tecurate.cli`.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional, TypeVar

import click
import typer
import typer.core
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from tecurate._signals import Interrupted
from tecurate.config import (
    Setting,
    parse_list,
    settings_for,
)
from tecurate.errors import TecurateError
from tecurate.reporting import (
    SafeConsole,
)
from tecurate.status import EXIT_INTERNAL, EXIT_USAGE

T = TypeVar("T")


PANELS = ("input", "split", "embedding", "grid", "engine", "gates", "spurious", "compare", "sweep", "output")
"""The help's option panels in reading order: each a :attr:`Setting.group` (``output``: the
command's own output options); anything else comes last, under "Options"."""


def panel(group: str) -> str:
    return f"{group.capitalize()} options"


class PanelCommand(typer.core.TyperCommand):
    """Help with the options grouped in panels, one per settings group (their ``rich_help_panel``).

    Typer draws panels only with rich markup, which would eat the "[default: ...]" of the help
    texts; this lays them out in click's plain text instead, so defaults stay visible.
    """

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        order = ["Arguments", *map(panel, PANELS), "Options"]
        panels: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                name = "Arguments" if param.param_type_name == "argument" else \
                    getattr(param, "rich_help_panel", None) or "Options"
                panels.setdefault(name if name in order else "Options", []).append(record)
        for name in sorted(panels, key=order.index):
            with formatter.section(name):
                formatter.write_dl(panels[name])


def stderr() -> Console:
    """Human output; NO_COLOR (https://no-color.org) turns off every ANSI style, not just colour.
    Whatever it prints is sanitized (:class:`tecurate.reporting.SafeConsole`)."""
    plain = os.environ.get("NO_COLOR", "") != ""
    return SafeConsole(stderr=True, color_system=None if plain else "auto",
                   width=100 if not sys.stderr.isatty() else None)


def error_line(message: str, label: str = "error: ") -> None:
    """Every error the user sees is this one line on stderr (message text is data, not markup)."""
    line = Text.assemble((f"tecurate: {label}", "bold red"), " ".join(message.split()))
    stderr().print(line, highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    error_line(message)
    return typer.Exit(code)


def aborted(exc: KeyboardInterrupt) -> int:
    """The one line of a run stopped by a signal ("tecurate: aborted: ..."); its exit code."""
    interrupted = Interrupted.of(exc)
    error_line(interrupted.describe(), label="")
    return interrupted.exit_code


@contextmanager
def errors(debug: bool = False) -> Iterator[None]:
    """User errors -> one line and exit 2; a signal -> one line and 130/143; anything
    unexpected -> one line and exit 3."""
    try:
        yield
    except TecurateError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except KeyboardInterrupt as exc:
        raise typer.Exit(aborted(exc)) from None
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        raise fail(f"internal error: {type(exc).__name__}: {exc} (re-run with --debug for the traceback)",
                    EXIT_INTERNAL) from None


class RichProgress:
    """Draws the core's ``progress(stage, done, total)`` calls as rich progress bars."""

    LABELS = {"embed": "embedding texts", "fit": "fitting models", "sweep": "combinations"}

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(self.LABELS.get(stage, stage), total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


BAR_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def with_progress(console: Console, quiet: bool, work: Callable[[RichProgress | None], T]) -> T:
    """Run ``work`` with live progress bars on a terminal, and without them otherwise."""
    if quiet or not console.is_terminal:
        return work(None)
    with Progress(*BAR_COLUMNS, console=console, transient=True) as bars:
        return work(RichProgress(bars))


def knob(setting: Setting) -> inspect.Parameter:
    """A typer option for one row of the settings table: help, default and flag come from it."""
    default = setting.default_text()
    shown = f" [default: {default}]" if default and setting.kind != "bool" and not setting.required else ""
    decls = [setting.cli_flag, *([setting.short] if setting.short else [])]
    group = panel(setting.group)
    if setting.kind == "bool":
        option = typer.Option(*decls, help=setting.help, rich_help_panel=group)
        return inspect.Parameter(setting.name, inspect.Parameter.KEYWORD_ONLY, default=False,
                                 annotation=Annotated[bool, option])
    value_type = {"int": int, "float": float}.get(setting.kind, str)
    completion = completer(setting) if setting.choices is not None else None
    option = typer.Option(*decls, help=setting.help + shown, rich_help_panel=group, autocompletion=completion)
    return inspect.Parameter(setting.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[value_type], option])


def completer(setting: Setting) -> Callable[[str], list[str]]:
    """Shell completion of a knob's choices; of a list knob, of the item after the last comma."""

    def complete(incomplete: str) -> list[str]:
        done, comma, last = incomplete.rpartition(",") if setting.kind == "list" else ("", "", incomplete)
        return [f"{done}{comma}{choice}" for choice in setting.allowed() or () if choice.startswith(last)]

    return complete


def passed_value(setting: Setting, value: Any) -> Any:
    """What the user passed for a knob, or None when they passed nothing (the file or default decides)."""
    if setting.kind == "bool":
        return (not setting.default) if value else None
    if setting.kind == "list" and value is not None:
        items = parse_list(value)
        if not items:
            raise TecurateError(f"{setting.cli_flag} must name at least one item")
        return items
    return value


def with_settings(command: str, knobs: tuple[Setting, ...] | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a command one option per knob the settings table lists for it (or per one of ``knobs``).

    The decorated function declares only its own options and takes ``settings``: the knobs the
    user passed on the command line (name -> value), ready for :func:`resolve_config`.
    """
    knobs = settings_for(command) if knobs is None else knobs

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "settings"]

        def command_function(**kwargs: Any) -> T:
            with errors(kwargs.get("debug", False)):
                passed = {s.name: passed_value(s, kwargs.pop(s.name)) for s in knobs}
            return func(settings=passed, **kwargs)

        params = [*own, *(knob(s) for s in knobs)]
        command_function.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command_function.__annotations__ = {p.name: p.annotation for p in params}
        command_function.__name__ = func.__name__
        command_function.__doc__ = func.__doc__
        return command_function

    return decorate
