"""Signing in and out: password, second factor or enrolment, recovery codes, sign-out.

The steps and their rules are :mod:`cryoderm.clinic.accounts.signin`,
:mod:`~cryoderm.clinic.accounts.mfa` and :mod:`~cryoderm.clinic.accounts.throttle`; these
views parse the forms, call them, and render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from cryoderm.clinic import audit
from cryoderm.clinic.accounts import mfa, signin, throttle
from cryoderm.clinic.accounts.forms import CodeForm, EnrolForm, ThrottledAuthenticationForm
from cryoderm.clinic.web.access import page

ENROL_SECRET = "cryoderm_mfa_enrol_secret"
NEW_CODES = "cryoderm_recovery_codes"


def _signed_in(request: HttpRequest, user: Any, backend: str, factor: str, to: str) -> HttpResponse:
    signin.complete(request, user, backend, factor)
    response = redirect(to)
    throttle.remember(response, request, user.get_username())
    return response


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = ThrottledAuthenticationForm
    next_page = reverse_lazy("web:dashboard")  # when no page was asked for
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["idle"] = self.request.GET.get("idle") == "1"
        return context

    def form_valid(self, form: ThrottledAuthenticationForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        if not mfa.second_step_needed(user):
            return _signed_in(self.request, user, user.backend, "password", self.get_success_url())
        signin.begin(self.request, user, self.get_success_url())
        return redirect("web:signin_code" if mfa.enrolled(user) else "web:signin_enrol")


def _restart(request: HttpRequest, message: str) -> HttpResponse:
    messages.info(request, message)
    return redirect("web:login")


def signin_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator, or a recovery code."""
    state = signin.pending(request)
    if state is None:
        return _restart(
            request, "Sign in with your password first (or again: it has been a while)."
        )
    if not mfa.enrolled(state.user):
        return redirect("web:signin_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = throttle.wait_for(request, state.user.get_username())
        if wait is not None:
            form.add_error("code", str(wait))
        else:
            factor = signin.second_factor(request, state, form.cleaned_data["code"])
            if factor is not None:
                if factor == "recovery-code":
                    left = mfa.recovery_codes_left(state.user)
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} are left. Renew them on "
                        "your security page.",
                    )
                return _signed_in(request, state.user, state.backend, factor, state.next_url)
            if signin.wrong_code(request, state.user):
                return _restart(request, "Too many wrong codes: sign in with your password again.")
            form.add_error("code", "That code is not right, or was already used. Try the next one.")
    return render(request, "web/signin_code.html", {"form": form, "who": state.user})


def signin_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: during a pending sign-in (a role that requires one), or
    signed in (anyone who wants one)."""
    state = signin.pending(request)
    user = state.user if state else request.user
    if state is None and not user.is_authenticated:
        return _restart(request, "Sign in with your password first.")
    if mfa.enrolled(user):
        if state is not None:
            return redirect("web:signin_code")
        # Replacing an authenticator from a session alone would let whoever holds the session
        # take over the second factor: an administrator resets it instead.
        messages.info(
            request, "You have an authenticator. To replace it, ask an administrator to reset it."
        )
        return redirect("web:account_security")
    secret = request.session.get(ENROL_SECRET) or mfa.new_secret()
    request.session[ENROL_SECRET] = secret
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.enrol(user, secret, form.cleaned_data["code"])
        except mfa.WrongCode as wrong:
            form.add_error("code", str(wrong).removeprefix("code: "))
        else:
            request.session.pop(ENROL_SECRET, None)
            if state is not None:
                response = _signed_in(
                    request, user, state.backend, "totp-enrolment", state.next_url
                )
            else:
                response = redirect("web:account_security")
            request.session[NEW_CODES] = {"codes": codes, "next": response["Location"]}
            return redirect("web:recovery_codes")
    uri = mfa.provisioning_uri(user, secret)
    context = {
        "form": form,
        "who": user,
        "qr": mfa.qr_data_uri(uri),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "required": mfa.required(user),
    }
    return render(request, "web/signin_enrol.html", context)


@page()
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, shown once."""
    shown = request.session.pop(NEW_CODES, None)
    return render(request, "web/recovery_codes.html", {"shown": shown})


@page()
def account_security(request: HttpRequest) -> HttpResponse:
    """The signed-in user's second factor: state, and new recovery codes."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.renew_recovery_codes(request.user, form.cleaned_data["code"])
        except mfa.WrongCode as wrong:
            form.add_error("code", str(wrong).removeprefix("code: "))
        else:
            request.session[NEW_CODES] = {"codes": codes, "next": request.path}
            return redirect("web:recovery_codes")
    context = {
        "form": form,
        "enrolled": mfa.enrolled(request.user),
        "required": mfa.required(request.user),
        "left": mfa.recovery_codes_left(request.user),
    }
    return render(request, "web/account_security.html", context)


class SignOutView(auth_views.LogoutView):
    """Ends the session and returns to the sign-in page (or to the safe ``next`` the idle
    sign-out form sends); there is no separate "signed out" page."""

    next_page = reverse_lazy("web:login")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            audit.record(request.user, "auth.sign_out", request.user)
        return super().post(request, *args, **kwargs)
