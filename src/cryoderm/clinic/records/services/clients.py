"""Registering, correcting, reading and searching clients (reads are audited too).

A date of birth is a day in the past, no further back than a human life. A client whose
name and date of birth, e-mail address or phone number match a registered client is a
possible duplicate: registering (or correcting into) one is refused until the user confirms
it is another person, and the confirmation is in the audit entry. Every change is a
correction that keeps the earlier value (services.corrections)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cryoderm.clinic import audit

from ..errors import Conflict, InvalidRecord
from ..models import Client
from . import corrections
from ._common import age_years, authorize, load, no_nul, validated

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
#: assumption: the longest verified human life is 122 years; a date of birth further back
#: than this is a typing error, not a client.
OLDEST_AGE_YEARS = 125
#: assumption: phone numbers that share fewer digits than this are not the same number.
PHONE_DIGITS_COMPARED = 7


class PossibleDuplicate(Conflict):
    """The client looks like one already registered (``matches``): confirm it is another."""

    def __init__(self, matches: list[Client]) -> None:
        named = "; ".join(f"{c.full_name}, born {c.date_of_birth} (client {c.pk})" for c in matches)
        super().__init__(
            f"possibly already registered: {named}; open that record, or confirm that this "
            "is another person",
            "confirm_new_person",
        )
        self.matches = matches


def _unknown(fields: dict[str, Any]) -> None:
    for name in fields:
        if name not in EDITABLE:
            raise InvalidRecord(name, f"unknown field; editable: {', '.join(EDITABLE)}")


def _plausible(client: Client) -> None:
    today = timezone.localdate()
    born = client.date_of_birth
    if isinstance(born, dt.date):
        if born > today:
            raise InvalidRecord("date_of_birth", f"{born} is in the future")
        if age_years(born, today) >= OLDEST_AGE_YEARS:
            raise InvalidRecord("date_of_birth", f"{born} is {OLDEST_AGE_YEARS} or more years ago")


def _name_key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.casefold())


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def possible_duplicates(client: Client) -> list[Client]:
    """Registered clients that may be this one: same name and date of birth, same e-mail,
    or the same last digits of the phone number."""
    wanted = Q(date_of_birth=client.date_of_birth)
    if client.email:
        wanted |= Q(email__iexact=client.email)
    digits = _digits(client.phone or "")
    if len(digits) >= PHONE_DIGITS_COMPARED:
        wanted |= Q(phone__contains=digits[-4:])
    candidates = Client.objects.filter(wanted)
    if client.pk is not None:
        candidates = candidates.exclude(pk=client.pk)
    name = (_name_key(client.given_name), _name_key(client.family_name))
    found = []
    for other in candidates.order_by("pk")[:200]:
        same_person = (
            _name_key(other.given_name),
            _name_key(other.family_name),
        ) == name and other.date_of_birth == client.date_of_birth
        same_email = bool(client.email) and other.email.casefold() == client.email.casefold()
        other_digits = _digits(other.phone)
        same_phone = (
            len(digits) >= PHONE_DIGITS_COMPARED
            and other_digits[-PHONE_DIGITS_COMPARED:] == digits[-PHONE_DIGITS_COMPARED:]
        )
        if same_person or same_email or same_phone:
            found.append(other)
    return found


def _refuse_duplicates(client: Client, confirm_new_person: bool) -> list[int]:
    matches = possible_duplicates(client)
    if matches and not confirm_new_person:
        raise PossibleDuplicate(matches)
    return [m.pk for m in matches]


@transaction.atomic
def create(actor: object, *, confirm_new_person: bool = False, **fields: Any) -> Client:
    """Register a client; a possible duplicate needs ``confirm_new_person``."""
    authorize(actor, "client.create")
    _unknown(fields)
    client = validated(Client(**fields))
    _plausible(client)
    duplicates = _refuse_duplicates(client, confirm_new_person)
    client.save()
    detail: dict[str, Any] = {"fields": sorted(fields)}
    if duplicates:
        detail["confirmed_not_duplicate_of"] = duplicates
    audit.record(actor, "client.create", client, detail)
    return client


@transaction.atomic
def update(
    actor: object,
    client_id: object,
    *,
    reason: str,
    confirm_new_person: bool = False,
    **fields: Any,
) -> Client:
    """Correct the client's ``fields`` with a reason; the earlier values are kept."""
    authorize(actor, "client.update")
    _unknown(fields)
    client = load(Client, client_id, lock=True)

    def check(changed: Client) -> None:
        _plausible(changed)
        if {"given_name", "family_name", "date_of_birth", "email", "phone"} & set(fields):
            _refuse_duplicates(changed, confirm_new_person)

    return corrections.apply(
        actor,
        client,
        fields,
        reason=reason,
        editable=EDITABLE,
        action="client.update",
        check=check,
    )


@transaction.atomic
def get(actor: object, client_id: object) -> Client:
    """One client, recording that ``actor`` read the record."""
    authorize(actor, "client.view")
    client = load(Client, client_id)
    audit.record(actor, "client.read", client)
    return client


def search(actor: object, query: str = "", *, limit: int = 50, offset: int = 0) -> list[Client]:
    """Clients matching every word of ``query``: a word matches the start of a given name,
    family name or e-mail address (any case), and a word with a digit also any part of a
    phone number. The search is audited.

    Only a word with a digit is looked for inside phone numbers: a phone number is found by
    its digits, and the other clauses are prefixes that the name and e-mail indexes answer,
    where a search inside every phone number would read the whole table each time.

    No transaction of its own: it writes nothing but its audit entry, which commits in a
    short transaction of its own (audit.log.record: on a lane of the audit log no other
    transaction holds); the clients are returned only once it has."""
    clients = list(_page(actor, query, limit, offset))
    audit.record(actor, "client.search", None, {"query": query, "ids": [c.pk for c in clients]})
    return clients


def search_values(
    actor: object, fields: Sequence[str], query: str = "", *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """:func:`search`, each client a dict of ``fields`` (``id`` among them) read straight
    from its columns: for the API, whose answer needs nothing else, without building a
    model instance per client. The same checks, order and audit entry."""
    if "id" not in fields:
        raise ValueError("fields: the audit entry names the clients found by their id")
    rows = list(_page(actor, query, limit, offset).values(*fields))
    audit.record(actor, "client.search", None, {"query": query, "ids": [r["id"] for r in rows]})
    return rows


def _page(actor: object, query: str, limit: int, offset: int) -> QuerySet[Client]:
    """The search's page of clients, not yet read (see :func:`search`)."""
    authorize(actor, "client.view")
    if limit < 1 or limit > 500:
        raise InvalidRecord("limit", f"{limit} is outside 1-500")
    if offset < 0:
        raise InvalidRecord("offset", f"{offset} is negative")
    no_nul("q", query)
    found: QuerySet[Client] = Client.objects.filter(is_archived=False)
    for term in query.split():
        match = (
            Q(family_name__istartswith=term)
            | Q(given_name__istartswith=term)
            | Q(email__istartswith=term)
        )
        if any(character.isdigit() for character in term):
            match |= Q(phone__contains=term)
        found = found.filter(match)
    return found[offset : offset + limit]
