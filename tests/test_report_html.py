"""report.html: one offline file with the table and plotly's inlined JavaScript, rendered in Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_viz import _study

from vertex_hydra.results.html import write_report

CHROMIUM = Path("/usr/bin/chromium")


def test_report_is_self_contained_with_the_table_and_inlined_plotly(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    text = write_report(_study(), tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=['\"]?https?://", text)
    assert "<script src" not in text
    assert "Plotly.newPlot" in text and len(text) > 1_000_000  # plotly.js itself is inlined
    assert "<table id='trials'>" in text and "<td>4 *</td>" in text
    assert text.count("class='plotly-graph-div'") + text.count('class="plotly-graph-div"') >= 5


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (Debian's chromium package)")
    from PIL import Image

    page = write_report(_study(), tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=300, check=True,
    )  # fmt: skip
    image = Image.open(shot).convert("RGB")
    colored = sum(1 for r, g, b in image.getdata() if max(r, g, b) - min(r, g, b) > 60)
    assert colored > 2000  # plot markers and lines, not a blank or text-only page
