"""The server-side SVG charts: scale, ticks, escaping, gaps and clipping."""

from __future__ import annotations

import math

from cryoderm.clinic.web.charts import Band, Chart, Rule, Series, nice_ticks, render


def test_ticks_are_round_numbers_covering_the_range() -> None:
    assert nice_ticks(0.0, 35.0) == [0.0, 10.0, 20.0, 30.0]
    assert nice_ticks(-2.0, 3.0) == [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]


def test_labels_are_escaped_and_titles_describe_the_chart() -> None:
    svg = render(
        Chart("Cheek <b>", "t (s)", "T (°C)", [Series("a&b", [0, 1], [1, 2])], description="d")
    )
    assert "<b>" not in svg and "Cheek &lt;b&gt;" in svg
    assert "a&amp;b" in svg and "<desc>d</desc>" in svg


def test_missing_values_leave_gaps_instead_of_zeros() -> None:
    svg = render(
        Chart("c", "x", "y", [Series("s", [0, 1, 2], [5, math.nan, 7], key="k")], y_range=(0, 10))
    )
    points = svg.split('data-series="k" points="')[1].split('"')[0].split()
    assert len(points) == 2


def test_band_and_floor_are_drawn_and_lines_clipped_to_the_plot() -> None:
    svg = render(
        Chart(
            "c",
            "x",
            "y",
            [Series("s", [0, 100], [30, 0])],
            bands=[Band("target", 2, 4)],
            rules=[Rule("floor", 2)],
            x_range=(0, 50),
        )
    )
    assert "<title>target</title>" in svg and "<title>floor</title>" in svg
    assert 'clip-path="url(#clip-' in svg and "<clipPath" in svg


def test_negative_ticks_read_with_the_minus_sign_and_scripts_get_plain_numbers() -> None:
    svg = render(Chart("c", "x", "T (°C)", [Series("s", [0, 10], [-4, 2])], y_range=(-5, 5)))
    assert ">\u22124</text>" in svg and ">-4</text>" not in svg
    assert 'data-y0="-5"' in svg
