"""Outcome trend charts stay readable with one value, and with several values on one day."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse

from cryoderm.clinic.web.charts import MARGIN_B, MARGIN_L, MARGIN_R, MARGIN_T
from cryoderm.clinic.web.trends import TrendPoint, trend_chart
from web import world

DAY = dt.date(2026, 3, 2)
WIDTH, HEIGHT = 720, 260  # the trend chart's size


def dots(svg: str) -> list[tuple[float, float, str]]:
    """Centre and tooltip of every value's dot."""
    return [
        (float(x), float(y), tip)
        for x, y, tip in re.findall(
            r'<circle class="point" cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]*)</title>', svg
        )
    ]


def inside_the_plot(x: float, y: float) -> bool:
    return MARGIN_L < x < WIDTH - MARGIN_R and MARGIN_T < y < HEIGHT - MARGIN_B


def x_tick_texts(svg: str) -> list[str]:
    return re.findall(r'<text x="[\d.]+" y="\d+" text-anchor="middle">([^<]*)</text>', svg)


def test_one_value_is_a_dot_inside_the_plot_at_its_date() -> None:
    svg = trend_chart(
        "GAIS", "GAIS", "scale points", [TrendPoint(DAY, 2.0, "Clinician")], y_range=(1, 5)
    )
    [(x, y, tip)] = dots(svg)
    assert inside_the_plot(x, y)
    assert tip == "2 Mar 2026: 2 scale points (Clinician)"
    assert "2 Mar" in x_tick_texts(svg)
    assert "<polyline" not in svg  # no line of one point (invisible) nor a mean of one day


def test_values_on_one_day_stand_apart_at_that_date_and_the_line_joins_daily_means() -> None:
    points = [
        TrendPoint(DAY, 210.0),
        TrendPoint(DAY, 190.0),
        TrendPoint(DAY + dt.timedelta(days=14), 170.0),
    ]
    svg = trend_chart("Erythema index · Cheek", "Erythema index", "a.u.", points)
    found = dots(svg)
    assert len(found) == 3 and all(inside_the_plot(x, y) for x, y, _ in found)
    same_day = [d for d in found if d[2].startswith("2 Mar 2026")]
    assert len(same_day) == 2
    assert same_day[0][0] == same_day[1][0] and same_day[0][1] != same_day[1][1]
    mean_line = re.search(r'data-series="daily-mean" points="([^"]*)"', svg)
    assert mean_line is not None and len(mean_line.group(1).split()) == 2
    assert x_tick_texts(svg)[:3] == ["2 Mar", "7 Mar", "12 Mar"]


def test_dates_carry_the_year_when_the_history_crosses_one() -> None:
    points = [TrendPoint(dt.date(2025, 12, 20), 5.0), TrendPoint(dt.date(2026, 1, 10), 6.0)]
    assert x_tick_texts(trend_chart("s", "s", "points", points))[0] == "20 Dec 2025"


@pytest.mark.django_db
def test_the_trend_page_shows_a_single_score_and_same_day_measures(alice: Any) -> None:
    client = world.client()
    browser = Browser()
    browser.force_login(alice)
    new = reverse("web:outcome_new", args=[client.pk])
    browser.post(
        new,
        {
            "record_score": "1",
            "s-rater": "clinician",
            "s-scale": "gais",
            "s-score": "2",
        },
    )
    for value in ("210", "190"):
        browser.post(
            new,
            {
                "record_measure": "1",
                "m-quantity": "erythema-index",
                "m-value": value,
                "m-zone": "cheek",
            },
        )
    page = browser.get(reverse("web:outcome_trends", args=[client.pk])).content.decode()
    charts = page.split('<svg class="chart"')[1:]
    assert len(charts) == 2
    assert [len(dots(chart)) for chart in charts] == [1, 2]
    assert "Erythema index · Cheek (zygoma, malar)" in page and "cheek" not in page
