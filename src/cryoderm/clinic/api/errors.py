"""The one place where errors become HTTP responses: ``{"detail": message, "field": name}``.

| error                                   | status |
|-----------------------------------------|--------|
| request body not JSON at all            | 400    |
| request body/query not of the schema    | 422    |
| cryoderm.errors.UserInputError          | 422    |
| accounts PermissionRefused / CSRF       | 403    |
| accounts AccountLocked                  | 429    |
| cryoderm.errors.NotPermitted (others)   | 409    |
| records RecordNotFound, ObjectDoesNotExist | 404 |
| not signed in / bad token               | 401    |
| body over DATA_UPLOAD_MAX_MEMORY_SIZE   | 413    |
| too many form fields or files; other SuspiciousOperation | 400 |
| a multipart body without its boundary, an unreadable body | 400 |

Expected business errors are never a 500 (polar's rule: an expected conflict must not page
anyone as if it were a crash). Anything else is logged with a reference the user can quote.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from cryoderm.clinic.accounts.errors import AccountLocked, PermissionRefused
from cryoderm.clinic.records.errors import RecordNotFound
from cryoderm.errors import NotPermitted, UserInputError

logger = logging.getLogger("cryoderm.api")


class ErrorOut(Schema):
    """An error: a sentence for the reader and, when one field is at fault, its name."""

    detail: str
    field: str | None = None


ERRORS: dict[int | frozenset[int], type[ErrorOut]] = {
    frozenset({400, 401, 403, 404, 409, 413, 422}): ErrorOut
}


def _field_of(location: list[Any]) -> str | None:
    # ninja reports ["body", "payload", "readings", 3, "temp_c"]; the reader wants the path
    # inside the request: readings[3].temp_c.
    parts = [p for p in location if p not in ("body", "query", "path", "header", "cookie")]
    if parts and isinstance(parts[0], str) and parts[0] in ("payload", "data", "filters"):
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def render(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    """Map ``exc`` to a JSON error response (see the module's table)."""
    status, field = 500, getattr(exc, "field", None)
    detail = str(exc)
    if isinstance(exc, ValidationError):
        status = 422
        first = exc.errors[0] if exc.errors else {}
        field = _field_of(list(first.get("loc", [])))
        messages = [
            f"{_field_of(list(e.get('loc', []))) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors
        ]
        detail = "; ".join(messages) or "the request does not match the schema"
    elif isinstance(exc, AuthenticationError):
        status, detail = 401, "sign in, or send 'Authorization: Bearer <token>'"
    elif isinstance(exc, HttpError):
        status = exc.status_code
    elif isinstance(exc, PermissionRefused):
        status = 403
    elif isinstance(exc, AccountLocked):
        status = 429
    elif isinstance(exc, RecordNotFound):
        status = 404
    elif isinstance(exc, UserInputError):
        status = 422
    elif isinstance(exc, NotPermitted):
        status = 409
    elif isinstance(exc, RequestDataTooBig):
        # Django refused to read the body (the server's own limit answers first in
        # production; this is the same limit met inside the application).
        status, detail = 413, "the request body is too large for this endpoint"
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        status, detail = 400, f"too many form fields or files in one request ({exc})"
    elif isinstance(exc, MultiPartParserError | UnreadablePostError):
        # A form body that cannot be parsed (a multipart type without its boundary), met
        # when the CSRF check of a signed-in session reads the form.
        status, detail = 400, f"the request body cannot be read as its content type says ({exc})"
    elif isinstance(exc, SuspiciousOperation):
        status, detail = 400, "the request was refused as malformed"
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        status = 404
        detail = detail or "not found"
    else:
        reference = uuid.uuid4().hex[:12]
        logger.exception(
            "unexpected error (ref %s) on %s %s", reference, request.method, request.path
        )
        detail = f"something went wrong (ref {reference}); the error has been logged"
    body = {"detail": detail, "field": field if isinstance(field, str) else None}
    return api.create_response(request, body, status=status)


def install(api: NinjaAPI) -> None:
    """Route every exception through :func:`render`, replacing ninja's default handlers
    (which are registered for these more specific classes and would otherwise win)."""
    for exc_class in (Exception, HttpError, ValidationError, Http404):
        api.add_exception_handler(exc_class, lambda request, exc: render(request, exc, api))
