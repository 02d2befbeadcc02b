"""The login form: Django's, plus a readable message when the account is locked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from cryoderm.clinic.accounts import lockout
from cryoderm.clinic.accounts.errors import AccountLocked


class LockoutAwareAuthenticationForm(AuthenticationForm):
    """Says "locked, try again in N min" instead of "wrong password" while locked."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            try:
                lockout.check(username)
            except AccountLocked as locked:
                raise forms.ValidationError(str(locked), code="locked") from locked
        return super().clean()
