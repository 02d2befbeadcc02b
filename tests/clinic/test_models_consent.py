"""Consent: versioned texts; a signed consent never changes (only its withdrawal is
recorded). Photographs and their consents: test_photos.py."""

from __future__ import annotations

import pytest

from cryoderm.clinic.records.errors import Conflict
from cryoderm.clinic.records.models import Consent
from cryoderm.clinic.records.services import consent

from . import factories


def test_publishing_a_text_adds_a_version_and_keeps_the_old_one(alice) -> None:
    first = consent.publish_text(
        factories.SYSTEM, "treatment", title="Treatment", body="Version one."
    )
    second = consent.publish_text(
        factories.SYSTEM, "treatment", title="Treatment", body="Version two."
    )
    assert (first.version, second.version) == (1, 2)
    assert consent.current_text("treatment") == second
    first.refresh_from_db()
    assert first.body == "Version one." and len(first.sha256) == 64


def test_a_signed_consent_records_the_text_it_was_signed_under(alice) -> None:
    client = factories.make_client(alice)
    signed = factories.sign_consent(alice, client)
    assert signed.text == consent.current_text("treatment")
    assert signed.text_sha256 == signed.text.sha256
    assert signed.witnessed_by == alice


def test_a_signed_consent_cannot_be_edited_or_deleted(alice) -> None:
    signed = factories.sign_consent(alice, factories.make_client(alice))
    signed.signer_name = "Someone Else"
    with pytest.raises(Conflict, match="cannot be changed \\(signer_name\\)"):
        signed.save()
    with pytest.raises(Conflict, match="cannot be deleted"):
        Consent.objects.get(pk=signed.pk).delete()
    assert Consent.objects.get(pk=signed.pk).signer_name == "Dana Doe"


def test_withdrawal_is_recorded_once(alice) -> None:
    signed = factories.sign_consent(alice, factories.make_client(alice))
    withdrawn = consent.withdraw(
        alice, signed.pk, reason="the client changed her mind", confirmed=True
    )
    assert withdrawn.withdrawn_at is not None and not withdrawn.is_active
    with pytest.raises(Conflict, match="already withdrawn"):
        consent.withdraw(alice, signed.pk, reason="the client changed her mind", confirmed=True)


def test_signing_needs_a_published_text_and_a_known_scope(alice) -> None:
    client = factories.make_client(alice)
    with pytest.raises(Conflict, match="no treatment consent text is published"):
        consent.sign(
            alice, client, "treatment", signer_name="Dana Doe", signature=factories.SIGNATURE
        )
    with pytest.raises(Exception, match="scope"):
        consent.sign(
            alice, client, "tattoos", signer_name="Dana Doe", signature=factories.SIGNATURE
        )
