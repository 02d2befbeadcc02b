"""The bibliography (references.toml) and the one renderer of citations.

Every ``source`` in the data tables cites its evidence by key (``Osczevski1994``) or says
``assumption: ...``. This module turns keys into what a reader sees, "Osczevski 1994" with
the link to the work, for every adapter: the clinic's template filter ``cite``, ``cryoderm
zones``, ``cryoderm screen --list`` and plan output all call it::

    from cryoderm.data import citations
    citations.cite("Osczevski1994: cheek painful below 10 C")
    # 'Osczevski 1994: cheek painful below 10 C'
    citations.cite_with_links("...")   # the same, then "Osczevski 1994: https://..."
    citations.parts("...")             # text and Reference pieces, for HTML links

Keys are FirstAuthorYear with an a/b suffix when needed, or FirstAuthorND for an undated
web page (its year is "n.d."). A key-shaped word that is not in the bibliography is left as
written; the bibliography test fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from cryoderm.data import load_table

#: A word shaped like a key: a capital, at least one more letter, a four-digit year or ND,
#: an optional a/b suffix (``Hodges2007a``, ``CryoniqND``).
KEY_PATTERN = re.compile(r"\b[A-Z][A-Za-z]+(?:\d{4}|ND)[a-z]?\b")
_INITIALS = re.compile(r"\s+[A-ZÀ-Þ\u0100-\u017f][A-ZÀ-Þ\u0100-\u017f]{0,3}$")
_PARENTHESES = re.compile(r"\s*\(.*?\)")


@dataclass(frozen=True)
class Reference:
    """One entry of references.toml. ``year`` is an int or "n.d." for an undated page."""

    key: str
    authors: str
    year: int | str
    title: str
    venue: str
    used_for: str
    doi: str = ""
    url: str = ""

    @property
    def link(self) -> str:
        """Where the work is: its DOI as a URL, or its URL."""
        return f"https://doi.org/{self.doi}" if self.doi else self.url

    @property
    def first_author(self) -> str:
        """The first author's surname, or the organisation that wrote it."""
        first = _PARENTHESES.sub("", self.authors.split(",")[0]).replace(" et al.", "").strip()
        return _INITIALS.sub("", first) or first

    @property
    def label(self) -> str:
        """What a reader sees: "Osczevski 1994", "Hodges 2007a", "Gymna n.d."."""
        suffix = self.key[-1] if self.key[-1].islower() and self.key[-2].isdigit() else ""
        return f"{self.first_author} {self.year}{suffix}"


@cache
def references() -> dict[str, Reference]:
    """Every entry by key, in the file's (alphabetical) order."""
    entries = load_table("references").get("reference", [])
    return {
        str(entry["key"]): Reference(
            key=str(entry["key"]),
            authors=str(entry["authors"]),
            year=entry["year"],
            title=str(entry["title"]),
            venue=str(entry["venue"]),
            used_for=str(entry["used_for"]),
            doi=str(entry.get("doi", "")),
            url=str(entry.get("url", "")),
        )
        for entry in entries
    }


def keys_in(text: str) -> list[str]:
    """The key-shaped words of ``text`` in order, each once (known or not)."""
    seen: dict[str, None] = {}
    for match in KEY_PATTERN.finditer(text):
        seen.setdefault(match.group(0), None)
    return list(seen)


def cited(*texts: str) -> list[Reference]:
    """The references the texts cite, in order of first mention, each once."""
    known = references()
    seen: dict[str, Reference] = {}
    for text in texts:
        for key in keys_in(text):
            if key in known:
                seen.setdefault(key, known[key])
    return list(seen.values())


def as_json(works: Iterable[Reference]) -> list[dict[str, str]]:
    """Key, label and link of each work, for JSON output."""
    return [{"key": r.key, "label": r.label, "url": r.link} for r in works]


def reference_lines(works: Iterable[Reference]) -> list[str]:
    """ "Author Year: title. venue. link" for each work, for text output."""
    return [f"{r.label}: {r.title}. {r.venue}. {r.link}" for r in works]


def parts(text: str) -> Iterator[str | Reference]:
    """``text`` as plain pieces and the References its keys stand for, in order."""
    known = references()
    start = 0
    for match in KEY_PATTERN.finditer(text):
        reference = known.get(match.group(0))
        if reference is None:
            continue
        if match.start() > start:
            yield text[start : match.start()]
        yield reference
        start = match.end()
    if start < len(text):
        yield text[start:]


def cite(text: str) -> str:
    """``text`` with every key replaced by "Author Year"."""
    return "".join(p if isinstance(p, str) else p.label for p in parts(text))


def cite_with_links(text: str) -> str:
    """:func:`cite`, then each cited work's label and link (for text output)."""
    links = "; ".join(f"{r.label}: {r.link}" for r in cited(text))
    return f"{cite(text)} [{links}]" if links else cite(text)


def markdown() -> str:
    """The bibliography as a Markdown table (docs/references.md)."""
    lines = ["| key | cited as | work | used for |", "|---|---|---|---|"]
    for r in references().values():
        work = f"{r.authors} ({r.year}). {r.title}. {r.venue}. <{r.link}>"
        cells = (f"`{r.key}`", r.label, work, r.used_for)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
