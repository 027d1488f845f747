"""The HTML report: self-contained, escaped, and drawing what the report says (see
test_browser.py for the page in a real browser)."""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser
from importlib import resources

import pytest
from conftest import ConstantEmbedder, make_frame
from fake_reports import audit_report

from tecurate.reporting import dumps, render_html
from tecurate.reporting._html import COLORS
from tecurate.reporting._html._svg import Frame, clip_line, probit_ticks

HOSTILE_COLUMN = "<script>alert(1)</script>"
HOSTILE_VALUE = "\"basic\" & 'co' <script>alert(\"x\")</script>"
HOSTILE_DOMAIN = "<b onmouseover=alert(2)>B</b>"
HOSTILE_CLASS = "<img src=x onerror=alert(3)>"

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "section", "footer", "h1", "h2",
                "h3", "p", "b", "br", "span", "ul", "li", "div", "table", "thead", "tbody", "tr", "th", "td",
                "figure", "figcaption", "svg", "rect", "circle", "line", "path", "text"}


class _Page(HTMLParser):
    """Every tag, attribute and piece of text of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return audit_report(tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    frame = make_frame().rename(columns={"plan": HOSTILE_COLUMN})
    frame[HOSTILE_COLUMN] = frame[HOSTILE_COLUMN] + " " + HOSTILE_VALUE
    frame["region"] = frame["region"].replace({"B": HOSTILE_DOMAIN})
    frame["label"] = frame["label"].replace({"yes": HOSTILE_CLASS})
    report = audit_report(tmp_path_factory.mktemp("hostile"), frame)
    assert f"ood:{HOSTILE_DOMAIN}" in report["aotl"]["te"]
    assert HOSTILE_VALUE in report["serialization"]["example"]
    return render_html(report)


def _svg(page: str, label: str) -> str:
    start = page.index(f'aria-label="{html.escape(label)}"')
    return page[start:page.index("</svg>", start)]


def test_data_from_the_table_renders_as_text_never_as_markup(hostile_page):
    parsed = _Page(hostile_page)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    assert not [name for _, attrs in parsed.tags for name, _ in attrs if name.startswith("on")]
    assert "<script" not in hostile_page.lower() and "<img" not in hostile_page.lower()
    text = "".join(parsed.text)
    for hostile in (HOSTILE_COLUMN, HOSTILE_VALUE, HOSTILE_DOMAIN, HOSTILE_CLASS):
        assert hostile in text
    assert html.escape(HOSTILE_COLUMN) in hostile_page
    assert html.escape(f"ood:{HOSTILE_DOMAIN}") in hostile_page


def test_the_page_is_self_contained(hostile_page):
    assert "http://" not in hostile_page and "https://" not in hostile_page
    parsed = _Page(hostile_page)
    assert not [(tag, name) for tag, attrs in parsed.tags for name, _ in attrs
                if name in ("src", "href", "srcset", "action", "data", "xlink:href")]
    csp = [dict(attrs)["content"] for tag, attrs in parsed.tags
           if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0]


def test_a_saved_report_renders_the_same_page(report):
    assert render_html(json.loads(dumps(report))) == render_html(report)


def test_the_packaged_stylesheet_is_inlined(report):
    css = resources.files("tecurate.reporting._html").joinpath("report.css").read_text("utf-8")
    assert css.startswith("*{box-sizing:border-box}")
    assert f"<style>\n{css}</style>" in render_html(report)


def test_thresholds_shown_are_the_reports_own(report):
    changed = copy.deepcopy(report)
    changed["config"].update(collapse_threshold=0.97, probit_eps=0.005)
    page = render_html(changed)
    assert "At or beyond the dashed line (0.97)" in page
    assert "clipped to [0.005, 1 − 0.005]" in page


def test_verdict_and_reasons_come_first(report):
    page = render_html(report)
    order = [page.index(heading) for heading in ("<h2>Verdict", "<h2>Accuracy on the line",
                                                  "<h2>Collapse per family", "<h2>Accuracy, raw vs text",
                                                  "<h2>Data and shift", "<h2>Serialization and embedding",
                                                  "<h2>Resolved configuration")]
    assert order == sorted(order)
    for reason in report["verdict"]["reasons"]:
        assert html.escape(reason) in page[:order[1]]
    for gate in report["verdict"]["gates"]:
        assert html.escape(gate["message"]) in page[:order[1]]


def test_one_aotl_scatter_per_ood_split_with_every_model_and_both_lines(report):
    page = render_html(report)
    for split in report["aotl"]["te"]:
        svg = _svg(page, f"accuracy on the line, {split}")
        for rep in ("raw", "te"):
            n_models = sum(m["representation"] == rep for m in report["models"])
            assert len(re.findall(rf"<title>[^<]*\({rep}\): ID ", svg)) == n_models
            fit = report["aotl"][rep][split]
            drawn = re.findall(rf'<line [^>]*stroke="{COLORS[rep]}" stroke-width="2"'
                               r'( stroke-dasharray="6 4")?/>', svg)
            assert len(drawn) == sum(fit[which]["slope"] is not None for which in ("all", "healthy"))
        assert "base rate (" in svg


def test_collapsed_models_are_hollow(tmp_path):
    report = audit_report(tmp_path, embedder=ConstantEmbedder)
    page = render_html(report)
    split = next(iter(report["aotl"]["te"]))
    svg = _svg(page, f"accuracy on the line, {split}")
    te_markers = re.findall(rf'<rect [^>]*fill="([^"]+)"[^>]*stroke="{COLORS["te"]}"', svg)
    assert te_markers and set(te_markers) == {"#fff"}
    raw_healthy = [m for m in report["models"] if m["representation"] == "raw"
                   and not (m["splits"]["id_test"]["collapsed"] or m["splits"][split]["collapsed"])]
    assert len(re.findall(rf'<circle [^>]*fill="{COLORS["raw"]}"', svg)) == len(raw_healthy)


def test_collapse_and_accuracy_sections_cover_every_split(report):
    page = render_html(report)
    for split in report["summary"]["representations"]["te"]:
        assert 'aria-label="majority-class rate per model"' in page
        assert f'aria-label="accuracy per configuration, {html.escape(split)}"' in page
    assert html.escape(report["serialization"]["example"]) in page
    assert html.escape(report["embedding"]["model"]) in page
    for key in report["config"]:
        assert f"<td>{html.escape(key)}</td>" in page


def test_undefined_fits_render_without_lines(report):
    broken = copy.deepcopy(report)
    for fits in broken["aotl"].values():
        for fit in fits.values():
            for which in ("all", "healthy"):
                fit[which].update(slope=None, intercept=None, r=None, r2=None, p_value=None, r_ci=None)
            fit["base_rate_point"] = None
    page = render_html(broken)
    split = next(iter(broken["aotl"]["te"]))
    svg = _svg(page, f"accuracy on the line, {split}")
    assert not re.search(r'<line[^>]*stroke-width="2"', svg) and "base rate (" not in svg
    assert "– (" in page


def test_lines_are_clipped_to_the_plot_box():
    frame = Frame((0.0, 1.0), (0.0, 1.0), 100, 100)
    assert clip_line(1.0, 0.0, frame) == (0.0, 0.0, 1.0, 1.0)
    assert clip_line(2.0, 0.0, frame) == (0.0, 0.0, 0.5, 1.0)
    assert clip_line(0.0, 0.5, frame) == (0.0, 0.5, 1.0, 0.5)
    assert clip_line(1.0, 5.0, frame) is None
    assert clip_line(0.0, 2.0, frame) is None


@pytest.mark.parametrize("lo, hi", [(-3.2, 3.2), (-0.5, 0.5), (0.8, 1.1), (1.5, 2.4), (-0.1, 0.3)])
def test_probit_axes_get_a_few_readable_ticks(lo, hi):
    ticks = probit_ticks(lo, hi, 1e-3)
    assert 2 <= len(ticks) <= 7
    assert all(lo <= position <= hi for position, _ in ticks)
    assert [acc for _, acc in ticks] == sorted(acc for _, acc in ticks)


def test_an_unlabelled_ood_file_renders_without_accuracy_plots(tmp_path):
    frame = make_frame(800)
    ood = tmp_path / "ood.csv"
    frame[frame.region != "A"].drop(columns=["label", "region"]).to_csv(ood, index=False)
    report = audit_report(tmp_path, frame[frame.region == "A"], shift_col=None, ood_path=str(ood),
                          drop_cols=("region",))
    page = render_html(report)
    assert "No labelled OOD split" in page and "No accuracy on this split (it has no labels)" in page
    assert 'aria-label="majority-class rate per model"' in page


def test_repeats_and_agreement_get_their_sections(tmp_path, report):
    assert "<h2>Stability over seeds" not in render_html(report)
    repeated = audit_report(tmp_path, repeats=2)
    page = render_html(repeated)
    assert "<h2>Stability over seeds" in page and "Verdict per seed: 0: " in page
    assert ("<h2>Agreement on the line" in page) == bool(repeated["agreement"])
