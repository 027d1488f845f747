"""What a knob is: the :class:`Setting` record every row of the settings table is made of.

A module of its own, importing nothing of tecurate's but the error type, so that any stage (a gate
declaring its thresholds, a plug-in) can declare a knob without importing the table itself
(:mod:`tecurate.config`), which imports the registries of every stage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tecurate.errors import TecurateError

AUDIT, SERIALIZE, EMBED, COMPARE, SIMULATE = "audit", "serialize", "embed", "compare", "simulate"
"""The commands that take settings."""

KINDS = {"str": str, "int": int, "float": float, "bool": bool, "list": tuple}
"""Value types a setting can have; a "list" holds strings (a TOML list or a comma-separated string)."""

AUDIT_COMMANDS = (AUDIT, SERIALIZE, EMBED)
"""Commands whose settings are audit settings (AuditConfig fields); compare's are its own."""


@dataclass(frozen=True)
class Setting:
    """One knob: what it is, its default and bounds, and where a user can set it."""

    name: str
    default: Any
    help: str
    group: str
    """Where the knob belongs: input, split, embedding, grid, gates, spurious, output."""
    kind: str = "str"
    optional: bool = False
    """None is allowed and means "not set": the stage chooses (shown as ``shown_default``)."""
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] | Callable[[], Sequence[str]] | None = None
    """Allowed values (for a list: of each item); a callable reads a registry when checked."""
    item: str = "value"
    """What one choice is called in an error ("unknown model family svm")."""
    commands: tuple[str, ...] = (AUDIT,)
    flag: str | None = None
    """The CLI flag; default ``--`` + the name with dashes. A bool flag sets ``not default``."""
    short: str | None = None
    shown_default: str | None = None
    """How the default reads in help and README where the value alone would not say it."""
    required: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name}: unknown kind {self.kind!r}")

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def allowed(self) -> tuple[str, ...] | None:
        choices = self.choices() if callable(self.choices) else self.choices
        return None if choices is None else tuple(choices)

    def default_text(self) -> str:
        """The default as help texts and the README show it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.kind == "list":
            return ",".join(self.default)
        if self.kind == "bool":
            return "off" if self.default is False else "on"
        return "" if self.default is None else f"{self.default:g}" if self.kind == "float" else str(self.default)

    def check(self, value: Any, label: str | None = None) -> None:
        """Raise the one-line user error for a value this knob cannot take.

        ``label`` names the knob in the message (a config file's key); default: the flag.
        """
        name = label or self.cli_flag
        if value is None:
            require(self.optional, f"{name} must be given")
            return
        require(self._has_kind(value), f"{name} must be {_KIND_WORDS[self.kind]}, got {value!r}")
        allowed = self.allowed()
        if allowed is not None:
            self._check_choices(value, allowed, name)
        if self.low is not None or self.high is not None:
            require(self._in_bounds(value), f"{name} must be {self.bounds_text()}")

    def _has_kind(self, value: Any) -> bool:
        if self.kind == "list":
            return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        if self.kind == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, KINDS[self.kind]) and (self.kind == "bool" or not isinstance(value, bool))

    def _check_choices(self, value: Any, allowed: tuple[str, ...], name: str) -> None:
        if self.kind != "list":
            require(value in allowed, f"{name} must be {_or_list(allowed)}")
            return
        require(bool(value), f"{name} must name at least one {self.item}")
        unknown = [v for v in value if v not in allowed]
        require(not unknown, f"unknown {self.item} {', '.join(unknown)}; choose from {', '.join(allowed)}")
        require(len(set(value)) == len(value), f"{name} lists a {self.item} twice")

    def _in_bounds(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below

    def bounds_text(self) -> str:
        """"at least 1", "between 0 and 1", "in (0.5, 1]": how the README and errors state bounds."""
        low, high = _number(self.low), _number(self.high)
        if self.high is None:
            return f"{'above' if self.open_low else 'at least'} {low}"
        if self.low is None:
            return f"{'below' if self.open_high else 'at most'} {high}"
        if not (self.open_low or self.open_high):
            return f"between {low} and {high}"
        return f"in {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"


def _number(value: float | None) -> str:
    """A bound as people write it: every digit of an integer (4294967295, not 4.29497e+09)."""
    return "" if value is None else str(value) if isinstance(value, int) else f"{value:g}"


_KIND_WORDS = {"str": "a text", "int": "a whole number", "float": "a number", "bool": "true or false",
               "list": "a list of names"}


def require(ok: bool, message: str) -> None:
    """Raise the one-line user error ``message`` unless ``ok``."""
    if not ok:
        raise TecurateError(message)


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def parse_list(value: str | Iterable[Any]) -> tuple[str, ...]:
    """A comma-separated string (the CLI, a TOML string) or a list (TOML) as a tuple of names."""
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return tuple(v.strip() for v in items if v.strip())


def settle(record: Any, settings: Sequence[Setting]) -> None:
    """Normalize and check each of ``settings`` on a frozen config record (a command's own
    dataclass): library callers may pass a list as a string or as numbers; the table's kind is a
    tuple of names."""
    for setting in settings:
        value = getattr(record, setting.name)
        if setting.kind == "list" and value is not None:
            value = parse_list(value) if isinstance(value, str) else tuple(str(v) for v in value)
            object.__setattr__(record, setting.name, value)
        setting.check(value)


def settings_record(name: str, module: str, settings: Sequence[Setting], doc: str,
                    post_init: Callable[[Any], None], **members: Any) -> type:
    """A command's own settings record (``SimulateConfig``, ``SweepConfig``): a frozen dataclass with
    one field per setting (its default; the row in the field's metadata), checked by ``post_init``,
    with ``to_dict`` (lists as lists) and any further ``members`` (properties)."""
    fields = [(s.name, "tuple[str, ...]" if s.kind == "list" else s.kind,
               dataclasses.field(default=s.default, metadata={"setting": s})) for s in settings]
    namespace = {"__post_init__": post_init, "to_dict": _record_dict, "__doc__": doc, **members}
    cls = dataclasses.make_dataclass(name, fields, frozen=True, namespace=namespace)
    cls.__module__ = module
    return cls


def _record_dict(self: Any) -> dict[str, Any]:
    data = dataclasses.asdict(self)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
