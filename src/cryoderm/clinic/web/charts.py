"""Line charts as inline SVG, drawn on the server: no JavaScript needed to read a plan or a trend.

A chart is a pure function of its data. Each chart carries a <title> and <desc> for screen readers,
labelled axes with units, and (for the live view) its scale as data attributes so that the browser
can add points to a named polyline with the same mapping.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from cryoderm.data.labels import MINUS

PALETTE = ("#0b5cad", "#a4161a", "#1e6b33", "#8a5300", "#5b2a86", "#00707a", "#444444")


@dataclass(frozen=True)
class Series:
    """One line. ``x`` and ``y`` are in the chart's axis units; NaN points are left out.

    ``markers`` draws every point as a dot, each with its ``point_labels`` entry as its
    tooltip: a line of one point is invisible, and values on one date share an x.
    ``line=False`` draws the dots alone."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    dashed: bool = False
    colour: str = ""
    key: str = ""  # names the polyline (data-series) so the live view can extend it
    markers: bool = False
    point_labels: Sequence[str] = ()
    line: bool = True


@dataclass(frozen=True)
class Band:
    """A shaded horizontal band, e.g. the target temperature band, in y-axis units."""

    label: str
    y_low: float
    y_high: float
    colour: str = "#dff3e4"


@dataclass(frozen=True)
class Rule:
    """A horizontal line, e.g. the floor temperature, in y-axis units."""

    label: str
    y: float
    colour: str = "#a4161a"


@dataclass(frozen=True)
class Chart:
    """What to draw; ``x_range``/``y_range`` fix the scale (else it fits the data);
    ``x_ticks`` replaces the round-number ticks of the x axis by (value, text) pairs (dates)."""

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series] = ()
    bands: Sequence[Band] = ()
    rules: Sequence[Rule] = ()
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    description: str = ""
    chart_id: str = ""
    width: int = 720
    height: int = 320
    invert_y: bool = False  # depth charts read downwards
    x_ticks: Sequence[tuple[float, str]] = ()
    extra_attrs: dict[str, str] = field(default_factory=dict)


MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 16, 28, 76


def _html(template: str, *args: object) -> str:
    """``str.format`` with every text argument escaped (numbers keep their format specs)."""
    return template.format(
        *(a if isinstance(a, int | float | SafeString) else escape(str(a)) for a in args)
    )


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _extent(values: list[float], pad: float) -> tuple[float, float]:
    if not values:
        return (0.0, 1.0)
    low, high = min(values), max(values)
    if high - low < 1e-9:
        # One value (or many equal ones): in the middle, with a margin in proportion to it.
        margin = max(1.0, abs(low) * pad * 2)
        return (low - margin, high + margin)
    span = high - low
    return (low - pad * span, high + pad * span)


def _fmt(v: float) -> str:
    """A number for the data attributes (read back by scripts): never ``-0``."""
    return f"{v:g}" if abs(v) >= 1e-9 else "0"


def _tick(v: float) -> str:
    """A tick value as read: ``−5`` with the minus sign."""
    return _fmt(v).replace("-", MINUS)


def _markers(
    series: Series, colour: str, px: Callable[[float], float], py: Callable[[float], float]
) -> list[str]:
    """A dot per finite point of ``series``, with its tooltip."""
    dots = []
    for i, (x, y) in enumerate(zip(series.x, series.y, strict=False)):
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        tip = series.point_labels[i] if i < len(series.point_labels) else series.label
        dots.append(
            _html(
                '<circle class="point" cx="{:.1f}" cy="{:.1f}" r="4.5" fill="{}" stroke="#fff"'
                ' stroke-width="1.5"><title>{}</title></circle>',
                px(x),
                py(y),
                colour,
                tip,
            )
        )
    return dots


def render(chart: Chart) -> SafeString:
    """The chart as an ``<svg>`` element (safe HTML)."""
    xs = [x for s in chart.series for x in _finite(s.x)]
    ys = [y for s in chart.series for y in _finite(s.y)]
    ys += [r.y for r in chart.rules] + [v for b in chart.bands for v in (b.y_low, b.y_high)]
    x0, x1 = chart.x_range or _extent(xs, 0.0)
    y0, y1 = chart.y_range or _extent(ys, 0.08)
    w, h = chart.width, chart.height
    pw, ph = w - MARGIN_L - MARGIN_R, h - MARGIN_T - MARGIN_B

    def px(x: float) -> float:
        return MARGIN_L + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        frac = (y - y0) / (y1 - y0)
        return MARGIN_T + (frac if chart.invert_y else 1 - frac) * ph

    parts: list[str] = []
    for band in chart.bands:
        top, bottom = sorted((py(band.y_low), py(band.y_high)))
        parts.append(
            _html(
                '<rect class="band" x="{}" y="{:.1f}" width="{}" height="{:.1f}" fill="{}">'
                "<title>{}</title></rect>",
                MARGIN_L,
                top,
                pw,
                max(bottom - top, 1.0),
                band.colour,
                band.label,
            )
        )
    for tick in nice_ticks(y0, y1):
        parts.append(
            _html(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#e3e7eb"/>'
                '<text x="{}" y="{:.1f}" text-anchor="end">{}</text>',
                MARGIN_L,
                MARGIN_L + pw,
                py(tick),
                py(tick),
                MARGIN_L - 6,
                py(tick) + 4,
                _tick(tick),
            )
        )
    x_ticks = chart.x_ticks or [(tick, _tick(tick)) for tick in nice_ticks(x0, x1)]
    for tick, text in x_ticks:
        parts.append(
            _html(
                '<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="#e3e7eb"/>'
                '<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
                px(tick),
                px(tick),
                MARGIN_T,
                MARGIN_T + ph,
                px(tick),
                MARGIN_T + ph + 16,
                text,
            )
        )
    for rule in chart.rules:
        parts.append(
            _html(
                '<line class="rule" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}" '
                'stroke-width="2" stroke-dasharray="6 4"><title>{}</title></line>'
                '<text x="{}" y="{:.1f}" text-anchor="end" fill="{}">{}</text>',
                MARGIN_L,
                MARGIN_L + pw,
                py(rule.y),
                py(rule.y),
                rule.colour,
                rule.label,
                MARGIN_L + pw - 4,
                py(rule.y) - 4,
                rule.colour,
                rule.label,
            )
        )
    # Lines are clipped to the plot area (a fixed x range may end before the data does).
    clip_id = "clip-" + hashlib.sha1(f"{chart.chart_id}|{chart.title}".encode()).hexdigest()[:10]
    parts.append(
        _html(
            '<clipPath id="{}"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>',
            SafeString(clip_id),
            MARGIN_L,
            MARGIN_T,
            pw,
            ph,
        )
    )
    legend: list[str] = []
    for i, s in enumerate(chart.series):
        colour = s.colour or PALETTE[i % len(PALETTE)]
        points = " ".join(
            f"{px(x):.1f},{py(y):.1f}"
            for x, y in zip(s.x, s.y, strict=False)
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
        )
        if s.line:
            parts.append(
                _html(
                    '<polyline data-series="{}" points="{}" fill="none" stroke="{}"'
                    ' stroke-width="2.5" clip-path="url(#{})"{}><title>{}</title></polyline>',
                    s.key or s.label,
                    points,
                    colour,
                    SafeString(clip_id),
                    mark_safe(' stroke-dasharray="8 5"') if s.dashed else "",
                    s.label,
                )
            )
        if s.markers:
            parts += _markers(s, colour, px, py)
        lx = MARGIN_L + (i % 3) * (pw // 3)
        ly = h - 24 + (i // 3) * 14
        key_mark = (
            _html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="3"{}/>',
                lx,
                lx + 22,
                ly - 4,
                ly - 4,
                colour,
                mark_safe(' stroke-dasharray="8 5"') if s.dashed else "",
            )
            if s.line
            else _html('<circle cx="{}" cy="{}" r="4.5" fill="{}"/>', lx + 11, ly - 4, colour)
        )
        legend.append(key_mark + _html('<text x="{}" y="{}">{}</text>', lx + 28, ly, s.label))
    frame = _html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#6b7785"/>'
        '<text x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>'
        '<text x="{}" y="16" font-weight="700">{}</text>',
        MARGIN_L,
        MARGIN_T,
        pw,
        ph,
        MARGIN_L + pw / 2,
        MARGIN_T + ph + 32,
        chart.x_label,
        MARGIN_T + ph / 2,
        chart.y_label,
        MARGIN_L,
        chart.title,
    )
    attrs = {
        "data-x0": _fmt(x0),
        "data-x1": _fmt(x1),
        "data-y0": _fmt(y0),
        "data-y1": _fmt(y1),
        "data-left": str(MARGIN_L),
        "data-top": str(MARGIN_T),
        "data-plot-width": str(pw),
        "data-plot-height": str(ph),
        **chart.extra_attrs,
    }
    if chart.chart_id:
        attrs["id"] = chart.chart_id
    attr_html = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
    return mark_safe(
        f'<svg class="chart" role="img" viewBox="0 0 {w} {h}" {attr_html} '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(chart.title)}</title>'
        f"<desc>{escape(chart.description or chart.title)}</desc>"
        + "".join(parts)
        + frame
        + "".join(legend)
        + "</svg>"
    )
