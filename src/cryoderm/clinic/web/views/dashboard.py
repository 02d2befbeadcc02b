"""Sign-in, sign-out and the dashboard."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from cryoderm.clinic.accounts.forms import LockoutAwareAuthenticationForm
from cryoderm.clinic.live import runtime
from cryoderm.clinic.web import queries
from cryoderm.clinic.web.access import allowed, page


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
    pass


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"appointments": queries.todays_appointments()}
    if allowed(request, "session.view"):
        # Bring running sessions up to date with the interlock's journal (one may have ended).
        for session in queries.sessions_in_progress():
            runtime.sync(session, request.user)
        context["in_progress"] = queries.sessions_in_progress()
    if allowed(request, "device.view"):
        context["device_due"] = queries.device_due_items()
    context["certifications_due"] = queries.certification_due_items()
    return render(request, "web/dashboard.html", context)
