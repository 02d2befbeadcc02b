"""The permission matrix: role x action -> allow / deny, kept as data.

Rules, in this order (the OpenEMR CVE-2026-33302 lesson: an explicit deny must never be
ignored):

1. a user holding *any* role that denies an action is refused, whatever other roles allow;
2. otherwise the action is allowed if at least one held role allows it;
3. an action or role missing from the table is refused (unknown means deny).

Roles are Django groups with the names in :data:`ROLES`; Django's ``is_superuser`` flag grants
nothing here. Explicit denies encode separation of duties: the system administrator runs
staff, devices and tokens but does not read clinical records; front desk books and registers
clients but does not see screening answers, plans or outcomes. Audit export belongs to the
medical director alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from django.contrib.auth.models import Group
from django.db import transaction

from cryoderm.clinic.accounts.errors import PermissionRefused
from cryoderm.errors import UserInputError

Decision = Literal["allow", "deny"]
ALLOW: Final = "allow"
DENY: Final = "deny"

ADMIN: Final = "admin"
MEDICAL_DIRECTOR: Final = "medical_director"
PRACTITIONER: Final = "practitioner"
FRONT_DESK: Final = "front_desk"
ROLES: Final = (ADMIN, MEDICAL_DIRECTOR, PRACTITIONER, FRONT_DESK)

ROLE_LABELS: Final = {
    ADMIN: "Administrator",
    MEDICAL_DIRECTOR: "Medical director",
    PRACTITIONER: "Practitioner",
    FRONT_DESK: "Front desk",
}

ACTIONS: Final[Mapping[str, str]] = {
    "client.view": "see a client's identity and contact details",
    "client.create": "register a new client",
    "client.update": "change a client's identity or contact details",
    "client.export_fhir": "export a client's whole clinical record as a FHIR Bundle",
    "screening.view": "see screening answers, verdicts and findings",
    "screening.submit": "submit a client's screening answers",
    "override.sign": "sign off a refer finding as the second clinician",
    "consent.record": "record a client's signed consent",
    "consent.withdraw": "record the withdrawal of a consent, or mark one entered in error",
    "consent.publish": "publish a new version of a consent text",
    "appointment.book": "book or cancel an appointment",
    "plan.create": "ask the planner for a treatment plan",
    "session.view": "see treatment sessions",
    "session.create": "create a treatment session",
    "session.start": "start a treatment session (passes the gates)",
    "session.stop": "stop a treatment session",
    "reading.view": "see skin-temperature readings",
    "outcome.view": "see outcomes and adverse events",
    "outcome.record": "record an outcome",
    "device.view": "see devices",
    "device.manage": "register or change a device",
    "device.maintain": "record device maintenance or calibration",
    "device.report_fault": "report a device fault",
    "staff.manage": "manage staff accounts and roles",
    "policy.manage": "change the clinic's policy (screening validity, screening policy)",
    "token.manage": "issue or revoke device and API tokens",
    "audit.export": "export the audit log",
}

#: Actions that need the person at the clinic, signed in with their own second factor:
#: never done with an API token, which is a password on a script and may be copied or shared
#: (a practitioner holding a colleague's token would otherwise sign off as the colleague and
#: confirm as the second clinician themselves, or start the cold on a face from a script).
PRESENCE_REQUIRED: Final[frozenset[str]] = frozenset(
    {
        "override.sign",
        "session.start",
        # A consent is signed by the client in front of the clinic's pad: a script could
        # fabricate the strokes and open the consent gate.
        "consent.record",
        "consent.withdraw",
        "token.manage",
        "staff.manage",
    }
)

MATRIX: Final[Mapping[str, Mapping[str, Decision]]] = {
    "client.view": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "client.create": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "client.update": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "client.export_fhir": {
        ADMIN: DENY,
        MEDICAL_DIRECTOR: ALLOW,
        PRACTITIONER: ALLOW,
        FRONT_DESK: DENY,
    },
    "screening.view": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "screening.submit": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "override.sign": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "consent.record": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "consent.withdraw": {
        ADMIN: DENY,
        MEDICAL_DIRECTOR: ALLOW,
        PRACTITIONER: ALLOW,
        FRONT_DESK: DENY,
    },
    "consent.publish": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: DENY, FRONT_DESK: DENY},
    "appointment.book": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "plan.create": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "session.view": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "session.create": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW},
    "session.start": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "session.stop": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW},
    "reading.view": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "outcome.view": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "outcome.record": {MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: DENY},
    "device.view": {ADMIN: ALLOW, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: ALLOW, FRONT_DESK: ALLOW},
    "device.manage": {ADMIN: ALLOW, MEDICAL_DIRECTOR: ALLOW},
    "device.maintain": {ADMIN: ALLOW, MEDICAL_DIRECTOR: ALLOW},
    "device.report_fault": {
        ADMIN: ALLOW,
        MEDICAL_DIRECTOR: ALLOW,
        PRACTITIONER: ALLOW,
        FRONT_DESK: ALLOW,
    },
    "staff.manage": {ADMIN: ALLOW, MEDICAL_DIRECTOR: ALLOW},
    "policy.manage": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: DENY, FRONT_DESK: DENY},
    "token.manage": {ADMIN: ALLOW, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: DENY, FRONT_DESK: DENY},
    "audit.export": {ADMIN: DENY, MEDICAL_DIRECTOR: ALLOW, PRACTITIONER: DENY, FRONT_DESK: DENY},
}


def decide(roles: Iterable[str], action: str) -> bool:
    """True when ``roles`` together may perform ``action`` (deny wins; unknown denies)."""
    row = MATRIX.get(action, {})
    decisions = {row.get(role) for role in roles}
    if DENY in decisions:
        return False
    return ALLOW in decisions


def roles_of(user: Any) -> tuple[str, ...]:
    """The clinic roles ``user`` holds, in :data:`ROLES` order; none for anonymous or inactive."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, "_cryoderm_roles", None)
    if cached is None:
        held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        cached = tuple(role for role in ROLES if role in held)
        user._cryoderm_roles = cached
    return cached


def remember_roles(user: Any, held: Iterable[str]) -> None:
    """Keep the clinic roles of ``user`` found by a query of the caller's own (the token
    check reads them with the token), so that :func:`roles_of` does not ask again."""
    held = set(held)
    user._cryoderm_roles = tuple(role for role in ROLES if role in held)


def is_allowed(user: Any, action: str) -> bool:
    return decide(roles_of(user), action)


def require(user: Any, action: str) -> None:
    """Raise :class:`PermissionRefused` unless ``user`` may perform ``action``."""
    roles = roles_of(user)
    if not decide(roles, action):
        who = getattr(user, "get_username", lambda: "anonymous")() or "anonymous"
        raise PermissionRefused(action=action, who=who, roles=roles)


def grant_role(user: Any, role: str, *, actor: object = "system") -> None:
    """Give ``user`` the clinic role ``role`` (one of :data:`ROLES`), audited
    (``staff.grant_role``, naming ``actor``): a role is a privilege, and who gained one,
    when and from whom must be in the log like any change to the records."""
    from cryoderm.clinic import audit

    _change_role(user, role)
    with transaction.atomic():
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        user.__dict__.pop("_cryoderm_roles", None)
        audit.record(actor, "staff.grant_role", user, {"role": role, "roles": list(roles_of(user))})


def revoke_role(user: Any, role: str, *, actor: object = "system") -> None:
    """Take the clinic role ``role`` from ``user``, audited (``staff.revoke_role``)."""
    from cryoderm.clinic import audit

    _change_role(user, role)
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name=role))
        user.__dict__.pop("_cryoderm_roles", None)
        audit.record(
            actor, "staff.revoke_role", user, {"role": role, "roles": list(roles_of(user))}
        )


def _change_role(user: Any, role: str) -> None:
    if role not in ROLES:
        raise UserInputError(f"role = {role!r}: must be one of {', '.join(ROLES)}")
    if getattr(user, "pk", None) is None:
        raise UserInputError("the user must be saved before a role is given or taken")
