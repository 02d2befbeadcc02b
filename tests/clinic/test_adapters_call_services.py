"""The clinic's adapters (pages, API routers, the demo) write nothing themselves: every
record and every audit entry is written by a records service, which checks the actor's
permission and every rule first (CONTRIBUTING.md, "The clinic's rulebook").

import-linter cannot see a method call, so this test reads the adapters' source: no
``.save()``, ``.delete()``, bulk or get-or-create write, no ``.create()``/``.update()`` on
a manager or a queryset, and no ``audit.record(...)``. Each exception below says why it is
not a clinical record."""

from __future__ import annotations

import ast
from pathlib import Path

CLINIC = Path(__file__).resolve().parents[2] / "src" / "cryoderm" / "clinic"
ADAPTERS = [
    *sorted((CLINIC / "web").rglob("*.py")),
    *sorted((CLINIC / "api").rglob("*.py")),
    CLINIC / "demo.py",
]
#: file (relative to the clinic package) -> why its writes are not the records'
EXCEPTIONS = {
    "api/auth.py": "notes when an API token was last used (the accounts' own bookkeeping)",
    "web/views/signin.py": "records sign-in and sign-out events (the accounts' own audit)",
}
ALWAYS_WRITES = {
    "save",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}
QUERYSET_WRITES = {"create", "update"}
QUERYSET_SOURCES = {"objects", "filter", "exclude", "all", "select_for_update", "select_related"}


def _chain(node: ast.AST) -> list[str]:
    """The attribute and call names along ``a.b(...).c`` (innermost first)."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names
        else:
            return names


def writes_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        receiver = _chain(node.func.value)
        if method in ALWAYS_WRITES:
            found.append(f"line {node.lineno}: .{method}()")
        elif method in QUERYSET_WRITES and QUERYSET_SOURCES & set(receiver):
            found.append(f"line {node.lineno}: {'.'.join(reversed(receiver))}.{method}()")
        elif method == "record" and receiver[-1:] == ["audit"]:
            found.append(f"line {node.lineno}: audit.record()")
    return found


def test_adapters_write_nothing_but_through_the_services() -> None:
    problems = {}
    for path in ADAPTERS:
        name = path.relative_to(CLINIC).as_posix()
        if name in EXCEPTIONS:
            continue
        found = writes_in(path)
        if found:
            problems[name] = found
    assert problems == {}, "call a records service instead"


def test_the_check_sees_a_direct_write(tmp_path: Path) -> None:
    sample = tmp_path / "view.py"
    sample.write_text(
        "def view(request, pk):\n"
        "    Client.objects.filter(pk=pk).update(date_of_birth=None)\n"
        "    c = Consent.objects.create(client_id=pk)\n"
        "    c.save()\n"
        "    audit.record(request.user, 'x')\n"
        "    client_service.create(request.user, given_name='A')\n"
    )
    assert [line.split(":")[0] for line in writes_in(sample)] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
    ]


def test_every_exception_still_exists() -> None:
    for name in EXCEPTIONS:
        assert (CLINIC / name).exists(), f"{name} is gone: drop its exception"
