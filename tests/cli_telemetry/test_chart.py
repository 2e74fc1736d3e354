"""`draw_chart`: a ShowReply drawn headless into a PNG or an SVG (no server)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from plugyard_cli.telemetry_chart import ChartProblem, chart_series, draw_chart
from tests.cli_telemetry.replies import show_reply

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(element.itertext()).strip() for element in root.iter(SVG_TEXT)]


def test_a_png_is_written(tmp_path) -> None:
    out = tmp_path / "textkit.png"
    assert draw_chart(show_reply(), out) == out
    data = out.read_bytes()
    width, height = png_size(data)
    assert 600 <= width <= 4000 and 600 <= height <= 4000
    assert 20_000 < len(data) < 5_000_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_an_svg_holds_the_groups_series_and_version_marks_as_text(tmp_path) -> None:
    out = draw_chart(show_reply(), tmp_path / "textkit.svg")
    texts = svg_texts(out)
    for label in ("version=1.2.0 p50", "version=1.2.0 p99", "version=1.2.0 calls", "version=1.2.0 errors", "version=1.3.0 calls",
                  "version=1.3.0 p50"):
        assert label in texts
    assert texts.count("version=1.2.0") == 2  # the cpu and rss panels, where a group has one line
    assert "1.3.0 reload" in texts and "1.3.0 crash" in texts
    for title in ("latency (ms)", "calls & errors per step", "cpu %", "rss (MiB)"):
        assert title in texts
    assert "textkit (all versions): 2025-01-02 02:00:00Z → 2025-01-02 03:00:00Z (minute data, step 720s)" in texts


def test_marks_on_several_hosts_name_the_host(tmp_path) -> None:
    reply = show_reply()
    reply.marks[1].host = "h2"
    texts = svg_texts(draw_chart(reply, tmp_path / "c.svg"))
    assert "1.3.0 reload @h1" in texts and "1.3.0 crash @h2" in texts


def test_a_reply_without_data_is_drawn_as_empty_panels(tmp_path) -> None:
    reply = show_reply().model_copy(update={"groups": [], "marks": [], "times": []})
    texts = svg_texts(draw_chart(reply, tmp_path / "empty.svg"))
    assert texts.count("no data") == 4
    png_size(draw_chart(reply, tmp_path / "empty.png").read_bytes())


def test_what_the_chart_draws_is_listed_per_group() -> None:
    assert chart_series(show_reply()) == [
        {"group": "version=1.2.0", "key": {"version": "1.2.0"}, "series": ["calls", "errors", "p50_ms", "p99_ms", "cpu_percent", "rss_bytes"]},
        {"group": "version=1.3.0", "key": {"version": "1.3.0"}, "series": ["calls", "p50_ms"]},
    ]


@pytest.mark.parametrize("name", ["chart.jpg", "chart.pdf", "chart", "chart.png.txt"])
def test_other_formats_are_refused(tmp_path, name) -> None:
    with pytest.raises(ChartProblem, match=r"a chart is written as \.png or \.svg"):
        draw_chart(show_reply(), tmp_path / name)
    assert not (tmp_path / name).exists()


def test_an_unwritable_path_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ChartProblem, match=r"^cannot write .*missing/chart\.png: No such file or directory$"):
        draw_chart(show_reply(), tmp_path / "missing" / "chart.png")


def test_drawing_is_headless_whatever_backend_the_environment_asks_for(tmp_path) -> None:
    """No display, and MPLBACKEND naming a GUI backend: the chart is still drawn (on the Agg canvas)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"
    code = (
        "import sys; from pathlib import Path\n"
        "from plugyard_cli.telemetry_chart import draw_chart\n"
        "from tests.cli_telemetry.replies import show_reply\n"
        "draw_chart(show_reply(), Path(sys.argv[1]))\n"
    )
    out = tmp_path / "headless.png"
    done = subprocess.run([sys.executable, "-c", code, str(out)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    png_size(out.read_bytes())
