"""Device and API tokens: issued once in plaintext, stored as a SHA-256 hash, expiring.

A token reads ``cdt_<prefix>_<secret>``: the prefix finds the row, the secret (256 random
bits) is compared in constant time with the stored hash. A fast hash is enough here, unlike
for passwords, because the secret is random and long; it also keeps reading ingest cheap.

Every token expires: a user token after ``USER_TOKEN_DAYS`` unless told otherwise, a device
token after ``DEVICE_TOKEN_DAYS``, never later than ``MAX_DAYS``. Issue, revocation and
listing are audited commands (``cryoderm manage issue_token / revoke_token / list_tokens``)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.models import ApiToken
from cryoderm.errors import UserInputError

SCHEME = "cdt"
#: assumption: a script acting as a person is re-issued each quarter, so that a forgotten
#: token does not outlive the person's need for it.
USER_TOKEN_DAYS = 90
#: assumption: a device token is renewed at the device's yearly service.
DEVICE_TOKEN_DAYS = 365
#: assumption: no token outlives two yearly services.
MAX_DAYS = 730


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``plaintext`` exists only here: show it once, never store it."""

    token: ApiToken
    plaintext: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue(
    name: str, user: Any, device: Any = None, *, days: int | None = None, actor: object = None
) -> IssuedToken:
    """Issue a token acting as ``user``, or, with ``device``, scoped to that one device;
    it expires after ``days`` (by default 90 for a user token, 365 for a device token)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise UserInputError(f"name = {name!r}: give a label of 1 to 100 characters")
    if days is None:
        days = DEVICE_TOKEN_DAYS if device is not None else USER_TOKEN_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UserInputError(f"days = {days!r}: a whole number of days from 1 to {MAX_DAYS}")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        secret_sha256=_digest(secret),
        user=user,
        device=device,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit.record(
        actor or "system",
        "token.issue",
        token,
        {"prefix": prefix, "user": user.pk, "device": getattr(device, "pk", None), "days": days},
    )
    return IssuedToken(token=token, plaintext=f"{SCHEME}_{prefix}_{secret}")


def authenticate(plaintext: str) -> ApiToken | None:
    """The live token matching ``plaintext``, or None (unknown, malformed or revoked), with
    its user (and the user's roles) and its device loaded: one query (:func:`_live_token`)."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    _, prefix, secret = parts
    token = _live_token(prefix, timezone.now())
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    if not token.user.is_active:
        return None
    return token


@dataclass(frozen=True)
class _Lookup:
    """The one statement that finds a live token by its prefix, and how to read its row."""

    sql: str
    models: tuple[tuple[type[Model], tuple[str, ...]], ...]
    converters: dict[int, Any]
    compiler: Any


@functools.cache
def _lookup(alias: str) -> _Lookup:
    """Built once per database: every request with a bearer token runs it, and composing it
    through the ORM each time cost more than running it."""
    user_model = get_user_model()
    device_model = ApiToken._meta.get_field("device").related_model
    groups = user_model._meta.get_field("groups").remote_field.through  # type: ignore[union-attr]
    connection = connections[alias]
    quote = connection.ops.quote_name
    parts = (("t", ApiToken), ("u", user_model), ("d", device_model))
    models = tuple(
        (model, tuple(field.attname for field in model._meta.concrete_fields)) for _, model in parts
    )
    columns = [
        f"{alias_}.{quote(field.column)}"
        for alias_, model in parts
        for field in model._meta.concrete_fields
    ]
    group_table = quote(Group._meta.db_table)
    member_table = quote(groups._meta.db_table)
    member_user = quote(groups._meta.get_field(user_model._meta.model_name).column)
    member_group = quote(groups._meta.get_field("group").column)
    columns += [
        f"EXISTS (SELECT 1 FROM {member_table} m JOIN {group_table} g ON g.id = m.{member_group} "
        f"WHERE m.{member_user} = u.{quote(user_model._meta.pk.column)} AND g.name = %s)"
        for _ in permissions.ROLES
    ]
    token_table = ApiToken._meta
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(token_table.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u "
        f"ON u.{quote(user_model._meta.pk.column)} = t.{quote(token_table.get_field('user').column)} "
        f"LEFT JOIN {quote(device_model._meta.db_table)} d "
        f"ON d.{quote(device_model._meta.pk.column)} = t.{quote(token_table.get_field('device').column)} "
        f"WHERE t.{quote(token_table.get_field('prefix').column)} = %s "
        f"AND t.{quote(token_table.get_field('revoked_at').column)} IS NULL "
        f"AND t.{quote(token_table.get_field('expires_at').column)} > %s"
    )
    compiler = ApiToken.objects.none().query.get_compiler(using=alias)
    fields = [
        field.get_col(model._meta.db_table)
        for _, model in parts
        for field in model._meta.concrete_fields
    ]
    return _Lookup(sql, models, compiler.get_converters(fields), compiler)


def _live_token(prefix: str, now: dt.datetime) -> ApiToken | None:
    """The unrevoked, unexpired token with ``prefix``, its user (roles included, for
    :func:`permissions.roles_of`) and its device set on it; None when there is none."""
    alias = router.db_for_read(ApiToken)
    lookup = _lookup(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(
            lookup.sql,
            [*permissions.ROLES, prefix, connection.ops.adapt_datetimefield_value(now)],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    row = found
    if lookup.converters:
        row = next(iter(lookup.compiler.apply_converters([found], lookup.converters)))
    loaded = []
    start = 0
    for model, names in lookup.models:
        values = row[start : start + len(names)]
        start += len(names)
        loaded.append(model.from_db(alias, names, values) if values[0] is not None else None)
    token, user, device = loaded
    permissions.remember_roles(
        user, [role for role, held in zip(permissions.ROLES, row[start:], strict=True) if held]
    )
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    ApiToken._meta.get_field("device").set_cached_value(token, device)
    return token  # type: ignore[no-any-return]


@transaction.atomic
def revoke(token: ApiToken, *, actor: object = None) -> bool:
    """Revoke ``token`` at once; False when it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor or "system", "token.revoke", token, {"prefix": token.prefix})
    return True


def listing(*, include_inactive: bool = False) -> QuerySet[ApiToken]:
    """Tokens, newest first; by default only those still usable (not revoked or expired)."""
    tokens = ApiToken.objects.select_related("user", "device").order_by("-created_at")
    if not include_inactive:
        tokens = tokens.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    return tokens


def state(token: ApiToken, now: dt.datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (now or timezone.now()) else "active"
