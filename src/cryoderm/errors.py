"""The root of cryoderm's error hierarchies.

Each layer has its own hierarchy below :class:`CryodermError`; the *kind* of an error decides
how an adapter reports it, and that mapping lives in exactly one place per adapter
(``cryoderm.cli.exit_code_for`` for the command line, the clinic API's exception handler for
HTTP)."""

from __future__ import annotations


class CryodermError(Exception):
    """Base of every error cryoderm raises on purpose. Its str() is written for the user."""


class UserInputError(CryodermError, ValueError):
    """The input is wrong (a field, a value, a unit): exit code 2, HTTP 400/422."""


class NotPermitted(CryodermError):
    """The input is well formed but a rule forbids the action: exit code 3, HTTP 409/403."""
