"""The pre-commit hook (``.pre-commit-hooks.yaml``): audit each staged data file, bounded so that a
commit stays fast.

pre-commit runs ``python -m tecurate._precommit [ARGS...] FILE...``: the hook's ``args`` first,
then the staged files. Each FILE is audited as ``tecurate audit FILE --quiet ARGS...`` would be,
with the settings of ``[tool.tecurate]`` in ./pyproject.toml (or of ``--config``). A knob of
:data:`HOOK_BOUNDS` that neither ARGS nor that file sets gets the hook's bound instead of the
audit's default, so a commit never waits for a full audit. The exit status is the worst file's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from tecurate.cli import main as cli_main
from tecurate.config import BY_NAME, read_config_file, settings_for
from tecurate.errors import TecurateError
from tecurate.reporting import sanitize
from tecurate.settings import AUDIT
from tecurate.status import EXIT_PASS, EXIT_SIGINT

HOOK_BOUNDS = {"max_rows": 2000, "n_configs": 4}
"""A stratified sample of at most 2,000 rows and 4 configurations per family: tens of seconds
for a cold audit on 2 cores, seconds with a warm cache."""


def _value_flags() -> set[str]:
    """The audit flags that take a value (so the word after one is not a file name)."""
    flags = {"--config"}
    for setting in settings_for(AUDIT):
        if setting.kind != "bool":
            flags.update(f for f in (setting.cli_flag, setting.short) if f)
    return flags


def split_arguments(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(audit flags, files) of the hook's command line."""
    takes_value = _value_flags()
    flags: list[str] = []
    files: list[str] = []
    items: Iterator[str] = iter(argv)
    for item in items:
        if item in takes_value:
            flags += [item, *([value] if (value := next(items, None)) is not None else [])]
        elif item.startswith("-") and item != "-":
            flags.append(item)
        else:
            files.append(item)
    return flags, files


def _flag_value(flags: Sequence[str], flag: str) -> str | None:
    for i, item in enumerate(flags):
        if item == flag and i + 1 < len(flags):
            return flags[i + 1]
        if item.startswith(flag + "="):
            return item.split("=", 1)[1]
    return None


def bounds(flags: Sequence[str]) -> list[str]:
    """The hook's bound for each knob of :data:`HOOK_BOUNDS` that neither ``flags`` nor the config
    file sets, as flags (precedence: hook args, then the config file, then these bounds)."""
    try:
        file_settings, _ = read_config_file(_flag_value(flags, "--config"))
    except TecurateError:
        return []  # each audit reports the broken config file itself, in the CLI's words
    given = {item.split("=", 1)[0] for item in flags}
    extra: list[str] = []
    for name, value in HOOK_BOUNDS.items():
        setting = BY_NAME[name]
        if name not in file_settings and not given & {setting.cli_flag, setting.short}:
            extra += [setting.cli_flag, str(value)]
    return extra


def _audit(args: list[str]) -> int:
    """The exit code of ``tecurate audit`` in this process: the CLI's messages, words and codes."""
    try:
        cli_main(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_PASS
    return EXIT_PASS


def main(argv: Sequence[str] | None = None) -> int:
    """Audit every file; stop at a signal (exit 130 or 143), else return the worst exit code."""
    flags, files = split_arguments(sys.argv[1:] if argv is None else argv)
    extra = bounds(flags)
    worst = EXIT_PASS
    for path in files:
        print(f"tecurate: {sanitize(path)}", file=sys.stderr, flush=True)
        code = _audit(["audit", path, "--quiet", *extra, *flags])
        worst = max(worst, code)
        if code >= EXIT_SIGINT:
            break
    return worst


if __name__ == "__main__":
    sys.exit(main())
