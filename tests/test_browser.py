"""The HTML report in a real browser: headless Chromium loads it with no console message and the
screenshot shows the plots in the report's colours.

Skipped, with the reason printed (``-ra``), when no Chromium is installed; ``make test``
installs the Debian package ``chromium`` when it runs as root on a machine with apt-get.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from fake_reports import audit_report

from tecurate.reporting import render_html
from tecurate.reporting._html import COLORS

WINDOW = (1000, 1100)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    found = next((path for path in map(shutil.which, CANDIDATES) if path), None)
    if found is None:
        pytest.skip("Chromium not found, the HTML report was NOT checked in a browser: install the "
                    "Debian package 'chromium' (make test does when it runs as root with apt-get)")
    return found


def _screenshot(chromium: str, page: Path, png: Path, profile: Path) -> str:
    """Load ``page`` headless with networking off; returns Chromium's log (stderr)."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", f"--screenshot={png}",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(profile)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def _decode_png(data: bytes) -> np.ndarray:
    """8-bit RGB(A), non-interlaced PNG to a (height, width, channels) array, with numpy only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    assert depth == 8 and color_type in (2, 6) and interlace == 0, header
    bpp = 3 if color_type == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            running = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint64)
            row = (running % 256).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average (3) and Paeth (4) depend on the byte just decoded: one by one
            row = bytearray(stride)
            up = previous.tolist()
            for x, value in enumerate(line.tolist()):
                a = row[x - bpp] if x >= bpp else 0
                b = up[x]
                if kind == 3:
                    row[x] = (value + (a + b) // 2) & 0xFF
                else:
                    c = up[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    row[x] = (value + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            row = np.frombuffer(bytes(row), dtype=np.uint8)
        out[y] = row
        previous = row
    return out.reshape(height, width, bpp)[:, :, :3]


def _share_near(pixels: np.ndarray, hex_color: str, tolerance: int = 24) -> float:
    target = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(pixels.astype(int) - target).max(axis=2) <= tolerance).mean())


def test_chromium_loads_the_report_cleanly_and_shows_the_plots(tmp_path):
    chromium = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(audit_report(tmp_path)), encoding="utf-8")
    png = tmp_path / "report.png"
    log = _screenshot(chromium, page, png, tmp_path / "profile")
    assert _console_messages(log) == []

    data = png.read_bytes()
    assert len(data) > 20_000
    pixels = _decode_png(data)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert _share_near(pixels, COLORS["raw"]) > 1e-4
    assert _share_near(pixels, COLORS["te"]) > 1e-4


def test_the_console_check_would_see_an_error(tmp_path):
    """The check above is only worth something if Chromium's console reaches its log."""
    chromium = _chromium()
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>x</title><script>console.error('seen')</script>", encoding="utf-8")
    log = _screenshot(chromium, page, tmp_path / "broken.png", tmp_path / "profile")
    assert any("seen" in line for line in _console_messages(log))
