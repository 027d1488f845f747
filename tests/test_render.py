"""The terminal summary fits a 100-column terminal and says what the issue asks for; the CLI's
help reads one settings group at a time."""

from __future__ import annotations

import copy
import io

import pytest
from conftest import make_frame
from fake_reports import audit_report
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from tecurate.cli import app, main
from tecurate.config import AUDIT, settings_for
from tecurate.reporting import compare_reports, comparison_summary, summary, verdict_line
from tecurate.reporting._terminal import shorten

LONG_DOMAIN = "a-rather-long-domain-value-that-someone-typed-into-a-spreadsheet-" * 2


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    frame = make_frame()
    frame["region"] = frame["region"].replace({"B": LONG_DOMAIN})
    data = audit_report(tmp_path_factory.mktemp("render"), frame)
    data["input"]["path"] = "/very/deep/folder/" * 8 + "table_with_a_long_name.csv"
    return data


def _lines(renderable) -> list[str]:
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def test_the_summary_fits_100_columns_and_has_every_part(report):
    lines = _lines(summary(report, {"JSON report": "out/report.json", "HTML report": "out/report.html"}))
    assert max(cell_len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert text.count(report["verdict"]["status"].upper()) >= 1
    assert "Collapse and accuracy per split" in text and "raw collapse" in text and "te collapse" in text
    for part in ("Accuracy-on-the-line", "r² all", "r² healthy", "spurious",
                 "JSON report written to out/report.json", "HTML report written to out/report.html"):
        assert part in text


def test_the_summary_counts_fits_taken_from_the_cache(report):
    assert "fits (" not in "\n".join(_lines(summary(report)))
    warm = copy.deepcopy(report)
    for model in warm["models"][:3]:
        model["cached"] = True
    assert f"models: {len(warm['models'])} fits (3 from the cache)" in "\n".join(_lines(summary(warm)))


def test_the_summary_names_a_ray_engine_and_not_the_local_one(report):
    assert "engine:" not in "\n".join(_lines(summary(report)))
    on_ray = copy.deepcopy(report)
    on_ray["engine"] = {"name": "ray", "version": "2.60.0", "address": "existing", "nodes": 2, "cpus": 4, "gpus": 0,
                        "actors": 2, "actor_nodes": 2, "tasks": 36}
    assert "engine: ray 2.60.0 (existing cluster, 2 nodes, 4 CPUs, 0 GPUs, 2 embedding actors)" in \
        "\n".join(_lines(summary(on_ray)))


def test_the_verdict_line_names_the_status_and_first_reason(report):
    failing = copy.deepcopy(report)
    failing["verdict"].update(status="fail", reasons=["te_collapse_rate: too many", "spurious_aotl: yes"])
    assert verdict_line(failing).plain == "tecurate: FAIL - te_collapse_rate: too many (+1 more)"


def test_the_comparison_fits_100_columns(report):
    worse = copy.deepcopy(report)
    worse["summary"]["paired"]["id_test"].update(excess_collapse_rate=0.5, n_te_only=12, n_raw_only=0, n_pairs=24)
    worse["config"]["template"] = "kv"
    lines = _lines(comparison_summary(compare_reports(report, worse)))
    assert max(cell_len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "REGRESSION" in text and "worse" in text and "note: setting template: 'sentence' -> 'kv'" in text


@pytest.mark.parametrize("text, limit, shown", [
    ("short enough", 20, "short enough"),
    ("exactly ten", 11, "exactly ten"),
    ("aaa bbb ccc", 8, "aaa bbb…"),  # cut at the space after a whole word
    ("aaa bbb ccc", 7, "aaa…"),  # 'bbb' would not fit with the ellipsis: dropped whole
    ("aaa bbb, ccc", 10, "aaa bbb,…"),
    ("one-very-long-word and more", 8, "one-ver…"),  # no boundary to cut at: bounded anyway
])
def test_shorten_cuts_at_a_word_boundary_with_an_ellipsis(text, limit, shown):
    assert shorten(text, limit) == shown
    assert len(shorten(text, limit)) <= limit


def test_the_summarys_example_text_never_ends_mid_word(report):
    """On main the example was cut at 200 characters, mid-word and without an ellipsis."""
    long = copy.deepcopy(report)
    words = [f"w{i}y{i * i * 7}" for i in range(60)]  # lengths vary, so a cut at 200 lands inside a word
    assert not " ".join(words)[199].isspace() and not " ".join(words)[200].isspace()
    long["serialization"]["example"] = " ".join(words)
    text = " ".join(_lines(summary(long)))
    assert "…" in text
    shown = text.split("example text: ", 1)[1].split("…", 1)[0].split()
    assert shown == words[:len(shown)] and len(" ".join(shown)) <= 199 and len(shown) > 20


# --- the CLI's help: one panel per settings group, defaults visible; shell completion -----------------

def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_audit_help_shows_one_panel_per_settings_group_with_the_defaults():
    """On main every option of audit was in one 'Options' list of about 50 entries."""
    text = _help("audit")
    headings = [line.rstrip(":") for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings == ["Arguments", "Input options", "Split options", "Embedding options", "Grid options",
                        "Engine options", "Gates options", "Spurious options", "Output options", "Options"]
    panel = {}
    for line in text.splitlines():
        if line in (f"{h}:" for h in headings):
            current = line[:-1]
        else:
            for token in line.split() if line.startswith("  -") else ():
                if not token.startswith("-"):
                    break
                panel[token.rstrip(",")] = current
    settings = {s.cli_flag: s.group for s in settings_for(AUDIT)}
    assert {flag: panel.get(flag) for flag in settings} == {f: f"{g.capitalize()} options" for f, g in settings.items()}
    assert panel["--html"] == panel["-o"] == "Output options" and panel["--config"] == "Input options"
    for default in ("[default: 200]", "[default: fail]", "[default: sentence]", "[default: 0.99]"):
        assert default in text.replace("\n", " ")


def test_compare_help_has_its_threshold_in_a_panel_and_the_root_offers_completion():
    assert "Compare options:\n  --max-regression <float>" in _help("compare")
    assert "--install-completion" in _help() and "--show-completion" in _help()


def test_show_completion_prints_a_script_and_completion_completes_commands_and_choices(capsys, monkeypatch):
    with pytest.raises(SystemExit) as done:
        main(["--show-completion", "bash"])
    assert done.value.code == 0
    assert "_TECURATE_COMPLETE=complete_bash" in capsys.readouterr().out

    def complete(words: str) -> list[str]:
        monkeypatch.setenv("_TECURATE_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if not words.endswith(" ") else -1) - 1))
        with pytest.raises(SystemExit):
            main([])
        return capsys.readouterr().out.split()

    assert complete("tecurate au") == ["audit"]
    assert complete("tecurate audit t.csv --device c") == ["cpu", "cuda"]
    assert complete("tecurate audit t.csv --families logreg,x") == ["logreg,xgboost"]
