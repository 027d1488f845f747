"""mkdocs hook: fill the settings table of docs/settings.md from tecurate's settings table at
build time, so the site can never show a stale one (the README's is checked by a test)."""

from __future__ import annotations

from typing import Any

from tecurate.config import README_MARKERS, with_settings_table


def on_page_markdown(markdown: str, **_: Any) -> str:
    """The page with its settings-table block regenerated; pages without the markers pass as they are."""
    return with_settings_table(markdown) if README_MARKERS[0] in markdown else markdown
