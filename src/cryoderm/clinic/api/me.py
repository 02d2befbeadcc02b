"""``GET /api/me``: who the caller is and what the roles allow (for the UI's menus)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.api.auth import principal
from cryoderm.clinic.api.errors import ERRORS

router = Router(tags=["me"])


class MeOut(Schema):
    username: str
    roles: list[str]
    device_id: int | None
    allowed_actions: list[str]


@router.get("", response={200: MeOut, **ERRORS}, summary="The caller and its permissions")
def me(request: HttpRequest) -> MeOut:
    caller = principal(request)
    if caller.is_device:
        return MeOut(
            username=caller.label,
            roles=["device"],
            device_id=caller.device_id,
            allowed_actions=["reading.ingest"],
        )
    roles = permissions.roles_of(caller.user)
    return MeOut(
        username=caller.user.get_username(),
        roles=list(roles),
        device_id=None,
        allowed_actions=[a for a in permissions.ACTIONS if permissions.decide(roles, a)],
    )
