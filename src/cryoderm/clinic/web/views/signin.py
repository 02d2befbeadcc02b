"""Signing in and out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from cryoderm.clinic.accounts.forms import LockoutAwareAuthenticationForm


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LockoutAwareAuthenticationForm
    next_page = reverse_lazy("web:dashboard")  # when no page was asked for
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["idle"] = self.request.GET.get("idle") == "1"
        return context


class SignOutView(auth_views.LogoutView):
    """Ends the session and returns to the sign-in page (or to the safe ``next`` the idle
    sign-out form sends); there is no separate "signed out" page."""

    next_page = reverse_lazy("web:login")
