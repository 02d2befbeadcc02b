"""Evidence in the repository: every citation is a key of the bibliography.

- every entry of src/cryoderm/data/references.toml is complete, has a DOI or a URL, and the
  file stays in alphabetical order of its (unique) keys;
- every ``source`` of the data tables cites bibliography keys or states an assumption;
- nothing in the repository cites a document its users do not have: the project's research
  notes, its issue tracker, or files of a folder beside the repository;
- the one renderer gives "Author Year" with the link.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cryoderm.data import citations

ROOT = Path(__file__).parents[2]
DATA = ROOT / "src" / "cryoderm" / "data"
DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def bibliography() -> list[dict[str, Any]]:
    return tomllib.loads((DATA / "references.toml").read_text(encoding="utf-8"))["reference"]


# ---------------------------------------------------------------- the bibliography
def test_every_reference_is_complete_with_a_doi_or_a_url() -> None:
    for entry in bibliography():
        key = entry["key"]
        for name in ("authors", "title", "venue", "used_for"):
            assert str(entry.get(name, "")).strip(), f"{key}: {name} is empty"
        assert isinstance(entry["year"], int) or entry["year"] == "n.d.", key
        assert ("doi" in entry) != ("url" in entry), f"{key}: give a doi or a url (one)"
        if "doi" in entry:
            assert DOI.match(entry["doi"]), f"{key}: doi {entry['doi']!r} is not 10.xxxx/..."
        else:
            assert entry["url"].startswith(("https://", "http://")), key


def test_keys_are_first_author_and_year_unique_and_alphabetical() -> None:
    keys = [entry["key"] for entry in bibliography()]
    assert len(keys) == len(set(keys)), "duplicate keys"
    assert keys == sorted(keys, key=str.lower), "keep references.toml in alphabetical order"
    for entry in bibliography():
        key, year = entry["key"], entry["year"]
        assert citations.KEY_PATTERN.fullmatch(key), f"{key}: FirstAuthorYear or FirstAuthorND"
        stem = key[:-1] if key[-1].islower() and key[-2].isdigit() else key
        assert stem.endswith("ND" if year == "n.d." else str(year)), f"{key}: year {year}"


def test_every_reference_is_cited_somewhere() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in _repository_files())
    text += "\n".join(source for _, source in _sources())
    unused = [e["key"] for e in bibliography() if not re.search(rf"\b{e['key']}\b", text)]
    assert unused == [], "bibliography entries nothing cites"


# ---------------------------------------------------------------- the data tables
def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if isinstance(value, str) and (key == "source" or key.endswith("_source")):
                yield where, value
            else:
                yield from _walk(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _sources() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DATA.glob("*.toml")):
        if path.name == "references.toml":
            continue
        table = tomllib.loads(path.read_text(encoding="utf-8"))
        found += [(f"{path.name}: {where}", text) for where, text in _walk(table, "")]
    return found


def test_every_source_cites_bibliography_keys_or_states_an_assumption() -> None:
    known = set(citations.references())
    problems = []
    for where, text in _sources():
        keys = citations.keys_in(text)
        unknown = [key for key in keys if key not in known]
        if unknown:
            problems.append(f"{where}: not in references.toml: {', '.join(unknown)}")
        elif not keys and "assumption" not in text.lower():
            problems.append(f"{where}: cites no key and states no assumption: {text[:80]!r}")
    assert problems == []


# ---------------------------------------------------------------- the whole repository
# Documents a user of cryoderm does not have. Links between the pages of docs/ are fine
# ("[the physics](physics.md)", "see clinic.md, Planning"), as is any path inside the
# repository ("docs/physics.md"); with a section number ("clinic.md 3.3") it is a note's.
NOTE = re.compile(r"(?<![\w/.-])(?:physics|clinic)\.md")
NOTE_SECTION = re.compile(r"(?<![\w/.-])(?:physics|clinic)\.md,? (?:§ ?|section )?\d")
OUTSIDE = [
    (
        re.compile(r"(?<![\w/.-])(?:physics|clinic)\.md(?!\))"),
        "a research note (physics.md, clinic.md)",
    ),
    (re.compile(r"\b(?:aesthetics|perf-baselines|case-format|design)\.md"), "a research note"),
    (re.compile(r"\bshared/"), "a folder outside the repository (shared/)"),
    (re.compile(r"\bissue \d", re.IGNORECASE), "an issue of the tracker"),
    (re.compile(r"\bref §"), "a section of a research note"),
    (re.compile(r"\bH\d{1,2}\b(?![(.])"), "a hypothesis of an issue"),
]
SCANNED = ("src", "docs", "examples", "validation", "benchmarks", "tests")
SUFFIXES = {".py", ".md", ".toml", ".json", ".html", ".css", ".js", ".txt", ".cfg"}
THIS_FILE = Path(__file__).resolve()


def _repository_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and "migrations" not in path.parts:
                files.append(path)
    return [f for f in files if f.exists() and f.resolve() != THIS_FILE]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    problems = []
    for path in _repository_files():
        in_docs = path.parent == ROOT / "docs"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in OUTSIDE:
                sibling_page = in_docs and NOTE.search(line) and not NOTE_SECTION.search(line)
                if pattern is OUTSIDE[0][0] and sibling_page:
                    continue
                if pattern.search(line):
                    where = path.relative_to(ROOT)
                    problems.append(f"{where}:{number}: {what}: {line.strip()[:100]}")
    assert problems == []


def test_docstrings_and_docs_cite_only_bibliography_keys() -> None:
    known = set(citations.references())
    problems = []
    for path in _repository_files():
        if path.suffix not in {".py", ".md"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for key in citations.keys_in(line):
                if key not in known and re.search(r"\d{4}[a-z]?$", key):
                    problems.append(f"{path.relative_to(ROOT)}:{number}: unknown key {key}")
    assert problems == []


# ---------------------------------------------------------------- the renderer
def test_a_key_renders_as_author_year_with_its_link() -> None:
    text = "Osczevski1994: the cheek is painful below 10 C"
    assert citations.cite(text) == "Osczevski 1994: the cheek is painful below 10 C"
    linked = citations.cite_with_links(text)
    assert linked.startswith("Osczevski 1994: the cheek")
    assert "https://" in linked
    pieces = list(citations.parts(f"see {text}"))
    assert pieces[0] == "see " and pieces[1].key == "Osczevski1994"


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("Meng2022", "Meng 2022"),
        ("Hodges2007a", "Hodges 2007a"),
        ("FDA2020", "US Food and Drug Administration 2020"),
        ("GymnaND", "Gymna n.d."),
        ("Saakyan2022", "Saakyan 2022"),
    ],
)
def test_labels_name_the_first_author_and_the_year(key: str, label: str) -> None:
    assert citations.references()[key].label == label


def test_a_doi_links_through_doi_org() -> None:
    assert citations.references()["Meng2022"].link == "https://doi.org/10.1186/s12880-022-00839-w"


def test_the_references_page_lists_the_bibliography() -> None:
    text = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    begin, end = "<!-- references:begin -->", "<!-- references:end -->"
    shown = text.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"
    assert shown == citations.markdown(), (
        "docs/references.md is out of date: paste `cryoderm references --format markdown` "
        "between its references markers"
    )
