"""The NinjaAPI instance: authentication, the error handler and the routers."""

from __future__ import annotations

from ninja import NinjaAPI

from cryoderm.clinic.api import errors
from cryoderm.clinic.api.auth import BearerToken, SessionCookie

DESCRIPTION = """\
The cryoderm clinic's JSON API.

Authenticate with the UI's session cookie (unsafe methods then need the `X-CSRFToken` header)
or with `Authorization: Bearer <token>` (`cryoderm manage issue_token`). A device token may
only ingest readings for its own device. Errors are `{"detail": "...", "field": "..."}`:
422 bad input, 401 not signed in, 403 not allowed for your role, 404 not found, 409 refused
by a clinic rule (a gate, a signed consent, a double booking), 429 account locked.
"""


def build() -> NinjaAPI:
    from cryoderm.clinic.api import (
        audit_export,
        clients,
        consents,
        corrections,
        devices,
        live,
        me,
        outcomes,
        photos,
        plans,
        screening,
        sessions,
    )

    api = NinjaAPI(
        title="cryoderm clinic API",
        version="1",
        description=DESCRIPTION,
        urls_namespace="api",
        auth=[BearerToken(), SessionCookie()],
    )
    errors.install(api)
    api.add_router("/me", me.router)
    api.add_router("/clients", clients.router)
    api.add_router("/", screening.router)
    api.add_router("/clients", outcomes.router)
    api.add_router("/clients", photos.of_client)
    api.add_router("/photos", photos.router)
    api.add_router("/plans", plans.router)
    api.add_router("/sessions", sessions.router)
    api.add_router("/sessions", live.router)
    api.add_router("/devices", devices.router)
    api.add_router("/calibrations", devices.calibrations)
    api.add_router("/consents", consents.router)
    api.add_router("/", corrections.router)
    api.add_router("/audit", audit_export.router)
    return api


api = build()
