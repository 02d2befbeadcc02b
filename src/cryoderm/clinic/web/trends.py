"""Outcome trend charts: one measure (a score's scale, or an instrument's quantity at a zone)
against the date it was taken.

Readable whatever the history: every value is a dot with its date and value as tooltip, so
one value shows, and values taken on the same day stand one above the other at that date;
the line joins the mean of each day once there are two days or more. The x axis is labelled
with dates, a score's y axis spans its scale.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.safestring import SafeString

from cryoderm.clinic.web.charts import Chart, Series, nice_ticks, render


@dataclass(frozen=True)
class TrendPoint:
    """One value of a measure, taken on ``on``; ``note`` says by whom or how (tooltip)."""

    on: dt.date
    value: float
    note: str = ""


def _date(day: dt.date, with_year: bool) -> str:
    return f"{day.day} {day:%b %Y}" if with_year else f"{day.day} {day:%b}"


def _value(value: float) -> str:
    return f"{value:g}"


def _padded(span: tuple[float, float]) -> tuple[float, float]:
    low, high = span
    pad = 0.05 * (high - low) or 1.0
    return (low - pad, high + pad)


def trend_chart(
    title: str,
    quantity: str,
    unit: str,
    points: Sequence[TrendPoint],
    *,
    y_range: tuple[float, float] | None = None,
    description: str = "",
) -> SafeString:
    """The chart of one measure's ``points`` (any order): ``quantity (unit)`` heads the y
    axis, ``y_range`` fixes it (a score's scale; dots on its ends stay inside the frame)."""
    ordered = sorted(points, key=lambda p: p.on)
    first = ordered[0].on if ordered else dt.date.today()
    days = [(p.on - first).days for p in ordered]
    last = days[-1] if days else 0
    # Days on the x axis, with room either side so that the first and last dots are inside.
    margin = max(1.0, 0.05 * last)
    x_range = (-margin, last + margin)
    with_year = ordered[-1].on.year != first.year if ordered else False
    ticks = [t for t in nice_ticks(0.0, float(max(last, 1))) if t == int(t) and t <= last] or [0.0]
    by_day: dict[int, list[float]] = defaultdict(list)
    for day, point in zip(days, ordered, strict=True):
        by_day[day].append(point.value)
    series = [
        Series(
            title,
            days,
            [p.value for p in ordered],
            colour="#0b5cad",
            key="values",
            markers=True,
            line=False,
            point_labels=[
                f"{_date(p.on, True)}: {_value(p.value)} {unit}"
                + (f" ({p.note})" if p.note else "")
                for p in ordered
            ],
        )
    ]
    # A line through the values themselves would zig-zag on a day with several values:
    # it joins each day's mean instead.
    if len(by_day) > 1:
        series.append(
            Series(
                "Mean of the day",
                sorted(by_day),
                [sum(by_day[d]) / len(by_day[d]) for d in sorted(by_day)],
                colour="#0b5cad",
                dashed=True,
                key="daily-mean",
            )
        )
    return render(
        Chart(
            title=title,
            x_label=f"Date (first {_date(first, True)})",
            y_label=f"{quantity} ({unit})",
            series=series,
            x_range=x_range,
            y_range=_padded(y_range) if y_range else None,
            x_ticks=[(t, _date(first + dt.timedelta(days=int(t)), with_year)) for t in ticks],
            description=f"{description or title}: each value against the date it was taken",
            height=260,
        )
    )
