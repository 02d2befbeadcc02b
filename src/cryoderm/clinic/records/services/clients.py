"""Registering, changing, reading and searching clients (reads are audited too)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from cryoderm.clinic import audit

from ..errors import InvalidRecord
from ..models import Client
from ._common import authorize, load, validated

EDITABLE = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "fitzpatrick_type",
    "notes",
    "is_archived",
)


def _unknown(fields: dict[str, Any]) -> None:
    for name in fields:
        if name not in EDITABLE:
            raise InvalidRecord(name, f"unknown field; editable: {', '.join(EDITABLE)}")


@transaction.atomic
def create(actor: object, **fields: Any) -> Client:
    authorize(actor, "client.create")
    _unknown(fields)
    client = validated(Client(**fields))
    client.save()
    audit.record(actor, "client.create", client, {"fields": sorted(fields)})
    return client


@transaction.atomic
def update(actor: object, client_id: object, **fields: Any) -> Client:
    authorize(actor, "client.update")
    _unknown(fields)
    client = load(Client, client_id, lock=True)
    for name, value in fields.items():
        setattr(client, name, value)
    validated(client)
    client.save()
    audit.record(actor, "client.update", client, {"fields": sorted(fields)})
    return client


@transaction.atomic
def get(actor: object, client_id: object) -> Client:
    """One client, recording that ``actor`` read the record."""
    authorize(actor, "client.view")
    client = load(Client, client_id)
    audit.record(actor, "client.read", client)
    return client


@transaction.atomic
def search(actor: object, query: str = "", *, limit: int = 50, offset: int = 0) -> list[Client]:
    """Clients whose name, e-mail or phone contains ``query``; the search is audited."""
    authorize(actor, "client.view")
    if limit < 1 or limit > 500:
        raise InvalidRecord("limit", f"{limit} is outside 1-500")
    if offset < 0:
        raise InvalidRecord("offset", f"{offset} is negative")
    found: QuerySet[Client] = Client.objects.filter(is_archived=False)
    for term in query.split():
        found = found.filter(
            Q(family_name__istartswith=term)
            | Q(given_name__istartswith=term)
            | Q(email__istartswith=term)
            | Q(phone__contains=term)
        )
    clients = list(found[offset : offset + limit])
    audit.record(actor, "client.search", None, {"query": query, "ids": [c.pk for c in clients]})
    return clients
