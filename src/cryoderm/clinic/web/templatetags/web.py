"""Template helpers: the navigation a user's roles allow, labels instead of identifiers,
numbers with their units, citations."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from cryoderm.clinic.accounts import config, permissions
from cryoderm.clinic.reports import wording
from cryoderm.data import citations, labels

register = template.Library()

# (url name, label, action needed to see the link; None = every signed-in user)
NAVIGATION = (
    ("web:dashboard", "Dashboard", None),
    ("web:clients", "Clients", "client.view"),
    ("web:devices", "Devices", "device.view"),
    ("web:staff", "Staff", "staff.manage"),
    ("web:audit", "Audit log", "audit.export"),
)


@register.simple_tag
def nav_items(request: HttpRequest) -> list[dict[str, Any]]:
    items = []
    for name, label, action in NAVIGATION:
        if action is not None and not permissions.is_allowed(request.user, action):
            continue
        url = reverse(name)
        current = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"url": url, "label": label, "current": current})
    return items


@register.simple_tag
def idle_timeout_s() -> int:
    """Seconds without activity before the page signs out: the server's idle-logout limit."""
    return config.current().idle_logout_minutes * 60


@register.simple_tag(takes_context=True)
def can(context: template.Context, action: str) -> bool:
    return permissions.is_allowed(context["request"].user, action)


def _format(arg: Any, default_digits: int) -> tuple[int, bool]:
    """A formatting filter's argument: digits, with a leading "+" for a signed value
    (``|celsius``, ``|celsius:"+"``, ``|celsius:2``, ``|celsius:"+2"``)."""
    text = str(arg) if arg is not None else ""
    digits = text.lstrip("+")
    return (int(digits) if digits.isdigit() else default_digits), text.startswith("+")


@register.filter
def celsius(value: Any, arg: Any = None) -> str:
    """A temperature as practitioners read it: ``−2.0 °C``; ``|celsius:"+"`` signs it
    (``+4.0 °C``) where the side of zero matters. The one formatter: cryoderm.data.labels."""
    digits, signed = _format(arg, 1)
    return labels.celsius(value, digits, signed=signed)


@register.filter
def celsius_range(band: Any, arg: Any = None) -> str:
    """A (low, high) band: ``+2.0 to +4.0 °C``."""
    digits, _ = _format(arg, 1)
    try:
        low, high = band
    except (TypeError, ValueError):
        return "—"
    return labels.celsius_range(low, high, digits)


@register.filter
def kelvin(value: Any, arg: Any = None) -> str:
    """A temperature difference: ``1.2 K``, ``−0.5 K``; ``|kelvin:"+"`` signs it."""
    digits, signed = _format(arg, 1)
    return labels.kelvin(value, digits, signed=signed)


@register.filter
def label(value: Any, vocabulary: str) -> str:
    """An identifier as practitioners read it: ``{{ zone|label:"zone" }}`` (vocabularies and
    their one source: cryoderm.data.labels)."""
    return labels.label(vocabulary, value)


@register.simple_tag
def vocabularies(*names: str) -> dict[str, dict[str, str]]:
    """Vocabularies for a page's script (``{% vocabularies "zone" as v %}{{ v|json_script:"id" }}``):
    the live view labels what its event stream sends as identifiers."""
    return {name: dict(labels.vocabulary(name)) for name in names}


@register.filter
def label_list(values: Any, vocabulary: str) -> str:
    """Identifiers as their labels, comma-separated: ``{{ session.zones|label_list:"zone" }}``."""
    return labels.label_list(vocabulary, values or ())


def alarm_text(message: Any) -> str:
    """An alarm's message as read (cryoderm.clinic.reports.wording)."""
    return wording.alarm_message(str(message or ""))


register.filter("alarm_message", alarm_text)


def _number(value: Any, digits: int) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return f"{number:.{digits}f}"


@register.filter
def seconds(value: Any) -> str:
    """``150`` -> ``2 min 30 s``."""
    text = _number(value, 0)
    if text is None:
        return "—"
    total = int(float(text))
    minutes, secs = divmod(total, 60)
    if minutes and secs:
        return f"{minutes} min {secs} s"
    return f"{minutes} min" if minutes else f"{secs} s"


@register.filter
def millimetres(value: Any, digits: int = 2) -> str:
    text = _number(value, digits)
    return "—" if text is None else f"{text} mm"


@register.filter
def cite(text: Any) -> SafeString:
    """A source as practitioners read it: every bibliography key becomes "Author Year",
    linked to the work (the one renderer, cryoderm.data.citations); the rest is escaped."""
    pieces = []
    for part in citations.parts(str(text)):
        if isinstance(part, str):
            pieces.append(conditional_escape(part))
        else:
            pieces.append(
                format_html(
                    '<a href="{}" title="{}" rel="noopener noreferrer" target="_blank">{}</a>',
                    part.link,
                    part.title,
                    part.label,
                )
            )
    # Safe: every text piece was escaped and every link built by format_html above.
    return mark_safe("".join(pieces))
