"""What a practitioner must never read: an identifier that has a label.

The identifiers are every value of every vocabulary of cryoderm.data.labels and of the
clinic's model choices and roles that is shaped like an identifier (kebab- or snake-case:
``raynauds`` alone is an ordinary-looking word, ``do-not-treat`` or ``in-progress`` is not);
:func:`raw_identifiers` finds them in a text, and :func:`visible_text` gives the text of a
page as read: no markup, no scripts, no attribute values but the read ones (alt, title,
aria-label), no ``<code>`` (the audit log's raw record is a record, shown as such).
"""

from __future__ import annotations

import html
import re
from functools import cache

from django.apps import apps

from cryoderm.clinic.accounts.permissions import ROLE_LABELS
from cryoderm.data import labels

#: Words spelled like identifiers that are ordinary English where they appear.
ENGLISH = {"follow-up", "non-serious"}


@cache
def identifiers() -> frozenset[str]:
    found = {i for name in labels.VOCABULARIES for i in labels.vocabulary(name)}
    for model in apps.get_app_config("records").get_models():
        for field in model._meta.get_fields():
            for value, _ in getattr(field, "choices", None) or ():
                found.add(str(value))
    found |= set(ROLE_LABELS)
    return frozenset(i for i in found if re.search(r"[a-z][-_][a-z0-9]", i)) - ENGLISH


@cache
def _pattern() -> re.Pattern[str]:
    alternatives = "|".join(re.escape(i) for i in sorted(identifiers(), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")


def raw_identifiers(text: str) -> list[str]:
    """The identifiers found in ``text``, each once, in order."""
    return list(dict.fromkeys(_pattern().findall(text)))


def visible_text(page: str) -> str:
    """The text of an HTML page as read on screen or by a screen reader."""
    page = re.sub(r"<(script|style|code|template)\b[^>]*>.*?</\1>", " ", page, flags=re.S)
    read = re.findall(r'\s(?:alt|title|aria-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", "\n", page)
    return html.unescape("\n".join([text, *read]))
