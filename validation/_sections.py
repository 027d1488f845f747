"""Each validation script owns one section of validation/RESULTS.md, between its own markers."""

from __future__ import annotations

from pathlib import Path


def write_between(path: Path, begin: str, end: str, block: str) -> None:
    """Put ``block`` (which starts with ``begin`` and ends with ``end``) where the last run's block
    between those markers was, keeping every other section; append it when there is none yet."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = block.strip("\n")
    if begin in text and end in text[text.index(begin):]:
        start = text.index(begin)
        stop = text.index(end, start) + len(end)
        text = text[:start] + block + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def publish(block: str, path: Path, begin: str, end: str, *, show: bool) -> None:
    """A script's ``--print`` (show the block) or its default: write it between its markers."""
    if show:
        print(block)
        return
    write_between(path, begin, end, block)
    print(f"wrote {path}")
