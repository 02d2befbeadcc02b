"""Every page names the actions it needs; the accounts permission matrix decides.

A signed-out visitor is sent to the sign-in page (for an htmx request, by an ``HX-Redirect``
header so that the sign-in form is not swapped into a fragment). A signed-in user whose roles do
not allow the action gets a 403 page that says which action was refused and why.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from cryoderm.clinic.accounts import permissions
from cryoderm.clinic.accounts.errors import PermissionRefused

View = Callable[..., HttpResponse]


def login_url_for(request: HttpRequest) -> str:
    return reverse("web:login") + "?" + urlencode({"next": request.get_full_path()})


def page(*actions: str) -> Callable[[View], View]:
    """Decorate a view: sign-in required, and every action in ``actions`` must be allowed."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = login_url_for(request)
                    return response
                return redirect(login_url_for(request))
            try:
                for action in actions:
                    permissions.require(request.user, action)
            except PermissionRefused as refused:
                return refusal(request, refused)
            return view(request, *args, **kwargs)

        guarded.required_actions = actions  # type: ignore[attr-defined]
        return guarded

    return decorate


def allowed(request: HttpRequest, action: str) -> bool:
    return permissions.is_allowed(request.user, action)


def refusal(request: HttpRequest, refused: PermissionRefused) -> HttpResponse:
    """The 403 page, saying in words what was refused and which roles the user holds."""
    what = permissions.ACTIONS.get(refused.action, refused.action)
    held = ", ".join(permissions.ROLE_LABELS.get(r, r) for r in refused.roles) or "no clinic role"
    reason = f"{refused.who} may not {what} (roles held: {held}); ask the clinic's administrator for a role that allows it"
    return render(request, "web/refused.html", {"reason": reason}, status=403)
