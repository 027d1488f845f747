"""One sanitizer for the terminal: control, ESC and bidi characters from names, values, paths and
messages are shown escaped on stderr, with or without colour."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import make_frame
from rich.text import Text
from typer.testing import CliRunner

from tecurate.cli import app
from tecurate.reporting import SafeConsole, sanitize

runner = CliRunner()
FAST = ["--shift-col", "region", "--min-domain-rows", "100", "--no-cache", "--n-jobs", "1",
        "--families", "logreg", "--n-configs", "2", "--max-te-only-collapse-rate", "1"]
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never reach stderr raw (rich's own newlines aside)."""
HOSTILE = "x\x1b[2J\x1b]0;owned\x07\u202eevil\u2066\x9b"
HOSTILE_PARTS = ("\x1b[2J", "\x1b]", "\x07", "\u202e", "\u2066", "\x9b")
"""In colour, rich's own styles and cursor moves are ESC sequences too: look for the hostile ones."""


def test_sanitize_escapes_controls_esc_c1_and_bidi_and_is_idempotent():
    assert sanitize(HOSTILE) == "x\\x1b[2J\\x1b]0;owned\\x07\\u202eevil\\u2066\\x9b"
    assert sanitize(sanitize(HOSTILE)) == sanitize(HOSTILE)
    assert sanitize("a\nb\tc") == "a\\x0ab\\x09c"
    assert sanitize("a\nb", keep_newlines=True) == "a\nb"
    assert sanitize("plain ünïcödé – ok") == "plain ünïcödé – ok"


@pytest.mark.parametrize("color", [None, "truecolor"])
def test_the_safe_console_escapes_data_but_keeps_its_own_styles(color):
    out = io.StringIO()
    console = SafeConsole(file=out, color_system=color, force_terminal=color is not None, width=80)
    console.print(Text.assemble(("status ", "bold red"), HOSTILE))
    console.print(f"path {HOSTILE}", markup=False)
    text = out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's own styles
    assert not RAW.search(plain), repr(text)
    assert plain.count("\\x1b[2J") == 2 and "\\u202e" in plain
    assert ("\x1b[1;31m" in text) == (color is not None)


@pytest.fixture
def hostile_table(tmp_path):
    frame = make_frame()
    frame.columns = [f"x{HOSTILE}", "plan", "region", "label"]
    frame["plan"] = frame["plan"] + "\u202e\x1b[31m"
    path = tmp_path / f"t{HOSTILE}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": None, "FORCE_COLOR": "1"}])
def test_audit_summary_and_saved_report_show_hostile_names_escaped(hostile_table, tmp_path, fake_embedder, env):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["audit", str(hostile_table), "--target", "label", *FAST, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.stderr
    for stderr in (result.stderr, runner.invoke(app, ["report", str(out)], env=env).stderr):
        assert not any(part in stderr for part in HOSTILE_PARTS), repr(stderr)
        assert env.get("NO_COLOR") is None or not RAW.search(stderr), repr(stderr)
        assert "\\x1b[2J" in stderr and "\\u202e" in stderr
    assert HOSTILE in json.loads(out.read_text())["serialization"]["columns"][0]  # the data itself is kept


@pytest.mark.parametrize("args", [
    ["audit", f"missing{HOSTILE}.csv", "--target", "label"],
    ["audit", "{table}", "--target", f"nope{HOSTILE}"],
    ["report", f"missing{HOSTILE}.json"],
])
def test_error_lines_show_hostile_paths_and_names_escaped(hostile_table, fake_embedder, args):
    args = [str(hostile_table) if a == "{table}" else a for a in args]
    result = runner.invoke(app, args, env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and not RAW.search(result.stderr[:-1]), repr(result.stderr)
    assert "\\x1b[2J" in result.stderr and "\\u202e" in result.stderr
