"""The sign-in forms: the password (saying how long to wait when throttled) and the code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from cryoderm.clinic.accounts import throttle


class ThrottledAuthenticationForm(AuthenticationForm):
    """Says "try again in N s" instead of "wrong password" while the throttle says wait."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            wait = throttle.wait_for(self.request, username)
            if wait is not None:
                raise forms.ValidationError(str(wait), code="throttled")
        return super().clean()


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=40,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=12,
        help_text="The 6 digits the app shows after you added the account.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
